/* Minimal C host: checks the ABI, prints the version, shows error handling.
   Build: make -C examples   (or see examples/Makefile for the plain gcc line) */
#include <ov3d.h>
#include <stdio.h>

int main(void) {
    if (ov3d_check_abi(OV3D_ABI_VERSION) != OV3D_OK) {
        fprintf(stderr, "ov3d: %s\n", ov3d_last_error());
        return 1;
    }
    printf("libov3d %s (ABI %u)\n", ov3d_version(), ov3d_abi_version());
    /* Every call returns a status; the message is thread-local. */
    if (ov3d_set_num_threads(-1) != OV3D_OK) printf("expected error: %s\n", ov3d_last_error());
    return 0;
}
