#include "ov3d_image_io.h"
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader_state {
    const uint8_t *data;
    size_t size, pos;
    char *err;
    size_t err_cap;
} reader_state;

static void set_err(char *err, size_t cap, const char *msg) {
    if (!err || cap == 0) return;
    snprintf(err, cap, "%s", msg);
}

static void on_error(png_structp png, png_const_charp msg) {
    reader_state *st = (reader_state *)png_get_error_ptr(png);
    if (st) set_err(st->err, st->err_cap, msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static void on_read(png_structp png, png_bytep out, png_size_t n) {
    reader_state *st = (reader_state *)png_get_io_ptr(png);
    if (n > st->size - st->pos) png_error(png, "PNG data is truncated");
    memcpy(out, st->data + st->pos, n);
    st->pos += n;
}

/* Every chunk's declared length must fit in the bytes present (up to IEND): libpng allocates a
   chunk's buffer from its declared length before reading it, so 41 bytes whose zTXt chunk
   claimed 788 MB made it allocate and clear 788 MB (found by fuzz/png-fuzzer, issue 17). */
static int check_chunks(const uint8_t *data, size_t size, char *err, size_t err_cap) {
    size_t pos = 8;
    while (size - pos >= 8) {
        uint32_t len = (uint32_t)data[pos] << 24 | (uint32_t)data[pos + 1] << 16 | (uint32_t)data[pos + 2] << 8 | data[pos + 3];
        char name[5];
        for (int i = 0; i < 4; i++) {
            uint8_t c = data[pos + 4 + i];
            name[i] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ? (char)c : '?';
        }
        name[4] = 0;
        if (len > 0x7fffffffu || (size_t)len > size - pos - 8 || size - pos - 8 - len < 4) {
            if (err && err_cap) {
                snprintf(err, err_cap, "PNG: chunk '%s' at byte %zu declares %u bytes, the file has %zu left", name, pos,
                         len, size - pos - 8);
            }
            return -1;
        }
        pos += 12 + (size_t)len;
        if (memcmp(name, "IEND", 4) == 0) break;
    }
    return 0;
}

/* Shared by info and decode. When out == NULL only the header is read. */
static int png_run(const uint8_t *data, size_t size, uint8_t *out, size_t out_cap, uint64_t max_pixels,
                   ov3d_png_info *info, char *err, size_t err_cap) {
    if (!data || size < 8 || !info) { set_err(err, err_cap, "PNG: no data"); return -1; }
    if (png_sig_cmp(data, 0, 8) != 0) { set_err(err, err_cap, "not a PNG file (bad signature)"); return -1; }
    if (check_chunks(data, size, err, err_cap) != 0) return -1;
    reader_state st = {data, size, 0, err, err_cap};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, on_error, on_warning);
    if (!png) { set_err(err, err_cap, "PNG: out of memory"); return -1; }
    png_infop pinfo = png_create_info_struct(png);
    png_bytep *volatile rows = NULL;
    if (!pinfo) { png_destroy_read_struct(&png, NULL, NULL); set_err(err, err_cap, "PNG: out of memory"); return -1; }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        free(rows);
        return -1;
    }
    png_set_read_fn(png, &st, on_read);
    png_set_user_limits(png, 1u << 16, 1u << 16);
    png_set_chunk_malloc_max(png, 64u << 20);
    png_read_info(png, pinfo);
    png_uint_32 w = 0, h = 0;
    int bit_depth = 0, color_type = 0;
    png_get_IHDR(png, pinfo, &w, &h, &bit_depth, &color_type, NULL, NULL, NULL);
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, pinfo, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (bit_depth == 16) png_set_swap(png); /* PNG is big endian; return native (little) order */
    png_set_interlace_handling(png);
    png_read_update_info(png, pinfo);
    info->width = w;
    info->height = h;
    info->channels = png_get_channels(png, pinfo);
    info->bit_depth = png_get_bit_depth(png, pinfo);
    if (!out) { png_destroy_read_struct(&png, &pinfo, NULL); return 0; }
    if ((uint64_t)w * (uint64_t)h > max_pixels) {
        set_err(err, err_cap, "PNG: image larger than the allowed pixel count");
        png_destroy_read_struct(&png, &pinfo, NULL);
        return -1;
    }
    size_t rowbytes = png_get_rowbytes(png, pinfo);
    size_t need = rowbytes * (size_t)h;
    if (rowbytes != (size_t)w * info->channels * (info->bit_depth / 8) || need > out_cap) {
        set_err(err, err_cap, "PNG: output buffer too small");
        png_destroy_read_struct(&png, &pinfo, NULL);
        return -1;
    }
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (h ? h : 1));
    if (!rows) { set_err(err, err_cap, "PNG: out of memory"); png_destroy_read_struct(&png, &pinfo, NULL); return -1; }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = out + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    rows = NULL;
    png_destroy_read_struct(&png, &pinfo, NULL);
    return 0;
}

int ov3d_png_read_info(const uint8_t *data, size_t size, ov3d_png_info *info, char *err, size_t err_cap) {
    return png_run(data, size, NULL, 0, 0, info, err, err_cap);
}

int ov3d_png_decode(const uint8_t *data, size_t size, uint8_t *out, size_t out_cap, uint64_t max_pixels,
                    ov3d_png_info *info, char *err, size_t err_cap) {
    if (!out) { set_err(err, err_cap, "PNG: no output buffer"); return -1; }
    return png_run(data, size, out, out_cap, max_pixels, info, err, err_cap);
}

int ov3d_png_write_file(const char *path, const uint8_t *pixels, uint32_t width, uint32_t height,
                        uint32_t channels, uint32_t bit_depth, char *err, size_t err_cap) {
    if (!path || !pixels || width == 0 || height == 0 || channels < 1 || channels > 4 ||
        (bit_depth != 8 && bit_depth != 16)) {
        set_err(err, err_cap, "PNG write: invalid arguments");
        return -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) { set_err(err, err_cap, "PNG write: cannot open file"); return -1; }
    reader_state st = {NULL, 0, 0, err, err_cap};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &st, on_error, on_warning);
    png_infop pinfo = png ? png_create_info_struct(png) : NULL;
    if (!png || !pinfo) {
        if (png) png_destroy_write_struct(&png, NULL);
        fclose(f);
        set_err(err, err_cap, "PNG write: out of memory");
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &pinfo);
        fclose(f);
        return -1;
    }
    static const int types[] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                PNG_COLOR_TYPE_RGB_ALPHA};
    png_init_io(png, f);
    png_set_IHDR(png, pinfo, width, height, (int)bit_depth, types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, pinfo);
    if (bit_depth == 16) png_set_swap(png);
    size_t rowbytes = (size_t)width * channels * (bit_depth / 8);
    for (uint32_t y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * rowbytes));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &pinfo);
    if (fclose(f) != 0) { set_err(err, err_cap, "PNG write: close failed"); return -1; }
    return 0;
}

const char *ov3d_png_version(void) { return png_get_libpng_ver(NULL); }
