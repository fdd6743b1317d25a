/* Calibration sgemm for bench/minkunet_bench.py: C = A·B with A 4096x256 and B 256x256 (the same
 * shape as bench/peers.py's torch.mm calibration), best of 5 after a warm-up, on the thread count
 * given, by OpenBLAS cblas_sgemm (default) or by ov3d's own AVX-512 kernel (`ov3d`: rows split
 * evenly over the threads). Prints "<wall_gflops> <cpu_gflops>".
 *   cc -O3 calib_sgemm.c ../Sources/CKernels/gemm_rows_avx512.c -I../Sources/CKernels/include \
 *      -o calib_sgemm $(pkg-config --cflags --libs openblas) -lpthread
 *   ./calib_sgemm 1 [openblas|ov3d] */
#include <cblas.h>
#include <pthread.h>
#include <string.h>
#include "ov3d_kernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern void openblas_set_num_threads(int);

static double clock_s(clockid_t id) {
    struct timespec t;
    clock_gettime(id, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

enum { M = 4096, N = 256, K = 256 };
struct part { const float *a, *packed; float *c; int rows; };

static void *ov3d_part(void *arg) {
    struct part *p = arg;
    for (int r0 = 0; r0 < p->rows; r0 += 256) { /* 256-row blocks, as GEMM.sgemm does */
        int rows = p->rows - r0 < 256 ? p->rows - r0 : 256;
        ov3d_gemm_rows_packed_avx512(rows, N, K, p->a + (size_t)r0 * K, K, NULL, p->packed, p->c + (size_t)r0 * N, N, NULL, 0);
    }
    return NULL;
}

/* As GEMM.sgemm: pack B once per call, then row blocks on the threads. */
static void ov3d_sgemm(int threads, const float *a, const float *b, float *c, float *packed) {
    pthread_t tid[64];
    struct part parts[64];
    if (threads > 64) threads = 64;
    ov3d_gemm_pack_b_avx512(N, K, b, N, packed);
    for (int t = 0; t < threads; t++) {
        int lo = M * t / threads, hi = M * (t + 1) / threads;
        parts[t] = (struct part){a + (size_t)lo * K, packed, c + (size_t)lo * N, hi - lo};
        if (threads == 1) ov3d_part(&parts[t]); else pthread_create(&tid[t], NULL, ov3d_part, &parts[t]);
    }
    if (threads > 1) for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int use_ov3d = argc > 2 && strcmp(argv[2], "ov3d") == 0;
    const int m = M, n = N, k = K;
    if (use_ov3d && ov3d_kernel_isa() < OV3D_KERNEL_ISA_AVX512) { printf("nan nan\n"); return 0; }
    openblas_set_num_threads(threads);
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n), *c = malloc(sizeof(float) * m * n);
    float *packed = aligned_alloc(64, sizeof(float) * (size_t)ov3d_gemm_packed_floats(N, K));
    if (!a || !b || !c || !packed) return 1;
    for (int i = 0; i < m * k; i++) a[i] = (float)(((long)i * 7919) % 1000) / 1000.0f - 0.5f;
    for (int i = 0; i < k * n; i++) b[i] = (float)(((long)i * 104729) % 1000) / 1000.0f - 0.5f;
    double best = 1e9, best_cpu = 1e9;
    for (int r = 0; r < 6; r++) {
        double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        for (int j = 0; j < 10; j++)
            if (use_ov3d) ov3d_sgemm(threads, a, b, c, packed);
            else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        double t = (clock_s(CLOCK_MONOTONIC) - t0) / 10, tc = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) / 10;
        if (r > 0 && t < best) best = t;
        if (r > 0 && tc < best_cpu) best_cpu = tc;
    }
    /* wall GFLOP/s and CPU-time GFLOP/s (per busy core-second; robust on a shared machine) */
    printf("%.3f %.3f\n", 2.0 * m * n * k / best / 1e9, 2.0 * m * n * k / best_cpu / 1e9);
    free(a); free(b); free(c); free(packed);
    return 0;
}
