/* C driver of bench/segment_bench.py (issue 14): times ov3d_segment, or the bare network
 * (ov3d_session_run_voxels on the same voxels, scored head only), in one process, and prints
 * one JSON line with the times and the process's peak RSS.
 *
 *   segment_bench_driver MODE CHECKPOINT POINTS.f32 N EMB.f32 K D VOXEL THREADS REPEATS
 *   MODE: segment | network.  POINTS.f32: N x 3 raw float32; EMB.f32: K x D raw float32.
 */
#define _POSIX_C_SOURCE 199309L   /* clock_gettime under -std=c99 */
#include <ov3d.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void *read_all(const char *path, size_t bytes) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    void *p = malloc(bytes);
    if (p && fread(p, 1, bytes, f) != bytes) { free(p); p = NULL; }
    fclose(f);
    return p;
}

#define CHECK(call) do { if ((call) != OV3D_OK) { fprintf(stderr, "%s: %s\n", #call, ov3d_last_error()); return 1; } } while (0)

int main(int argc, char **argv) {
    if (argc != 11) { fprintf(stderr, "usage: see the top of segment_bench_driver.c\n"); return 2; }
    const char *mode = argv[1];
    size_t n = strtoull(argv[4], NULL, 10), k = strtoull(argv[6], NULL, 10), d = strtoull(argv[7], NULL, 10);
    float voxel = strtof(argv[8], NULL);
    int threads = atoi(argv[9]), repeats = atoi(argv[10]);
    float *xyz = read_all(argv[3], n * 3 * sizeof(float)), *emb = read_all(argv[5], k * d * sizeof(float));
    if (!xyz || !emb) { fprintf(stderr, "cannot read inputs\n"); return 1; }
    ov3d_model *model = NULL;
    ov3d_session *s = NULL;
    ov3d_vocabulary *voc = NULL;
    CHECK(ov3d_model_load(argv[2], NULL, &model));
    ov3d_session_params sp = ov3d_session_default_params();
    sp.n_threads = threads;
    sp.voxel_size = voxel;
    CHECK(ov3d_session_create(model, &sp, &s));
    CHECK(ov3d_vocabulary_from_embeddings(NULL, emb, k, d, &voc));
    ov3d_points pts = ov3d_points_init(xyz, n, 0);
    printf("{\"mode\":\"%s\",\"points\":%zu,\"ms\":[", mode, n);
    if (mode[0] == 's') {
        int32_t *labels = malloc(n * sizeof *labels);
        float *scores = malloc(n * sizeof *scores);
        ov3d_segment_params p = ov3d_segment_default_params();
        p.voxel_size = voxel;
        ov3d_segment_info info = {0};
        info.struct_size = sizeof info;
        double net[64] = {0}, tot[64] = {0}, vox[64] = {0}, sco[64] = {0}, bro[64] = {0};
        for (int r = 0; r <= repeats && r < 64; r++) {   /* run 0: cold (first) run */
            double t0 = now_ms();
            CHECK(ov3d_segment(s, &pts, voc, &p, labels, n, scores, n, NULL, 0, NULL, 0, &info));
            printf("%s%.2f", r ? "," : "", now_ms() - t0);
            net[r] = info.network_ms;
            tot[r] = info.total_ms;
            vox[r] = info.voxelize_ms;
            sco[r] = info.scoring_ms;
            bro[r] = info.broadcast_ms;
        }
        printf("],\"network_ms\":[");
        for (int r = 0; r <= repeats && r < 64; r++) printf("%s%.2f", r ? "," : "", net[r]);
        printf("],\"library_total_ms\":[");
        for (int r = 0; r <= repeats && r < 64; r++) printf("%s%.2f", r ? "," : "", tot[r]);
        const char *names[3] = {"voxelize_ms", "scoring_ms", "broadcast_ms"};
        const double *stages[3] = {vox, sco, bro};
        for (int st = 0; st < 3; st++) {
            printf("],\"%s\":[", names[st]);
            for (int r = 0; r <= repeats && r < 64; r++) printf("%s%.2f", r ? "," : "", stages[st][r]);
        }
        printf("],\"voxels\":%zu,\"skipped\":%zu", info.n_voxels, info.n_skipped);
        free(labels); free(scores);
    } else {
        ov3d_result *res = NULL;
        ov3d_run_params rp = ov3d_run_default_params();
        rp.head = 0;
        CHECK(ov3d_session_run(s, &pts, &rp, &res));
        size_t nv = 0;
        const int32_t *coords = NULL;
        CHECK(ov3d_result_voxel_count(res, &nv));
        CHECK(ov3d_result_voxel_coords(res, &coords));
        int32_t *c = malloc(nv * 3 * sizeof *c);
        for (size_t i = 0; i < nv * 3; i++) c[i] = coords[i];
        ov3d_result_free(res);
        for (int r = 0; r <= repeats; r++) {
            double t0 = now_ms();
            CHECK(ov3d_session_run_voxels(s, c, nv, NULL, 0, &rp, &res));
            printf("%s%.2f", r ? "," : "", now_ms() - t0);
            ov3d_result_free(res);
        }
        printf("],\"voxels\":%zu", nv);
        free(c);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf(",\"peak_rss_mb\":%.1f}\n", ru.ru_maxrss / 1024.0);
    ov3d_vocabulary_free(voc);
    ov3d_session_free(s);
    ov3d_model_free(model);
    free(xyz); free(emb);
    return 0;
}
