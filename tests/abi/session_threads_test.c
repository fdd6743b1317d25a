/* Sessions sharing one model from several threads (issue 17; also the ThreadSanitizer run of
 * `make test-tsan`): one model, freed by the host right after its sessions are made (they keep
 * it alive); THREADS (7) threads, each with its own session, segment and run CLOUDS clouds in their
 * own order, and one more thread cancels its runs from the progress callback mid-forward and
 * then runs again. Every output (labels, scores, per-point features) must be bit for bit the
 * single-threaded reference computed first; the sessions are freed in an order unlike their
 * creation. Run from the package root (scripts/test.sh does), or set OV3D_ROOT. */
#define _POSIX_C_SOURCE 200809L
#include "ov3d.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 7, CLOUDS = 3, NPTS = 1500, DIM = 16, WORDS = 4, ROUNDS = 2 };

static float clouds[CLOUDS][NPTS * 3];
static float emb[WORDS * DIM];
static ov3d_vocabulary *voc;
static int32_t ref_labels[CLOUDS][NPTS];
static float ref_scores[CLOUDS][NPTS], ref_feat[CLOUDS][NPTS * DIM];

typedef struct {
    ov3d_session *session;
    int id;
    int mismatches, errors;
    int cancel_after; /* > 0: the progress callback cancels after this many calls */
    int calls, cancelled;
} worker;

static int on_progress(float fraction, const char *stage, void *user) {
    (void)fraction; (void)stage;
    worker *w = (worker *)user;
    w->calls++;
    return w->cancel_after > 0 && w->calls >= w->cancel_after;
}

/* Segments and runs cloud c with session s; compares with the reference when `check`. */
static int run_cloud(ov3d_session *s, int c, int32_t *labels, float *scores, float *feat) {
    ov3d_points pts = ov3d_points_init(clouds[c], NPTS, 0);
    int32_t st = ov3d_segment(s, &pts, voc, NULL, labels, NPTS, scores, NPTS, NULL, 0, NULL, 0, NULL);
    if (st != OV3D_OK) return st;
    ov3d_result *r = NULL;
    st = ov3d_session_run(s, &pts, NULL, &r);
    if (st != OV3D_OK) return st;
    const float *f = NULL;
    st = ov3d_result_features(r, 0, 0, &f);
    if (st == OV3D_OK) memcpy(feat, f, sizeof(float) * NPTS * DIM);
    ov3d_result_free(r);
    return st;
}

static int same(int c, const int32_t *labels, const float *scores, const float *feat) {
    return memcmp(labels, ref_labels[c], sizeof ref_labels[c]) == 0 && memcmp(scores, ref_scores[c], sizeof ref_scores[c]) == 0 &&
           memcmp(feat, ref_feat[c], sizeof ref_feat[c]) == 0;
}

static void *work(void *arg) {
    worker *w = (worker *)arg;
    int32_t *labels = malloc(sizeof(int32_t) * NPTS);
    float *scores = malloc(sizeof(float) * NPTS), *feat = malloc(sizeof(float) * NPTS * DIM);
    if (!labels || !scores || !feat) { w->errors++; goto done; }
    if (w->cancel_after > 0) {
        /* Cancel mid-forward, then the same session runs to completion and must match. */
        int32_t st = run_cloud(w->session, 0, labels, scores, feat);
        if (st == OV3D_ERR_CANCELLED && ov3d_last_error()[0]) w->cancelled++;
        else { w->errors++; fprintf(stderr, "worker %d: expected CANCELLED, got %d\n", w->id, st); }
        w->cancel_after = 0;
    }
    for (int round = 0; round < ROUNDS; round++)
        for (int k = 0; k < CLOUDS; k++) {
            int c = (k + w->id + round) % CLOUDS; /* every thread in its own order */
            int32_t st = run_cloud(w->session, c, labels, scores, feat);
            if (st != OV3D_OK) { w->errors++; fprintf(stderr, "worker %d: status %d: %s\n", w->id, st, ov3d_last_error()); continue; }
            if (!same(c, labels, scores, feat)) w->mismatches++;
        }
done:
    free(labels); free(scores); free(feat);
    return NULL;
}

int main(void) {
    const char *root = getenv("OV3D_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/Tests/Fixtures/minkunet/room_18a_w8/weights.safetensors", root ? root : ".");
    int failed = 0, passed = 0;
#define CHECK(c) do { if (c) passed++; else { failed++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)
    /* Three rooms: a floor, a wall and a box, shifted and scaled per cloud (deterministic). */
    for (int c = 0; c < CLOUDS; c++)
        for (int i = 0; i < NPTS; i++) {
            float u = (float)(i % 50) / 50.0f, v = (float)(i / 50) / 30.0f, *p = &clouds[c][3 * i];
            int part = i % 3;
            p[0] = part == 2 ? 0.3f + 0.2f * u : u * (1.0f + 0.3f * (float)c);
            p[1] = part == 1 ? 0.0f : v * (1.0f + 0.2f * (float)c);
            p[2] = part == 0 ? 0.0f : (part == 1 ? v : 0.3f + 0.1f * u);
        }
    for (int i = 0; i < WORDS * DIM; i++) emb[i] = cosf(1.3f * (float)i + 0.1f);
    ov3d_model *model = NULL;
    if (ov3d_model_load(path, NULL, &model) != OV3D_OK || ov3d_vocabulary_from_embeddings(NULL, emb, WORDS, DIM, &voc) != OV3D_OK) {
        fprintf(stderr, "session_threads_test: setup failed: %s\n", ov3d_last_error());
        return 1;
    }
    ov3d_session_params sp = ov3d_session_default_params();
    sp.voxel_size = 0.05f;
    sp.n_threads = 1;
    /* The single-threaded reference. */
    ov3d_session *ref = NULL;
    CHECK(ov3d_session_create(model, &sp, &ref) == OV3D_OK);
    for (int c = 0; c < CLOUDS; c++) CHECK(run_cloud(ref, c, ref_labels[c], ref_scores[c], ref_feat[c]) == OV3D_OK);
    ov3d_session_free(ref);

    worker w[THREADS + 1];
    memset(w, 0, sizeof w);
    for (int t = 0; t <= THREADS; t++) {
        w[t].id = t;
        if (t == THREADS) w[t].cancel_after = 3;
        ov3d_session_params p = sp;
        p.progress = on_progress;
        p.progress_user_data = &w[t];
        CHECK(ov3d_session_create(model, &p, &w[t].session) == OV3D_OK);
    }
    ov3d_model_free(model); /* the sessions keep the network alive */
    CHECK(ov3d_last_status() == OV3D_OK);
    pthread_t th[THREADS + 1];
    for (int t = 0; t <= THREADS; t++) pthread_create(&th[t], NULL, work, &w[t]);
    for (int t = 0; t <= THREADS; t++) pthread_join(th[t], NULL);
    int mismatches = 0, errors = 0;
    for (int t = 0; t <= THREADS; t++) { mismatches += w[t].mismatches; errors += w[t].errors; }
    CHECK(errors == 0);
    CHECK(mismatches == 0);
    CHECK(w[THREADS].cancelled == 1);
    /* Free in an order unlike creation: odd ones first, then the rest backwards. */
    for (int t = 1; t <= THREADS; t += 2) ov3d_session_free(w[t].session);
    for (int t = THREADS - (THREADS % 2 == 0 ? 0 : 1); t >= 0; t -= 2) ov3d_session_free(w[t].session);
    ov3d_vocabulary_free(voc);
    CHECK(ov3d_last_status() == OV3D_OK);
    printf("session_threads_test: %d sessions x %d runs on one model, bit-identical to one thread; %d passed, %d failed\n",
           THREADS + 1, ROUNDS * CLOUDS, passed, failed);
    return failed ? 1 : 0;
}
