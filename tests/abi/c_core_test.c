/* C tests of the core ABI contract: versions, ABI check, thread-local last error, log callback,
   status strings, points view. Built with plain gcc against libov3d.so. */
#include "ov3d.h"
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static int passed, failed;
#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (cond) passed++;                                                         \
        else { failed++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
    } while (0)

static void *other_thread(void *arg) {
    (void)arg;
    /* A fresh thread sees no error even though the main thread has one. */
    int *ok = (int *)arg;
    *ok = (ov3d_last_error()[0] == '\0' && ov3d_last_status() == OV3D_OK);
    return NULL;
}

static int log_calls;
static void on_log(int32_t level, const char *message, void *user) {
    (void)level; (void)message;
    if (user == (void *)&log_calls) log_calls++;
}

int main(void) {
    int32_t ma = -1, mi = -1, pa = -1;
    ov3d_version_numbers(&ma, &mi, &pa);
    CHECK(ma == OV3D_VERSION_MAJOR && mi == OV3D_VERSION_MINOR && pa == OV3D_VERSION_PATCH);
    CHECK(strcmp(ov3d_version(), OV3D_VERSION_STRING) == 0);
    ov3d_version_numbers(NULL, NULL, NULL);
    CHECK(ov3d_abi_version() == OV3D_ABI_VERSION);
    CHECK(ov3d_check_abi(OV3D_ABI_VERSION) == OV3D_OK);
    CHECK(ov3d_last_error()[0] == '\0');

    CHECK(ov3d_check_abi(OV3D_ABI_VERSION + 1) == OV3D_ERR_UNSUPPORTED);
    CHECK(strstr(ov3d_last_error(), "ABI") != NULL);
    CHECK(ov3d_last_status() == OV3D_ERR_UNSUPPORTED);

    int other_ok = 0;
    pthread_t t;
    pthread_create(&t, NULL, other_thread, &other_ok);
    pthread_join(t, NULL);
    CHECK(other_ok);
    CHECK(ov3d_last_status() == OV3D_ERR_UNSUPPORTED); /* still ours */

    CHECK(strcmp(ov3d_status_string(OV3D_ERR_IO), "I/O error") == 0);
    CHECK(strcmp(ov3d_status_string(12345), "unknown status") == 0);

    CHECK(ov3d_set_num_threads(-1) == OV3D_ERR_INVALID_ARGUMENT);
    CHECK(ov3d_set_num_threads(1) == OV3D_OK);
    CHECK(ov3d_get_num_threads() == 1);
    CHECK(ov3d_set_num_threads(0) == OV3D_OK);
    CHECK(ov3d_get_num_threads() >= 1);

    CHECK(ov3d_set_log_callback(on_log, &log_calls, 99) == OV3D_ERR_INVALID_ARGUMENT);
    CHECK(ov3d_set_log_callback(on_log, &log_calls, OV3D_LOG_DEBUG) == OV3D_OK);
    CHECK(ov3d_set_log_callback(NULL, NULL, OV3D_LOG_WARN) == OV3D_OK);

    struct { float x, y, z, pad; unsigned char bgr[4]; } pts[2] = {{1, 2, 3, 0, {0}}, {4, 5, 6, 0, {0}}};
    ov3d_points v = ov3d_points_init(&pts[0].x, 2, sizeof(pts[0]));
    CHECK(v.struct_size == sizeof(ov3d_points) && v.count == 2 && v.xyz_stride == sizeof(pts[0]));
    CHECK(v.rgb == NULL && v.normals == NULL && v.color_order == OV3D_COLOR_RGB);

    printf("c_core_test: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
