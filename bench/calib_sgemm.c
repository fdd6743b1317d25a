/* Calibration sgemm for bench/minkunet_bench.py: OpenBLAS cblas_sgemm 4096x256 @ 256x256 (the same
 * shape as bench/peers.py's torch.mm calibration), best of 5 after a warm-up, on the thread count
 * given. Prints "<wall_gflops> <cpu_gflops>".   cc -O2 calib_sgemm.c -o calib_sgemm $(pkg-config --cflags --libs openblas) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern void openblas_set_num_threads(int);

static double clock_s(clockid_t id) {
    struct timespec t;
    clock_gettime(id, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    const int m = 4096, n = 256, k = 256;
    openblas_set_num_threads(threads);
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n), *c = malloc(sizeof(float) * m * n);
    if (!a || !b || !c) return 1;
    for (int i = 0; i < m * k; i++) a[i] = (float)(((long)i * 7919) % 1000) / 1000.0f - 0.5f;
    for (int i = 0; i < k * n; i++) b[i] = (float)(((long)i * 104729) % 1000) / 1000.0f - 0.5f;
    double best = 1e9, best_cpu = 1e9;
    for (int r = 0; r < 6; r++) {
        double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        for (int j = 0; j < 10; j++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        double t = (clock_s(CLOCK_MONOTONIC) - t0) / 10, tc = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) / 10;
        if (r > 0 && t < best) best = t;
        if (r > 0 && tc < best_cpu) best_cpu = tc;
    }
    /* wall GFLOP/s and CPU-time GFLOP/s (per busy core-second; robust on a shared machine) */
    printf("%.3f %.3f\n", 2.0 * m * n * k / best / 1e9, 2.0 * m * n * k / best_cpu / 1e9);
    free(a); free(b); free(c);
    return 0;
}
