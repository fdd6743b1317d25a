/* libFuzzer entry over the C PNG wrapper (Sources/CImageIO/png_io.c, issue 17), built with
 * clang -fsanitize=fuzzer,address,undefined by fuzz/build.sh (-> fuzz/png-fuzzer). It calls the
 * wrapper the way DepthImage.decodePNG does (header, then a decode into an exactly sized buffer)
 * plus what the Swift side never does: a buffer one byte short and a pixel cap below the image,
 * which must both be refused. libpng itself is the system library (not instrumented). */
#include "ov3d_image_io.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[256];
    ov3d_png_info info;
    memset(&info, 0, sizeof info);
    if (ov3d_png_read_info(data, size, &info, err, sizeof err) != 0) return 0;
    if (info.bit_depth != 8 && info.bit_depth != 16) abort();
    if (info.channels < 1 || info.channels > 4) abort();
    uint64_t pixels = (uint64_t)info.width * info.height;
    if (pixels == 0 || pixels > (1u << 22)) return 0; /* bounded work per input */
    size_t need = (size_t)pixels * info.channels * (info.bit_depth / 8);
    uint8_t *out = malloc(need);
    if (!out) return 0;
    ov3d_png_info again;
    (void)ov3d_png_decode(data, size, out, need, pixels, &again, err, sizeof err);
    if (ov3d_png_decode(data, size, out, need - 1, pixels, &again, err, sizeof err) == 0) abort();
    if (ov3d_png_decode(data, size, out, need, pixels - 1, &again, err, sizeof err) == 0) abort();
    free(out);
    return 0;
}
