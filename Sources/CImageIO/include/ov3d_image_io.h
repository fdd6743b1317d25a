/* Internal: PNG decoding through libpng with setjmp error handling (hostile input safe). */
#ifndef OV3D_IMAGE_IO_H
#define OV3D_IMAGE_IO_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct ov3d_png_info {
    uint32_t width, height;
    uint32_t channels;        /* 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (after palette expansion) */
    uint32_t bit_depth;       /* 8 or 16 after expansion */
} ov3d_png_info;

/* Reads the header only. Returns 0 on success, -1 on error (message in err, NUL-terminated). */
int ov3d_png_read_info(const uint8_t *data, size_t size, ov3d_png_info *info, char *err, size_t err_cap);

/* Decodes a whole PNG. Palette and grey < 8 bit are expanded to 8 bit; 16-bit samples are
   returned in native byte order as uint16. out must hold width*height*channels*(bit_depth/8)
   bytes (out_cap checked). max_pixels bounds the allocation libpng may do.
   Returns 0 on success, -1 on error. */
int ov3d_png_decode(const uint8_t *data, size_t size, uint8_t *out, size_t out_cap,
                    uint64_t max_pixels, ov3d_png_info *info, char *err, size_t err_cap);

/* Encodes 8- or 16-bit (native-order uint16) pixels to a PNG file. Returns 0 or -1. */
int ov3d_png_write_file(const char *path, const uint8_t *pixels, uint32_t width, uint32_t height,
                        uint32_t channels, uint32_t bit_depth, char *err, size_t err_cap);

/* The libpng version the library runs with, e.g. "1.6.39". */
const char *ov3d_png_version(void);

#ifdef __cplusplus
}
#endif
#endif
