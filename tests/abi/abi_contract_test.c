/* The C ABI contract, table-driven (issue 17): every export of include/ov3d.h is called once
 * with valid arguments (the baseline must succeed, so every mutation below is what makes a call
 * fail) and then once per mutation of one argument: NULL for each pointer, zero and huge sizes,
 * too-small capacities, negative ints, NaN / Inf / 1e30 values and coordinates, bad strides,
 * wrong struct_size, a live handle of another type, a *freed* handle of the right type, invalid
 * UTF-8 and missing files. Each must return the documented status with a non-empty
 * ov3d_last_error() (and ov3d_last_status() equal to it), never crash. Exports that return no
 * status (versions, *_default_params, *_free, ov3d_points_init) have their own checks.
 *
 * `abi_contract_test --list` prints the exports the table covers; tests/abi/contract_coverage.py
 * compares that list with the header's declarations (every export must be covered).
 * Run from the package root (scripts/test.sh does), or set OV3D_ROOT. The text-encoder baselines
 * need ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz (or OV3D_SHARED_DATA); without it only
 * their handle rows run (reported as skipped). Built with -fsanitize=address,undefined by
 * `make test-asan`: a freed handle must be rejected without its memory ever being read. */
#define _POSIX_C_SOURCE 200809L
#include "ov3d.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- mutations --------------------------------------------------------------------------- */
enum what {
    W_NONE, W_NULL, W_WRONG, W_FREED, W_ZERO, W_SMALL, W_HUGE, W_NEG, W_NAN, W_INF, W_BIG,
    W_SSMALL, W_SBIG, W_UTF8, W_MISSING, W_STRIDE
};
static const char *what_name[] = {"baseline", "NULL", "wrong-type handle", "freed handle", "zero", "too small",
                                  "huge", "negative", "NaN", "Inf", "1e30", "struct_size 3", "struct_size too big",
                                  "invalid UTF-8", "missing file/key", "bad stride"};
enum kind { K_CLOUD, K_MODEL, K_SESSION, K_RESULT, K_CKPT, K_ENCODER, K_VOCAB, K_FUSION, K_COUNT };

static struct { int arg; int what; } M; /* the current mutation */
#define IS(i, w) (M.arg == (i) && M.what == (w))
#define ANY_OOM 99                     /* expected: OV3D_ERR_INVALID_ARGUMENT or OUT_OF_MEMORY */

static int passed, failed, skipped;
static char snap_error[4096];
static int32_t snap_status;
static int32_t SNAP(int32_t st) {
    snprintf(snap_error, sizeof snap_error, "%s", ov3d_last_error());
    snap_status = ov3d_last_status();
    return st;
}
#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (cond) passed++;                                                                  \
        else { failed++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); }   \
    } while (0)

/* ---- the environment: valid objects and buffers ------------------------------------------ */
enum { NP = 2700, FN = 10, FD = 16, NW = 4 };
static struct {
    char root[2048], tiny[2200], ply[2200], weights[2200], ckpt_path[2200], awl_path[2200], bpe[2200], tmp[256];
    float xyz[NP * 3];
    ov3d_cloud *cloud;
    ov3d_model *model;
    ov3d_session *session;
    ov3d_result *result;
    ov3d_checkpoint *ckpt, *awl;
    ov3d_text_encoder *enc; /* NULL without the shared BPE vocabulary */
    ov3d_vocabulary *voc;
    ov3d_fusion *fusion;
    size_t cloud_n, n_voxels, ckpt_elems;
    int32_t head_dim;
    int32_t coords[30]; /* 10 voxels x 3 */
    float feat[FN * FD], emb[NW * FD];
    int32_t ids[FN], labels[FN];
    float scores[FN];
    float tf[2 * FN * 4], tvoc[3 * 4], tcap[2 * 3];
    uint8_t gt_mask[2 * 16], t_mask[2 * 16];
    uint16_t depth[64 * 48];
    float fmap[16 * 12 * 4];
    double K[9], pose[16];
} E;

/* Buffers made for one call, freed after it. */
static void *scratch[64];
static size_t n_scratch;
static void *keep(void *p) {
    if (!p || n_scratch == 64) { fprintf(stderr, "abi_contract_test: out of scratch\n"); exit(2); }
    return scratch[n_scratch++] = p;
}
static void free_scratch(void) { while (n_scratch) free(scratch[--n_scratch]); }

/* Float buffer `src` (n values) for argument i: a copy with element 0 poisoned under N / I / B. */
static const float *FB(int i, const float *src, size_t n) {
    if (M.arg != i || (M.what != W_NAN && M.what != W_INF && M.what != W_BIG)) return IS(i, W_NULL) ? NULL : src;
    float *c = keep(malloc(n * sizeof *c));
    memcpy(c, src, n * sizeof *c);
    c[0] = M.what == W_NAN ? NAN : M.what == W_INF ? INFINITY : 1e30f;
    return c;
}
static const double *DB(int i, const double *src, size_t n) {
    if (M.arg != i || (M.what != W_NAN && M.what != W_INF && M.what != W_BIG)) return IS(i, W_NULL) ? NULL : src;
    double *c = keep(malloc(n * sizeof *c));
    memcpy(c, src, n * sizeof *c);
    c[0] = M.what == W_NAN ? NAN : M.what == W_INF ? INFINITY : 1e30;
    return c;
}
/* Pointer argument i (NULL under W_NULL). */
static void *P(int i, void *p) { return IS(i, W_NULL) ? NULL : p; }
/* Size argument i: 0, n - 1 (too small), 2^62 (huge). */
static size_t N(int i, size_t n) {
    if (M.arg != i) return n;
    return M.what == W_ZERO ? 0 : M.what == W_SMALL ? n - 1 : M.what == W_HUGE ? (size_t)1 << 62 : n;
}
/* int32 argument i: -1 (negative), 1 << 30 (huge), v - 1 (too small), 0. */
static int32_t I(int i, int32_t v) {
    if (M.arg != i) return v;
    return M.what == W_NEG ? -1 : M.what == W_HUGE ? (1 << 30) : M.what == W_SMALL ? v - 1 : M.what == W_ZERO ? 0 : v;
}
/* Scalar float argument i. */
static float F(int i, float v) {
    if (M.arg != i) return v;
    return M.what == W_NAN ? NAN : M.what == W_INF ? INFINITY : M.what == W_BIG ? 1e30f : M.what == W_NEG ? -v : v;
}
/* String argument i. */
static const char *S(int i, const char *s) {
    if (M.arg != i) return s;
    return M.what == W_NULL ? NULL : M.what == W_UTF8 ? "\xff\xfe\xfd" : M.what == W_MISSING ? "/nonexistent/ov3d-contract/missing.bin" : s;
}
/* Params struct argument i (`size` bytes at p): NULL, struct_size 3, struct_size beyond the type. */
static void *PS(int i, const void *p, size_t size) {
    if (M.arg != i) return (void *)p;
    if (M.what == W_NULL) return NULL;
    if (M.what != W_SSMALL && M.what != W_SBIG) return (void *)p;
    unsigned char *c = keep(calloc(1, size + 4096));
    memcpy(c, p, size);
    uint32_t s = M.what == W_SSMALL ? 3u : (uint32_t)size + 64u;
    memcpy(c, &s, 4);
    return c;
}

/* A fresh object of `kind`, freed at once: the stale pointer a host might keep. */
static void *freed_handle(int kind) {
    void *h = NULL;
    ov3d_points v = ov3d_points_init(E.xyz, 100, 0);
    switch (kind) {
    case K_CLOUD: { ov3d_cloud *c = NULL; ov3d_cloud_from_points(&v, &c); h = c; ov3d_cloud_free(c); break; }
    case K_MODEL: { ov3d_model *m = NULL; ov3d_model_load(E.weights, NULL, &m); h = m; ov3d_model_free(m); break; }
    case K_SESSION: { ov3d_session *s = NULL; ov3d_session_create(E.model, NULL, &s); h = s; ov3d_session_free(s); break; }
    case K_RESULT: {
        ov3d_result *r = NULL;
        ov3d_session_run_voxels(E.session, E.coords, 10, NULL, 0, NULL, &r);
        h = r; ov3d_result_free(r); break;
    }
    case K_CKPT: { ov3d_checkpoint *c = NULL; ov3d_checkpoint_open(E.ckpt_path, &c); h = c; ov3d_checkpoint_free(c); break; }
    case K_ENCODER:
        if (E.enc) {
            /* Loading the BPE vocabulary takes ~0.5 s, so one freed encoder serves every row: no
             * other encoder than E.enc (allocated before it) is alive when it is used. */
            static ov3d_text_encoder *stale;
            if (!stale) { ov3d_text_encoder *e = NULL; ov3d_text_encoder_load(E.tiny, E.bpe, NULL, &e); stale = e; ov3d_text_encoder_free(e); }
            h = stale;
            break;
        }
        { ov3d_vocabulary *w = NULL; ov3d_vocabulary_from_embeddings(NULL, E.emb, NW, FD, &w); h = w; ov3d_vocabulary_free(w); break; }
    case K_VOCAB: { ov3d_vocabulary *w = NULL; ov3d_vocabulary_from_embeddings(NULL, E.emb, NW, FD, &w); h = w; ov3d_vocabulary_free(w); break; }
    case K_FUSION: {
        ov3d_fusion_params fp = ov3d_fusion_default_params();
        fp.feature_dim = 4;
        ov3d_fusion *f = NULL; ov3d_fusion_create(&v, &fp, &f); h = f; ov3d_fusion_free(f); break;
    }
    }
    if (!h) { fprintf(stderr, "FAIL: could not make a handle of kind %d to free: %s\n", kind, ov3d_last_error()); failed++; }
    return h;
}
/* Handle argument i of `kind`: NULL, a live handle of another type, a freed one of this type. */
static void *H(int i, int kind, const void *h) {
    if (M.arg != i) return (void *)h;
    if (M.what == W_NULL) return NULL;
    if (M.what == W_WRONG) return kind == K_VOCAB ? (void *)E.cloud : (void *)E.voc;
    if (M.what == W_FREED) return freed_handle(kind);
    return (void *)h;
}
/* A points view of E.xyz (n points) as argument i: NULL, count 0, bad stride, wrong struct_size,
 * a NaN / Inf / 1e30 coordinate. */
static ov3d_points pts_storage;
static const ov3d_points *PTS(int i, size_t n) {
    pts_storage = ov3d_points_init(FB(i, E.xyz, 3 * n), N(i, n), IS(i, W_STRIDE) ? 4 : 0);
    if (IS(i, W_NULL)) return NULL;
    if (IS(i, W_SSMALL)) pts_storage.struct_size = 3;
    if (IS(i, W_SBIG)) pts_storage.struct_size = sizeof(ov3d_points) + 64;
    if (M.arg == i && (M.what == W_NAN || M.what == W_INF || M.what == W_BIG)) pts_storage.count = n;
    return &pts_storage;
}

/* ---- one caller per export ---------------------------------------------------------------- */
static int32_t c_check_abi(void) { return SNAP(ov3d_check_abi(IS(0, W_HUGE) ? 999u : (uint32_t)OV3D_ABI_VERSION)); }
static int32_t c_set_log_callback(void) { return SNAP(ov3d_set_log_callback(NULL, NULL, I(2, OV3D_LOG_WARN))); }
static int32_t c_set_num_threads(void) { return SNAP(ov3d_set_num_threads(I(0, 0))); }
static int32_t c_cloud_load(void) {
    ov3d_cloud *c = NULL;
    ov3d_cloud_load_params p = ov3d_cloud_load_default_params();
    int32_t st = SNAP(ov3d_cloud_load(S(0, E.ply), PS(1, &p, sizeof p), P(2, &c)));
    ov3d_cloud_free(c);
    return st;
}
static int32_t c_cloud_from_points(void) {
    ov3d_cloud *c = NULL;
    int32_t st = SNAP(ov3d_cloud_from_points(PTS(0, 100), P(1, &c)));
    ov3d_cloud_free(c);
    return st;
}
static int32_t c_cloud_save(void) {
    char path[300];
    snprintf(path, sizeof path, "%s/contract.ply", E.tmp);
    int32_t st = SNAP(ov3d_cloud_save(H(0, K_CLOUD, E.cloud), IS(1, W_MISSING) ? "/nonexistent/ov3d/x.ply" : S(1, path),
                                      I(2, OV3D_FORMAT_AUTO)));
    unlink(path);
    return st;
}
static int32_t c_cloud_count(void) { size_t n; return SNAP(ov3d_cloud_count(H(0, K_CLOUD, E.cloud), P(1, &n))); }
static int32_t c_cloud_organization(void) { uint32_t w, h; return SNAP(ov3d_cloud_organization(H(0, K_CLOUD, E.cloud), P(1, &w), P(2, &h))); }
#define ACCESSOR(fn, T)                                                                                 \
    static int32_t c_##fn(void) { const T *o; return SNAP(ov3d_##fn(H(0, K_CLOUD, E.cloud), P(1, &o))); }
ACCESSOR(cloud_positions, float)
ACCESSOR(cloud_colors, uint8_t)
ACCESSOR(cloud_normals, float)
ACCESSOR(cloud_intensity, float)
ACCESSOR(cloud_labels, int32_t)
static int32_t c_cloud_faces(void) { const int32_t *f; size_t n; return SNAP(ov3d_cloud_faces(H(0, K_CLOUD, E.cloud), P(1, &f), P(2, &n))); }
static int32_t c_cloud_index_map(void) { const int32_t *f; size_t n; return SNAP(ov3d_cloud_index_map(H(0, K_CLOUD, E.cloud), P(1, &f), P(2, &n))); }
static int32_t c_cloud_set_labels(void) {
    int32_t *l = keep(calloc(E.cloud_n, sizeof *l));
    float *s = keep(calloc(E.cloud_n, sizeof *s));
    return SNAP(ov3d_cloud_set_labels(H(0, K_CLOUD, E.cloud), P(1, l), FB(2, s, E.cloud_n), N(3, E.cloud_n), 1));
}
static int32_t c_superpoints_compute(void) {
    ov3d_superpoint_params p = ov3d_superpoint_default_params();
    p.k_thresh = F(1, p.k_thresh);
    if (IS(1, W_NEG)) p.method = -1;
    int32_t *ids = keep(malloc(E.cloud_n * sizeof *ids)), k;
    return SNAP(ov3d_superpoints_compute(H(0, K_CLOUD, E.cloud), PS(1, &p, sizeof p), P(2, ids), N(3, E.cloud_n), P(4, &k)));
}
static int32_t c_superpoints_mean_pool(void) {
    float out[3 * FD];
    return SNAP(ov3d_superpoints_mean_pool(P(0, E.ids), N(1, FN), I(2, 3), FB(3, E.feat, FN * FD), N(4, FD), P(5, out), N(6, 3 * FD)));
}
static int32_t c_superpoints_vote(void) {
    int32_t sl[3];
    float ss[3];
    return SNAP(ov3d_superpoints_vote(P(0, E.ids), N(1, FN), I(2, 3), P(3, E.labels), FB(4, E.scores, FN), I(5, 0), P(6, sl), P(7, ss), N(8, 3)));
}
static int32_t c_superpoints_broadcast(void) {
    float out[FN * FD];
    return SNAP(ov3d_superpoints_broadcast(P(0, E.ids), N(1, FN), I(2, 3), FB(3, E.feat, 3 * FD), N(4, FD), 0.0f, P(6, out), N(7, FN * FD)));
}
static int32_t c_superpoints_broadcast_labels(void) {
    int32_t out[FN];
    return SNAP(ov3d_superpoints_broadcast_labels(P(0, E.ids), N(1, FN), I(2, 3), P(3, E.labels), -1, P(5, out), N(6, FN)));
}
static int32_t c_model_load(void) {
    ov3d_model *m = NULL;
    ov3d_model_params p = ov3d_model_default_params();
    int32_t st = SNAP(ov3d_model_load(S(0, E.weights), PS(1, &p, sizeof p), P(2, &m)));
    ov3d_model_free(m);
    return st;
}
static int32_t c_model_head_count(void) { int32_t n; return SNAP(ov3d_model_head_count(H(0, K_MODEL, E.model), P(1, &n))); }
static int32_t c_model_head_dim(void) { int32_t n; return SNAP(ov3d_model_head_dim(H(0, K_MODEL, E.model), I(1, 0), P(2, &n))); }
static int32_t c_model_head_name(void) { const char *s; return SNAP(ov3d_model_head_name(H(0, K_MODEL, E.model), I(1, 0), P(2, &s))); }
static int32_t c_model_variant(void) { const char *s; return SNAP(ov3d_model_variant(H(0, K_MODEL, E.model), P(1, &s))); }
static int32_t c_model_in_channels(void) { int32_t n; return SNAP(ov3d_model_in_channels(H(0, K_MODEL, E.model), P(1, &n))); }
static int32_t c_session_create(void) {
    ov3d_session *s = NULL;
    ov3d_session_params p = ov3d_session_default_params();
    p.voxel_size = F(1, 0.05f);
    int32_t st = SNAP(ov3d_session_create(H(0, K_MODEL, E.model), PS(1, &p, sizeof p), P(2, &s)));
    ov3d_session_free(s);
    return st;
}
static int32_t c_session_run(void) {
    ov3d_result *r = NULL;
    ov3d_run_params p = ov3d_run_default_params();
    p.voxel_size = IS(2, W_NEG) ? -0.05f : F(2, 0.0f);
    int32_t st = SNAP(ov3d_session_run(H(0, K_SESSION, E.session), PTS(1, 500), PS(2, &p, sizeof p), P(3, &r)));
    ov3d_result_free(r);
    return st;
}
static int32_t c_session_run_voxels(void) {
    ov3d_result *r = NULL;
    int32_t c[30];
    memcpy(c, E.coords, sizeof c);
    if (IS(1, W_BIG)) c[4] = 1 << 21;
    float f[10 * 3];
    for (int i = 0; i < 30; i++) f[i] = 1.0f;
    ov3d_run_params p = ov3d_run_default_params();
    int32_t st = SNAP(ov3d_session_run_voxels(H(0, K_SESSION, E.session), P(1, c), N(2, 10), FB(3, f, 30), N(4, 3),
                                              PS(5, &p, sizeof p), P(6, &r)));
    ov3d_result_free(r);
    return st;
}
static int32_t c_result_point_count(void) { size_t n; return SNAP(ov3d_result_point_count(H(0, K_RESULT, E.result), P(1, &n))); }
static int32_t c_result_voxel_count(void) { size_t n; return SNAP(ov3d_result_voxel_count(H(0, K_RESULT, E.result), P(1, &n))); }
static int32_t c_result_feature_dim(void) { int32_t n; return SNAP(ov3d_result_feature_dim(H(0, K_RESULT, E.result), I(1, 0), P(2, &n))); }
static int32_t c_result_features(void) { const float *f; return SNAP(ov3d_result_features(H(0, K_RESULT, E.result), I(1, 0), 1, P(3, &f))); }
static int32_t c_result_voxel_features(void) { const float *f; return SNAP(ov3d_result_voxel_features(H(0, K_RESULT, E.result), I(1, 0), 0, P(3, &f))); }
static int32_t c_result_voxel_index(void) { const int32_t *f; return SNAP(ov3d_result_voxel_index(H(0, K_RESULT, E.result), P(1, &f))); }
static int32_t c_result_voxel_coords(void) { const int32_t *f; return SNAP(ov3d_result_voxel_coords(H(0, K_RESULT, E.result), P(1, &f))); }
static int32_t c_convert(void) {
    char out[300];
    snprintf(out, sizeof out, "%s/contract.safetensors", E.tmp);
    ov3d_convert_params p = ov3d_convert_default_params();
    p.voxel_size = (double)F(2, 0.02f);
    int32_t st = SNAP(ov3d_convert(S(0, E.weights), IS(1, W_MISSING) ? "/nonexistent/ov3d/x.safetensors" : S(1, out), PS(2, &p, sizeof p)));
    unlink(out);
    return st;
}
static int32_t c_checkpoint_open(void) {
    ov3d_checkpoint *c = NULL;
    int32_t st = SNAP(ov3d_checkpoint_open(S(0, E.ckpt_path), P(1, &c)));
    ov3d_checkpoint_free(c);
    return st;
}
static int32_t c_checkpoint_count(void) { size_t n; return SNAP(ov3d_checkpoint_count(H(0, K_CKPT, E.ckpt), P(1, &n))); }
static int32_t c_checkpoint_tensor(void) {
    const char *name, *dtype;
    size_t rank;
    int64_t shape[8];
    return SNAP(ov3d_checkpoint_tensor(H(0, K_CKPT, E.ckpt), N(1, 0), P(2, &name), P(3, &dtype), P(4, &rank), P(5, shape), IS(5, W_NULL) ? 0 : 8));
}
static int32_t c_checkpoint_find(void) {
    const char *name = NULL;
    ov3d_checkpoint_tensor(E.ckpt, 0, &name, NULL, NULL, NULL, 0);
    size_t i;
    return SNAP(ov3d_checkpoint_find(H(0, K_CKPT, E.ckpt), IS(1, W_MISSING) ? "no.such.key" : S(1, name), P(2, &i)));
}
static int32_t c_checkpoint_read_f32(void) {
    float *out = keep(malloc(E.ckpt_elems * sizeof *out));
    return SNAP(ov3d_checkpoint_read_f32(H(0, K_CKPT, E.ckpt), N(1, 0), P(2, out), N(3, E.ckpt_elems)));
}
static int32_t c_checkpoint_metadata(void) {
    const char *v;
    return SNAP(ov3d_checkpoint_metadata(H(0, K_CKPT, E.ckpt), IS(1, W_MISSING) ? "no.such.key" : S(1, "epoch"), P(2, &v)));
}
static int32_t c_checkpoint_uncertainty_weights(void) {
    float s[3];
    return SNAP(ov3d_checkpoint_uncertainty_weights(IS(0, W_ZERO) ? E.ckpt : H(0, K_CKPT, E.awl), P(1, s), N(2, 3)));
}
static int32_t c_text_encoder_load(void) {
    ov3d_text_encoder *e = NULL;
    ov3d_text_encoder_params p = ov3d_text_encoder_default_params();
    int32_t st = SNAP(ov3d_text_encoder_load(S(0, E.tiny), S(1, E.bpe), PS(2, &p, sizeof p), P(3, &e)));
    ov3d_text_encoder_free(e);
    return st;
}
static int32_t c_text_encoder_dim(void) { size_t n; return SNAP(ov3d_text_encoder_dim(H(0, K_ENCODER, E.enc), P(1, &n))); }
static int32_t c_text_tokenize(void) { int32_t ids[77]; return SNAP(ov3d_text_tokenize(H(0, K_ENCODER, E.enc), S(1, "a chair"), P(2, ids), N(3, 77))); }
static const char *texts2[2] = {"wall", "fire extinguisher"};
static const char *const *TEXTS(int i) {
    static const char *bad[2] = {"wall", "\xff\xfe"};
    return IS(i, W_UTF8) ? bad : (const char *const *)P(i, texts2);
}
static int32_t c_text_encode(void) {
    float out[2 * 64];
    ov3d_text_encode_params p = ov3d_text_encode_default_params();
    size_t dim = 0;
    ov3d_text_encoder_dim(E.enc, &dim);
    return SNAP(ov3d_text_encode(H(0, K_ENCODER, E.enc), TEXTS(1), N(2, 2), PS(3, &p, sizeof p), P(4, out), N(5, 2 * dim)));
}
static int32_t c_vocabulary_from_texts(void) {
    ov3d_vocabulary *v = NULL;
    ov3d_text_encode_params p = ov3d_text_encode_default_params();
    int32_t st = SNAP(ov3d_vocabulary_from_texts(H(0, K_ENCODER, E.enc), TEXTS(1), N(2, 2), PS(3, &p, sizeof p), P(4, &v)));
    ov3d_vocabulary_free(v);
    return st;
}
static int32_t c_vocabulary_from_label_set(void) {
    ov3d_vocabulary *v = NULL;
    ov3d_text_encode_params p = ov3d_text_encode_default_params();
    int32_t st = SNAP(ov3d_vocabulary_from_label_set(H(0, K_ENCODER, E.enc), IS(1, W_MISSING) ? "no-such-set" : S(1, "scannet20"),
                                                     PS(2, &p, sizeof p), P(3, &v)));
    ov3d_vocabulary_free(v);
    return st;
}
static int32_t c_label_set_class_of(void) {
    int32_t c;
    return SNAP(ov3d_label_set_class_of(IS(0, W_MISSING) ? "no-such-set" : S(0, "scannet20"), N(1, 3), P(2, &c)));
}
static int32_t c_vocabulary_from_embeddings(void) {
    ov3d_vocabulary *v = NULL;
    static const char *names[NW] = {"wall", "floor", "chair", "fire extinguisher"};
    float e[NW * FD];
    memcpy(e, E.emb, sizeof e);
    if (IS(1, W_ZERO)) memset(e + FD, 0, FD * sizeof(float)); /* an all-zero row */
    int32_t st = SNAP(ov3d_vocabulary_from_embeddings(P(0, names), IS(1, W_ZERO) ? e : FB(1, e, NW * FD), N(2, NW), N(3, FD), P(4, &v)));
    ov3d_vocabulary_free(v);
    return st;
}
static int32_t c_vocabulary_count(void) { size_t n; return SNAP(ov3d_vocabulary_count(H(0, K_VOCAB, E.voc), P(1, &n))); }
static int32_t c_vocabulary_dim(void) { size_t n; return SNAP(ov3d_vocabulary_dim(H(0, K_VOCAB, E.voc), P(1, &n))); }
static int32_t c_vocabulary_name(void) { const char *s; return SNAP(ov3d_vocabulary_name(H(0, K_VOCAB, E.voc), N(1, 1), P(2, &s))); }
static int32_t c_vocabulary_embeddings(void) { float o[NW * FD]; return SNAP(ov3d_vocabulary_embeddings(H(0, K_VOCAB, E.voc), P(1, o), N(2, NW * FD))); }
static int32_t c_vocabulary_scores(void) {
    float o[FN * NW];
    return SNAP(ov3d_vocabulary_scores(H(0, K_VOCAB, E.voc), FB(1, E.feat, FN * FD), N(2, FN), N(3, FD), I(4, 1), P(5, o), N(6, FN * NW)));
}
static int32_t c_vocabulary_classify(void) {
    int32_t l[FN];
    float s[FN];
    return SNAP(ov3d_vocabulary_classify(H(0, K_VOCAB, E.voc), FB(1, E.feat, FN * FD), N(2, FN), N(3, FD), I(4, 1), P(5, l), P(6, s)));
}
static int32_t c_vocabulary_heatmap(void) {
    float o[FN];
    return SNAP(ov3d_vocabulary_heatmap(H(0, K_VOCAB, E.voc), N(1, 2), FB(2, E.feat, FN * FD), N(3, FN), N(4, FD), P(5, o), N(6, FN)));
}
static int32_t c_segment(void) {
    enum { n = 900 };
    static int32_t lab[n];
    static float sc[n], pr[n * NW];
    ov3d_segment_params p = ov3d_segment_default_params();
    p.temperature = F(3, p.temperature);
    ov3d_segment_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = IS(12, W_SSMALL) ? 3u : (uint32_t)sizeof info;
    int32_t st = SNAP(ov3d_segment(H(0, K_SESSION, E.session), PTS(1, n), H(2, K_VOCAB, E.voc), PS(3, &p, sizeof p),
                                   P(4, lab), N(5, n), P(6, sc), N(7, n), P(8, pr), N(9, n * NW), NULL, 0, P(12, &info)));
    return st;
}
static int segment_session(void); /* rows of ov3d_segment that fail clear the session's result */
static int32_t c_query(void) {
    static float out[900];
    if (!segment_session()) return 12345;
    return SNAP(ov3d_query(H(0, K_SESSION, E.session), FB(1, E.emb, FD), N(2, FD), P(3, out), N(4, 900)));
}
static int32_t c_query_text(void) {
    static float out[900];
    ov3d_text_encode_params p = ov3d_text_encode_default_params();
    return SNAP(ov3d_query_text(H(0, K_SESSION, E.session), H(1, K_ENCODER, E.enc), S(2, "chair"), PS(3, &p, sizeof p), P(4, out), N(5, 900)));
}
static int32_t c_fusion_create(void) {
    ov3d_fusion *f = NULL;
    ov3d_fusion_params p = ov3d_fusion_default_params();
    p.depth_width = 64; p.depth_height = 48; p.feature_width = 16; p.feature_height = 12; p.cut_bound = 2;
    p.feature_dim = I(1, 4);
    if (IS(1, W_NAN)) p.visibility_threshold = NAN;
    int32_t st = SNAP(ov3d_fusion_create(PTS(0, 500), PS(1, &p, sizeof p), P(2, &f)));
    ov3d_fusion_free(f);
    return st;
}
static int32_t c_fusion_add_frame(void) {
    size_t vis;
    double pose[16];
    memcpy(pose, E.pose, sizeof pose);
    if (IS(7, W_ZERO)) memset(pose, 0, sizeof pose); /* not invertible */
    return SNAP(ov3d_fusion_add_frame(H(0, K_FUSION, E.fusion), P(1, E.depth), N(2, 64 * 48), FB(3, E.fmap, 16 * 12 * 4),
                                      N(4, 16 * 12 * 4), I(5, OV3D_FEATURE_F32), DB(6, E.K, 9),
                                      IS(7, W_ZERO) ? pose : DB(7, pose, 16), P(8, &vis)));
}
static int32_t c_fusion_add_manifest(void) {
    char path[300];
    snprintf(path, sizeof path, "%s/manifest.json", E.tmp);
    return SNAP(ov3d_fusion_add_manifest(H(0, K_FUSION, E.fusion), IS(1, W_MISSING) ? "/nonexistent/ov3d/m.json" : S(1, path), NULL, NULL));
}
static int32_t c_fusion_snapshot(void) {
    static float f[500 * 4];
    static uint8_t m[500];
    static uint32_t c[500];
    return SNAP(ov3d_fusion_snapshot(H(0, K_FUSION, E.fusion), P(1, f), N(2, 500 * 4), P(3, m), N(4, 500), P(5, c), N(6, 500)));
}
static int32_t c_fusion_info(void) {
    size_t n; int32_t d, fr;
    return SNAP(ov3d_fusion_info(H(0, K_FUSION, E.fusion), P(1, &n), P(2, &d), P(3, &fr)));
}
static int32_t c_fusion_reset(void) { return SNAP(ov3d_fusion_reset(H(0, K_FUSION, E.fusion))); }
static int32_t c_teacher_fusion(void) {
    float out[FN * 4], w[FN * 2];
    ov3d_teacher_fusion_params p = ov3d_teacher_fusion_default_params();
    p.temperature = F(7, p.temperature);
    return SNAP(ov3d_teacher_fusion(FB(0, E.tf, 2 * FN * 4), N(1, 2), N(2, FN), N(3, 4), FB(4, E.tvoc, 12), N(5, 3),
                                    FB(6, E.tcap, 6), PS(7, &p, sizeof p), P(8, out), N(9, FN * 4), P(10, w), N(11, FN * 2)));
}
static int32_t c_capability_from_masks(void) {
    int32_t pt[2] = {0, 1}, pc[2] = {0, 1};
    if (IS(3, W_BIG)) pt[1] = 7; /* a teacher index out of range */
    float out[4];
    return SNAP(ov3d_capability_from_masks(P(0, E.gt_mask), P(1, E.t_mask), N(2, 16), P(3, pt), P(4, pc), N(5, 2), N(6, 2), N(7, 2),
                                           I(8, -1), P(9, out), N(10, 4)));
}
static int32_t c_ensemble_labels(void) {
    int32_t out[FN];
    float voc[3 * FD];
    memcpy(voc, E.emb, sizeof voc);
    return SNAP(ov3d_ensemble_labels(I(0, OV3D_EVAL_DISTILL), FB(1, E.feat, FN * FD), NULL, NULL, N(4, FN), N(5, FD),
                                     FB(6, voc, 3 * FD), N(7, 3), P(8, out), N(9, FN)));
}
static int32_t c_superpoints_refine_labels(void) {
    int32_t l[FN];
    memcpy(l, E.labels, sizeof l);
    return SNAP(ov3d_superpoints_refine_labels(P(0, l), P(1, E.ids), N(2, FN), 256));
}
static int32_t c_evaluate(void) {
    int32_t gt[FN];
    memcpy(gt, E.labels, sizeof gt);
    if (IS(1, W_BIG)) gt[3] = 9; /* ground truth outside [0, n_classes) */
    ov3d_eval_result r;
    memset(&r, 0, sizeof r);
    r.struct_size = IS(6, W_SSMALL) ? 3u : (uint32_t)sizeof r;
    double iou[3], acc[3];
    return SNAP(ov3d_evaluate(P(0, E.labels), P(1, gt), N(2, FN), I(3, 3), -1, I(5, OV3D_METRIC_STANDARD), P(6, &r), P(7, iou),
                              P(8, acc), N(9, 3)));
}

/* ---- the table ----------------------------------------------------------------------------
 * Tokens: a letter, the argument index, optionally "=status" (expected, default below).
 *   h handle: NULL, live handle of another type, freed handle (-1 each)
 *   n NULL pointer (-1)        o NULL where optional (0)     z zero (-1)     c too small (-1)
 *   x huge (-1 or -5)          k negative (-1)               N NaN (-1)   I Inf (-1)   B 1e30 (-1)
 *   s params struct: struct_size 3 and too big (-1 each), NULL = defaults (0)
 *   v points view struct_size 3 and too big (-1 each)    r output struct with struct_size 3 (-1)
 *   t bad stride (-1)          u invalid UTF-8 (-1)          m missing file (-2) / key
 * "=status" replaces the expected status of every row of its token. A row with `encoder` set
 * needs the text encoder for its baseline and non-handle rows; `base` is the baseline's expected
 * status (0 but for two rows whose valid input this test cannot build, see there). */
typedef struct { const char *name; int32_t (*call)(void); const char *spec; int encoder; int32_t base; } row;
static const row table[] = {
    {"ov3d_check_abi", c_check_abi, "x0=-4", 0, 0},
    {"ov3d_set_log_callback", c_set_log_callback, "k2 x2", 0, 0},
    {"ov3d_set_num_threads", c_set_num_threads, "k0 x0", 0, 0},
    {"ov3d_cloud_load", c_cloud_load, "n0 u0 m0 s1 n2", 0, 0},
    {"ov3d_cloud_from_points", c_cloud_from_points, "n0 z0 t0 v0 N0 I0 n1", 0, 0},
    {"ov3d_cloud_save", c_cloud_save, "h0 n1 m1 k2 x2", 0, 0},
    {"ov3d_cloud_count", c_cloud_count, "h0 n1", 0, 0},
    {"ov3d_cloud_organization", c_cloud_organization, "h0 n1 n2", 0, 0},
    {"ov3d_cloud_positions", c_cloud_positions, "h0 n1", 0, 0},
    {"ov3d_cloud_colors", c_cloud_colors, "h0 n1", 0, 0},
    {"ov3d_cloud_normals", c_cloud_normals, "h0 n1", 0, 0},
    {"ov3d_cloud_intensity", c_cloud_intensity, "h0 n1", 0, 0},
    {"ov3d_cloud_labels", c_cloud_labels, "h0 n1", 0, 0},
    {"ov3d_cloud_faces", c_cloud_faces, "h0 n1 n2", 0, 0},
    {"ov3d_cloud_index_map", c_cloud_index_map, "h0 n1 n2", 0, 0},
    {"ov3d_cloud_set_labels", c_cloud_set_labels, "h0 n1 o2 c3 x3 z3", 0, 0},
    {"ov3d_superpoints_compute", c_superpoints_compute, "h0 s1 N1 I1 k1 n2 c3 o4", 0, 0},
    {"ov3d_superpoints_mean_pool", c_superpoints_mean_pool, "n0 x1 k2 x2 n3 z4 x4 n5 c6", 0, 0},
    {"ov3d_superpoints_vote", c_superpoints_vote, "n0 x1 k2 x2 n3 o4 k5 x5 n6 o7 c8", 0, 0},
    {"ov3d_superpoints_broadcast", c_superpoints_broadcast, "n0 x1 k2 x2 n3 z4 x4 n6 c7", 0, 0},
    {"ov3d_superpoints_broadcast_labels", c_superpoints_broadcast_labels, "n0 x1 k2 x2 n3 n5 c6", 0, 0},
    {"ov3d_model_load", c_model_load, "n0 u0 m0 s1 n2", 0, 0},
    {"ov3d_model_head_count", c_model_head_count, "h0 n1", 0, 0},
    {"ov3d_model_head_dim", c_model_head_dim, "h0 k1 x1 n2", 0, 0},
    {"ov3d_model_head_name", c_model_head_name, "h0 k1 x1 n2", 0, 0},
    {"ov3d_model_variant", c_model_variant, "h0 n1", 0, 0},
    {"ov3d_model_in_channels", c_model_in_channels, "h0 n1", 0, 0},
    {"ov3d_session_create", c_session_create, "h0 s1 N1 I1 k1 n2", 0, 0},
    {"ov3d_session_run", c_session_run, "h0 n1 z1 t1 v1 N1 I1 B1 s2 N2 I2 k2 n3", 0, 0},
    {"ov3d_session_run_voxels", c_session_run_voxels, "h0 n1 B1 z2 x2 o3 N3 I3 c4 s5 n6", 0, 0},
    {"ov3d_result_point_count", c_result_point_count, "h0 n1", 0, 0},
    {"ov3d_result_voxel_count", c_result_voxel_count, "h0 n1", 0, 0},
    {"ov3d_result_feature_dim", c_result_feature_dim, "h0 k1 x1 n2", 0, 0},
    {"ov3d_result_features", c_result_features, "h0 k1 x1 n3", 0, 0},
    {"ov3d_result_voxel_features", c_result_voxel_features, "h0 k1 x1 n3", 0, 0},
    {"ov3d_result_voxel_index", c_result_voxel_index, "h0 n1", 0, 0},
    {"ov3d_result_voxel_coords", c_result_voxel_coords, "h0 n1", 0, 0},
    {"ov3d_convert", c_convert, "n0 u0 m0 n1 m1 s2 N2 I2", 0, 0},
    {"ov3d_checkpoint_open", c_checkpoint_open, "n0 u0 m0 n1", 0, 0},
    {"ov3d_checkpoint_count", c_checkpoint_count, "h0 n1", 0, 0},
    {"ov3d_checkpoint_tensor", c_checkpoint_tensor, "h0 x1 o2 o3 o4 o5", 0, 0},
    {"ov3d_checkpoint_find", c_checkpoint_find, "h0 n1 u1 m1=-1 n2", 0, 0},
    {"ov3d_checkpoint_read_f32", c_checkpoint_read_f32, "h0 x1 n2 c3 z3", 0, 0},
    {"ov3d_checkpoint_metadata", c_checkpoint_metadata, "h0 n1 u1 m1=0 n2", 0, 0},
    {"ov3d_checkpoint_uncertainty_weights", c_checkpoint_uncertainty_weights, "h0 z0=-3 n1 c2", 0, 0},
    {"ov3d_text_encoder_load", c_text_encoder_load, "n0 m0 n1 m1 s2 n3", 1, 0},
    {"ov3d_text_encoder_dim", c_text_encoder_dim, "h0 n1", 1, 0},
    {"ov3d_text_tokenize", c_text_tokenize, "h0 n1 u1 n2 c3", 1, 0},
    {"ov3d_text_encode", c_text_encode, "h0 n1 u1 z2 x2 s3 n4 c5", 1, 0},
    {"ov3d_vocabulary_from_texts", c_vocabulary_from_texts, "h0 n1 u1 z2 x2 s3 n4", 1, 0},
    {"ov3d_vocabulary_from_label_set", c_vocabulary_from_label_set, "h0 n1 m1=-1 u1 s2 n3", 1, 0},
    {"ov3d_label_set_class_of", c_label_set_class_of, "n0 m0=-1 x1 n2", 0, 0},
    {"ov3d_vocabulary_from_embeddings", c_vocabulary_from_embeddings, "o0 n1 z1 N1 I1 z2 x2 z3 x3 n4", 0, 0},
    {"ov3d_vocabulary_count", c_vocabulary_count, "h0 n1", 0, 0},
    {"ov3d_vocabulary_dim", c_vocabulary_dim, "h0 n1", 0, 0},
    {"ov3d_vocabulary_name", c_vocabulary_name, "h0 x1 n2", 0, 0},
    {"ov3d_vocabulary_embeddings", c_vocabulary_embeddings, "h0 n1 c2", 0, 0},
    {"ov3d_vocabulary_scores", c_vocabulary_scores, "h0 n1 N1 I1 x2 c3 z3 k4 n5 c6", 0, 0},
    {"ov3d_vocabulary_classify", c_vocabulary_classify, "h0 n1 N1 I1 x2 c3 z3 k4 n5 o6", 0, 0},
    {"ov3d_vocabulary_heatmap", c_vocabulary_heatmap, "h0 x1 n2 N2 x3 c4 z4 n5 c6", 0, 0},
    {"ov3d_segment", c_segment, "h0 n1 z1 t1 v1 N1=0 I1 B1 h2 s3 N3 k3 o4 c5 o6 c7 o8 c9 o12 r12", 0, 0},
    {"ov3d_query", c_query, "h0 n1 N1 I1 c2 z2 n3 c4", 0, 0},
    /* The committed tiny text model embeds into 12 dimensions, the committed MinkUNet into 16:
     * query_text's baseline is the dimension error; its handle rows are checked before it. */
    {"ov3d_query_text", c_query_text, "h0 h1", 0, OV3D_ERR_INVALID_ARGUMENT},
    {"ov3d_fusion_create", c_fusion_create, "n0 z0 t0 v0 N0 I0 s1=-1 k1 z1 N1 n2", 0, 0},
    {"ov3d_fusion_add_frame", c_fusion_add_frame, "h0 n1 c2 n3 N3 I3 c4 k5 x5 n6 N6 I6 n7 N7 z7 o8", 0, 0},
    /* The manifest names frames that do not exist (the test writes no PNG): baseline I/O error. */
    {"ov3d_fusion_add_manifest", c_fusion_add_manifest, "h0 n1 u1 m1", 0, OV3D_ERR_IO},
    {"ov3d_fusion_snapshot", c_fusion_snapshot, "h0 o1 c2 o3 c4 o5 c6", 0, 0},
    {"ov3d_fusion_info", c_fusion_info, "h0 o1 o2 o3", 0, 0},
    {"ov3d_fusion_reset", c_fusion_reset, "h0", 0, 0},
    {"ov3d_teacher_fusion", c_teacher_fusion, "n0 N0 I0 z1 x1 z2 x2 z3 x3 n4 N4 z5 x5 n6 N6 k7 N7 s7 n8 c9 o10 c11", 0, 0},
    {"ov3d_capability_from_masks", c_capability_from_masks, "n0 n1 z2 x2 n3 B3 n4 x5 z6 z7 n9 c10", 0, 0},
    {"ov3d_ensemble_labels", c_ensemble_labels, "k0 x0 n1 N1 x4 z5 x5 n6 N6 z7 n8 c9", 0, 0},
    {"ov3d_superpoints_refine_labels", c_superpoints_refine_labels, "n0 n1 x2", 0, 0},
    {"ov3d_evaluate", c_evaluate, "n0 n1 B1 x2 z3 k3 k5 x5 o6 r6 o7 o8 c9", 0, 0},
};
enum { N_ROWS = sizeof table / sizeof table[0] };

/* Exports with no status: checked by hand below, listed for the coverage check. */
static const char *no_status[] = {
    "ov3d_version", "ov3d_version_numbers", "ov3d_abi_version", "ov3d_last_error", "ov3d_last_status",
    "ov3d_status_string", "ov3d_get_num_threads", "ov3d_points_init",
    "ov3d_cloud_load_default_params", "ov3d_superpoint_default_params", "ov3d_model_default_params",
    "ov3d_session_default_params", "ov3d_run_default_params", "ov3d_convert_default_params",
    "ov3d_text_encoder_default_params", "ov3d_text_encode_default_params", "ov3d_segment_default_params",
    "ov3d_fusion_default_params", "ov3d_teacher_fusion_default_params",
    "ov3d_cloud_free", "ov3d_model_free", "ov3d_session_free", "ov3d_result_free", "ov3d_checkpoint_free",
    "ov3d_text_encoder_free", "ov3d_vocabulary_free", "ov3d_fusion_free",
};

static int run_case(const row *r, int arg, int what, int expected) {
    M.arg = arg;
    M.what = what;
    snap_error[0] = 0;
    snap_status = 12345;
    int32_t st = r->call();
    M.arg = -1;
    M.what = W_NONE;
    free_scratch();
    int ok = expected == ANY_OOM ? (st == OV3D_ERR_INVALID_ARGUMENT || st == OV3D_ERR_OUT_OF_MEMORY) : st == expected;
    if (st < 0 && (snap_error[0] == 0 || snap_status != st)) ok = 0;
    if (st == 0 && snap_error[0] != 0) ok = 0;
    if (ok) passed++;
    else {
        failed++;
        fprintf(stderr, "FAIL %s arg %d %s: status %d (expected %d), last_status %d, last_error \"%s\"\n", r->name, arg,
                what_name[what], st, expected, snap_status, snap_error);
    }
    return ok;
}

static void run_row(const row *r) {
    int need = r->encoder && !E.enc;
    if (need) skipped++;
    else run_case(r, -1, W_NONE, r->base); /* the baseline */
    const char *s = r->spec;
    while (*s) {
        while (*s == ' ') s++;
        if (!*s) break;
        char letter = *s++;
        int arg = (int)strtol(s, (char **)&s, 10), override = 1000;
        if (*s == '=') { s++; override = (int)strtol(s, (char **)&s, 10); }
        int whats[3], exp[3], n = 0;
        switch (letter) {
        case 'h': whats[0] = W_NULL; whats[1] = W_WRONG; whats[2] = W_FREED; exp[0] = exp[1] = exp[2] = -1; n = 3; break;
        case 'n': whats[0] = W_NULL; exp[0] = -1; n = 1; break;
        case 'o': whats[0] = W_NULL; exp[0] = 0; n = 1; break;
        case 'z': whats[0] = W_ZERO; exp[0] = -1; n = 1; break;
        case 'c': whats[0] = W_SMALL; exp[0] = -1; n = 1; break;
        case 'x': whats[0] = W_HUGE; exp[0] = ANY_OOM; n = 1; break;
        case 'k': whats[0] = W_NEG; exp[0] = -1; n = 1; break;
        case 'N': whats[0] = W_NAN; exp[0] = -1; n = 1; break;
        case 'I': whats[0] = W_INF; exp[0] = -1; n = 1; break;
        case 'B': whats[0] = W_BIG; exp[0] = -1; n = 1; break;
        case 's': whats[0] = W_SSMALL; whats[1] = W_SBIG; whats[2] = W_NULL; exp[0] = exp[1] = -1; exp[2] = 0; n = 3; break;
        case 'v': whats[0] = W_SSMALL; whats[1] = W_SBIG; exp[0] = exp[1] = -1; n = 2; break;
        case 'r': whats[0] = W_SSMALL; exp[0] = -1; n = 1; break;
        case 't': whats[0] = W_STRIDE; exp[0] = -1; n = 1; break;
        case 'u': whats[0] = W_UTF8; exp[0] = -1; n = 1; break;
        case 'm': whats[0] = W_MISSING; exp[0] = -2; n = 1; break;
        default: fprintf(stderr, "FAIL: bad token '%c' in the spec of %s\n", letter, r->name); failed++; return;
        }
        if (override != 1000) {
            for (int j = 0; j < n; j++) exp[j] = override;
        }
        for (int j = 0; j < n; j++) {
            if (need && letter != 'h') { skipped++; continue; }
            run_case(r, arg, whats[j], exp[j]);
        }
    }
}

/* ---- setup and the hand-written checks ---------------------------------------------------- */
static int setup(void) {
    const char *root = getenv("OV3D_ROOT");
    snprintf(E.root, sizeof E.root, "%s", root ? root : ".");
    snprintf(E.tiny, sizeof E.tiny, "%s/Tests/Fixtures/text/hf_tiny", E.root);
    snprintf(E.ply, sizeof E.ply, "%s/Tests/Fixtures/superpoints/room_noisy.ply", E.root);
    snprintf(E.weights, sizeof E.weights, "%s/Tests/Fixtures/minkunet/room_18a_w8/weights.safetensors", E.root);
    snprintf(E.ckpt_path, sizeof E.ckpt_path, "%s/Tests/Fixtures/checkpoint/openscene18a_module.pth.tar", E.root);
    snprintf(E.awl_path, sizeof E.awl_path, "%s/Tests/Fixtures/checkpoint/cua_awl.pth.tar", E.root);
    const char *shared = getenv("OV3D_SHARED_DATA");
    if (shared) snprintf(E.bpe, sizeof E.bpe, "%s/clip/bpe_simple_vocab_16e6.txt.gz", shared);
    else snprintf(E.bpe, sizeof E.bpe, "%s/../shared/data/clip/bpe_simple_vocab_16e6.txt.gz", E.root);
    snprintf(E.tmp, sizeof E.tmp, "/tmp/ov3d-contract-XXXXXX");
    if (!mkdtemp(E.tmp)) { perror("mkdtemp"); return 0; }

    for (int i = 0; i < 30; i++)
        for (int j = 0; j < 30; j++) {
            float u = 0.04f * (float)i, v = 0.04f * (float)j, *p = &E.xyz[9 * (30 * i + j)];
            p[0] = u; p[1] = v; p[2] = 0.5f; p[3] = u; p[4] = 0.01f; p[5] = 0.5f + v;
            p[6] = 0.4f + u / 4; p[7] = 0.4f + v / 4; p[8] = 0.8f;
        }
    for (int i = 0; i < FN * FD; i++) E.feat[i] = cosf(0.7f * (float)i);
    for (int i = 0; i < NW * FD; i++) E.emb[i] = cosf(1.3f * (float)i);
    for (int i = 0; i < FN; i++) { E.ids[i] = i % 3; E.labels[i] = (i * 7) % 3; E.scores[i] = 0.5f; }
    for (int i = 0; i < 10; i++) { E.coords[3 * i] = i; E.coords[3 * i + 1] = 2 * i; E.coords[3 * i + 2] = 1; }
    for (int i = 0; i < 2 * FN * 4; i++) E.tf[i] = sinf(0.3f * (float)i);
    for (int i = 0; i < 12; i++) E.tvoc[i] = cosf(0.9f * (float)i);
    for (int i = 0; i < 6; i++) E.tcap[i] = 0.1f * (float)(i + 1);
    for (int i = 0; i < 32; i++) { E.gt_mask[i] = (uint8_t)(i % 3 == 0); E.t_mask[i] = (uint8_t)(i % 2 == 0); }
    for (int i = 0; i < 64 * 48; i++) E.depth[i] = 500;
    for (int i = 0; i < 16 * 12 * 4; i++) E.fmap[i] = 0.01f * (float)(i % 97);
    double K[9] = {50, 0, 32, 0, 50, 24, 0, 0, 1};
    memcpy(E.K, K, sizeof K);
    for (int i = 0; i < 16; i++) E.pose[i] = (i % 5 == 0) ? 1.0 : 0.0;

    int ok = 1;
#define SETUP(call) do { if ((call) != OV3D_OK) { fprintf(stderr, "FAIL setup %s: %s\n", #call, ov3d_last_error()); ok = 0; } } while (0)
    SETUP(ov3d_cloud_load(E.ply, NULL, &E.cloud));
    SETUP(ov3d_cloud_count(E.cloud, &E.cloud_n));
    SETUP(ov3d_model_load(E.weights, NULL, &E.model));
    SETUP(ov3d_model_head_dim(E.model, 0, &E.head_dim));
    ov3d_session_params sp = ov3d_session_default_params();
    sp.voxel_size = 0.05f;
    sp.n_threads = 1;
    SETUP(ov3d_session_create(E.model, &sp, &E.session));
    ov3d_points v = ov3d_points_init(E.xyz, 500, 0);
    SETUP(ov3d_session_run(E.session, &v, NULL, &E.result));
    SETUP(ov3d_checkpoint_open(E.ckpt_path, &E.ckpt));
    SETUP(ov3d_checkpoint_open(E.awl_path, &E.awl));
    size_t rank = 0;
    int64_t shape[8];
    SETUP(ov3d_checkpoint_tensor(E.ckpt, 0, NULL, NULL, &rank, shape, 8));
    E.ckpt_elems = 1;
    for (size_t i = 0; i < rank && i < 8; i++) E.ckpt_elems *= (size_t)shape[i];
    SETUP(ov3d_vocabulary_from_embeddings(NULL, E.emb, NW, FD, &E.voc));
    ov3d_fusion_params fp = ov3d_fusion_default_params();
    fp.depth_width = 64; fp.depth_height = 48; fp.feature_width = 16; fp.feature_height = 12; fp.cut_bound = 2;
    fp.feature_dim = 4;
    ov3d_points v500 = ov3d_points_init(E.xyz, 500, 0);
    SETUP(ov3d_fusion_create(&v500, &fp, &E.fusion));
    /* A fusion manifest of one frame with the session's sizes, for ov3d_fusion_add_manifest. */
    if (access(E.bpe, R_OK) == 0) {
        SETUP(ov3d_text_encoder_load(E.tiny, E.bpe, NULL, &E.enc));
    } else {
        printf("SKIP: %s not found (set OV3D_SHARED_DATA): text-encoder baselines skipped\n", E.bpe);
    }
    if (E.head_dim != FD) { fprintf(stderr, "FAIL setup: head dim %d, expected %d\n", E.head_dim, FD); ok = 0; }
    return ok;
}

static int segment_session(void) {
    static int32_t lab[900];
    ov3d_points v900 = ov3d_points_init(E.xyz, 900, 0);
    return ov3d_segment(E.session, &v900, E.voc, NULL, lab, 900, NULL, 0, NULL, 0, NULL, 0, NULL) == OV3D_OK;
}

static int write_manifest(void) {
    /* A manifest naming frames that do not exist: add_manifest must report I/O, not crash. */
    char path[300];
    snprintf(path, sizeof path, "%s/manifest.json", E.tmp);
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    fprintf(f, "{\"frames\": [{\"depth\": \"%s/nope.png\", \"features\": \"%s/nope.npy\", \"pose\": [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]],"
               " \"intrinsics\": [[50,0,32],[0,50,24],[0,0,1]]}]}\n", E.tmp, E.tmp);
    fclose(f);
    return 1;
}

static void hand_checks(void) {
    /* Versions and strings. */
    CHECK(ov3d_version() && strcmp(ov3d_version(), OV3D_VERSION_STRING) == 0);
    int32_t a = -1, b = -1, c = -1;
    ov3d_version_numbers(&a, NULL, NULL);
    ov3d_version_numbers(NULL, &b, NULL);
    ov3d_version_numbers(NULL, NULL, &c);
    CHECK(a == OV3D_VERSION_MAJOR && b == OV3D_VERSION_MINOR && c == OV3D_VERSION_PATCH);
    CHECK(ov3d_abi_version() == OV3D_ABI_VERSION);
    CHECK(ov3d_set_num_threads(-5) == OV3D_ERR_INVALID_ARGUMENT && ov3d_last_status() == OV3D_ERR_INVALID_ARGUMENT && ov3d_last_error()[0]);
    CHECK(ov3d_set_num_threads(0) == OV3D_OK && ov3d_last_status() == OV3D_OK && ov3d_last_error()[0] == 0);
    CHECK(ov3d_get_num_threads() >= 1);
    for (int32_t s = -9; s <= 1; s++) CHECK(ov3d_status_string(s) != NULL && ov3d_status_string(s)[0]);
    CHECK(ov3d_status_string(INT32_MIN) != NULL);
    ov3d_points v = ov3d_points_init(NULL, 0, 0);
    CHECK(v.struct_size == sizeof(ov3d_points) && v.xyz == NULL && v.count == 0);
    /* Default params carry their own struct_size. */
    CHECK(ov3d_cloud_load_default_params().struct_size == sizeof(ov3d_cloud_load_params));
    CHECK(ov3d_superpoint_default_params().struct_size == sizeof(ov3d_superpoint_params));
    CHECK(ov3d_model_default_params().struct_size == sizeof(ov3d_model_params));
    CHECK(ov3d_session_default_params().struct_size == sizeof(ov3d_session_params));
    CHECK(ov3d_run_default_params().struct_size == sizeof(ov3d_run_params));
    CHECK(ov3d_convert_default_params().struct_size == sizeof(ov3d_convert_params));
    CHECK(ov3d_text_encoder_default_params().struct_size == sizeof(ov3d_text_encoder_params));
    CHECK(ov3d_text_encode_default_params().struct_size == sizeof(ov3d_text_encode_params));
    CHECK(ov3d_segment_default_params().struct_size == sizeof(ov3d_segment_params));
    CHECK(ov3d_fusion_default_params().struct_size == sizeof(ov3d_fusion_params));
    CHECK(ov3d_teacher_fusion_default_params().struct_size == sizeof(ov3d_teacher_fusion_params));

    /* Every *_free: NULL is a no-op that succeeds; a live handle of another type is refused and
     * left alive (it still works afterwards); a double free is refused (last status -1). */
    size_t n = 0;
    ov3d_cloud_free(NULL);
    CHECK(ov3d_last_status() == OV3D_OK);
#define FREE_CHECKS(freefn, wrong)                                                                      \
    do {                                                                                                \
        freefn(NULL);                                                                                   \
        CHECK(ov3d_last_status() == OV3D_OK);                                                           \
        freefn((void *)(wrong));                                                                        \
        CHECK(ov3d_last_status() == OV3D_ERR_INVALID_ARGUMENT && strstr(ov3d_last_error(), #freefn) != NULL); \
    } while (0)
    FREE_CHECKS(ov3d_cloud_free, E.voc);
    FREE_CHECKS(ov3d_model_free, E.session);
    FREE_CHECKS(ov3d_session_free, E.model);
    FREE_CHECKS(ov3d_result_free, E.cloud);
    FREE_CHECKS(ov3d_checkpoint_free, E.cloud);
    FREE_CHECKS(ov3d_text_encoder_free, E.voc);
    FREE_CHECKS(ov3d_vocabulary_free, E.cloud);
    FREE_CHECKS(ov3d_fusion_free, E.cloud);
    CHECK(ov3d_vocabulary_count(E.voc, &n) == OV3D_OK && n == NW);      /* survived the wrong frees */
    CHECK(ov3d_cloud_count(E.cloud, &n) == OV3D_OK && n == E.cloud_n);
    int32_t hc = 0;
    CHECK(ov3d_model_head_count(E.model, &hc) == OV3D_OK && hc >= 1);
#define DOUBLE_FREE(kind, freefn)                                                                       \
    do {                                                                                                \
        void *h = freed_handle(kind);                                                                   \
        freefn(h);                                                                                      \
        CHECK(ov3d_last_status() == OV3D_ERR_INVALID_ARGUMENT && ov3d_last_error()[0]);                 \
    } while (0)
    DOUBLE_FREE(K_CLOUD, ov3d_cloud_free);
    DOUBLE_FREE(K_MODEL, ov3d_model_free);
    DOUBLE_FREE(K_SESSION, ov3d_session_free);
    DOUBLE_FREE(K_RESULT, ov3d_result_free);
    DOUBLE_FREE(K_CKPT, ov3d_checkpoint_free);
    DOUBLE_FREE(K_VOCAB, ov3d_vocabulary_free);
    DOUBLE_FREE(K_FUSION, ov3d_fusion_free);
    if (E.enc) DOUBLE_FREE(K_ENCODER, ov3d_text_encoder_free);
    /* A pointer that was never a handle (stack memory, zeroed) is refused, not dereferenced. */
    uint64_t fake[8] = {0};
    CHECK(ov3d_model_head_count((ov3d_model *)(void *)fake, &hc) == OV3D_ERR_INVALID_ARGUMENT);
    ov3d_model_free((ov3d_model *)(void *)fake);
    CHECK(ov3d_last_status() == OV3D_ERR_INVALID_ARGUMENT);
    /* A model freed while a session holds it stays usable through the session. */
    ov3d_model *m = NULL;
    ov3d_session *s = NULL;
    ov3d_result *r = NULL;
    CHECK(ov3d_model_load(E.weights, NULL, &m) == OV3D_OK && ov3d_session_create(m, NULL, &s) == OV3D_OK);
    ov3d_model_free(m);
    CHECK(ov3d_last_status() == OV3D_OK);
    CHECK(ov3d_session_run_voxels(s, E.coords, 10, NULL, 0, NULL, &r) == OV3D_OK);
    CHECK(ov3d_model_head_count(m, &hc) == OV3D_ERR_INVALID_ARGUMENT); /* the handle itself is gone */
    ov3d_result_free(r);
    ov3d_session_free(s);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (int i = 0; i < N_ROWS; i++) printf("%s\n", table[i].name);
        for (size_t i = 0; i < sizeof no_status / sizeof no_status[0]; i++) printf("%s\n", no_status[i]);
        return 0;
    }
    M.arg = -1;
    if (ov3d_check_abi(OV3D_ABI_VERSION) != OV3D_OK) { puts(ov3d_last_error()); return 1; }
    if (!setup() || !write_manifest()) { fprintf(stderr, "abi_contract_test: setup failed\n"); return 1; }
    for (int i = 0; i < N_ROWS; i++) {
        if (getenv("OV3D_CONTRACT_VERBOSE")) fprintf(stderr, "row %s\n", table[i].name);
        run_row(&table[i]);
    }
    hand_checks();

    ov3d_fusion_free(E.fusion);
    ov3d_vocabulary_free(E.voc);
    ov3d_text_encoder_free(E.enc);
    ov3d_checkpoint_free(E.ckpt);
    ov3d_checkpoint_free(E.awl);
    ov3d_result_free(E.result);
    ov3d_session_free(E.session);
    ov3d_model_free(E.model);
    ov3d_cloud_free(E.cloud);
    free_scratch();
    char path[300];
    snprintf(path, sizeof path, "%s/manifest.json", E.tmp);
    unlink(path);
    rmdir(E.tmp);
    printf("abi_contract_test: %d exports (%d with a status table row, %d checked by hand); %d passed, %d failed, %d skipped\n",
           (int)(N_ROWS + sizeof no_status / sizeof no_status[0]), (int)N_ROWS, (int)(sizeof no_status / sizeof no_status[0]),
           passed, failed, skipped);
    return failed ? 1 : 0;
}
