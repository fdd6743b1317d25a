/* A robot node in C: the whole open-vocabulary loop through libov3d's C ABI, on data it makes
 * itself (a camera facing a wall above a floor).
 *
 *   1. The robot's point cloud lives in its own struct layout (x y z + packed colour, 16 bytes);
 *      ov3d reads it in place through a strided ov3d_points view.
 *   2. Frame by frame, depth images and a 2D model's feature maps are fused onto the points
 *      (an online ov3d_fusion session: memory bounded, snapshot at any time).
 *   3. The host's text embeddings become a vocabulary; every point gets a word and a score, and
 *      any word a heat-map.
 *   4. Superpoints (graph Felzenszwalb) vote, and the result is scored against ground truth.
 *
 * Build: make -C examples   (plain gcc, -lov3d). Run: .build/examples/robot_node_c
 */
#include <ov3d.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                                    \
    do {                                                                               \
        int32_t st_ = (call);                                                          \
        if (st_ != OV3D_OK) {                                                          \
            fprintf(stderr, "%s failed: %s (%s)\n", #call, ov3d_last_error(), ov3d_status_string(st_)); \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

typedef struct robot_point { float x, y, z; uint8_t b, g, r, a; } robot_point; /* PCL-like */

enum { W = 96, H = 72, FW = 48, FH = 36, DIM = 4, N_WORDS = 4 };
static const double FX = 70, FY = 70, CX = 47.5, CY = 35.5;
static const double WALL_Z = 3.0, FLOOR_Y = 1.2; /* camera frame: x right, y down, z forward */

/* Ground truth of the toy world: 0 wall, 1 floor. Depth along z for pixel (u, v), or 0. */
static double toy_depth(int u, int v, int *label) {
    double dx = (u - CX) / FX, dy = (v - CY) / FY;
    double t_wall = WALL_Z, t_floor = dy > 1e-6 ? FLOOR_Y / dy : INFINITY;
    if (t_floor < t_wall) { *label = 1; return t_floor; }
    (void)dx;
    *label = 0;
    return t_wall;
}

int main(void) {
    CHECK(ov3d_check_abi(OV3D_ABI_VERSION));
    printf("libov3d %s\n", ov3d_version());

    /* 1. The robot's cloud: points on the wall and on the floor, in its own layout. */
    int n = 0;
    robot_point *pts = malloc(sizeof(robot_point) * 4000);
    int32_t *gt = malloc(sizeof(int32_t) * 4000);
    for (int i = 0; i < 40; i++)
        for (int j = 0; j < 30; j++) { /* wall: z = 3, x in [-1.9, 1.9], y in [-1.4, 1.1] */
            pts[n] = (robot_point){-1.9f + 3.8f * i / 39, -1.4f + 2.5f * j / 29, (float)WALL_Z, 200, 200, 200, 255};
            gt[n++] = 0;
        }
    for (int i = 0; i < 40; i++)
        for (int j = 0; j < 40; j++) { /* floor: y = 1.2, x in [-1.5, 1.5], z in [1.5, 2.95] */
            pts[n] = (robot_point){-1.5f + 3.0f * i / 39, (float)FLOOR_Y, 1.5f + 1.45f * j / 39, 90, 120, 150, 255};
            gt[n++] = 1;
        }
    ov3d_points view = ov3d_points_init(&pts[0].x, (size_t)n, sizeof(robot_point));
    view.rgb = &pts[0].b;
    view.rgb_stride = sizeof(robot_point);
    view.color_order = OV3D_COLOR_BGR;

    /* 2. Online fusion: three frames from one camera (identity pose), features at half size. */
    ov3d_fusion_params fp = ov3d_fusion_default_params();
    fp.depth_width = W; fp.depth_height = H; fp.feature_width = FW; fp.feature_height = FH;
    fp.feature_dim = DIM; fp.cut_bound = 2; fp.visibility_threshold = 0.05;
    ov3d_fusion *fusion = NULL;
    CHECK(ov3d_fusion_create(&view, &fp, &fusion));
    static const float embed[N_WORDS][DIM] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
    const char *words[N_WORDS] = {"wall", "floor", "chair", "fire extinguisher"};
    uint16_t depth[W * H];
    float features[FH * FW * DIM];
    const double K[9] = {FX, 0, CX, 0, FY, CY, 0, 0, 1};
    const double pose[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    for (int frame = 0; frame < 3; frame++) {
        for (int v = 0; v < H; v++)
            for (int u = 0; u < W; u++) {
                int label;
                depth[v * W + u] = (uint16_t)lround(toy_depth(u, v, &label) * 1000.0);
            }
        for (int v = 0; v < FH; v++) /* the "2D model": class embedding + a little noise */
            for (int u = 0; u < FW; u++) {
                int label;
                toy_depth(2 * u, 2 * v, &label);
                for (int c = 0; c < DIM; c++)
                    features[(v * FW + u) * DIM + c] = embed[label][c] + 0.2f * ((float)rand() / RAND_MAX - 0.5f);
            }
        size_t visible = 0;
        CHECK(ov3d_fusion_add_frame(fusion, depth, W * H, features, FH * FW * DIM, OV3D_FEATURE_F32, K, pose, &visible));
        printf("frame %d: %zu of %d points visible\n", frame, visible, n);
    }
    float *fused = malloc(sizeof(float) * (size_t)n * DIM);
    uint8_t *mask = malloc((size_t)n);
    CHECK(ov3d_fusion_snapshot(fusion, fused, (size_t)n * DIM, mask, (size_t)n, NULL, 0));

    /* 3. Vocabulary from the host's own text embeddings; labels, scores, a heat-map. */
    ov3d_vocabulary *vocab = NULL;
    CHECK(ov3d_vocabulary_from_embeddings(words, &embed[0][0], N_WORDS, DIM, &vocab));
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)n);
    float *scores = malloc(sizeof(float) * (size_t)n);
    float *heat = malloc(sizeof(float) * (size_t)n);
    CHECK(ov3d_vocabulary_classify(vocab, fused, (size_t)n, DIM, 0, labels, scores));
    CHECK(ov3d_vocabulary_heatmap(vocab, 3, fused, (size_t)n, DIM, heat, (size_t)n));
    double max_heat = -1;
    for (int i = 0; i < n; i++) if (mask[i] && heat[i] > max_heat) max_heat = heat[i];
    printf("\"%s\": highest similarity %.2f (nothing like it in view)\n", words[3], max_heat);

    /* 4. Superpoints on the cloud, a majority vote, and the score against ground truth. */
    ov3d_cloud *cloud = NULL;
    CHECK(ov3d_cloud_from_points(&view, &cloud));
    ov3d_superpoint_params sp = ov3d_superpoint_default_params();
    sp.method = OV3D_SUPERPOINTS_GRAPH_KNN;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)n), n_seg = 0;
    CHECK(ov3d_superpoints_compute(cloud, &sp, ids, (size_t)n, &n_seg));
    for (int i = 0; i < n; i++) if (!mask[i]) labels[i] = -1; /* unseen points abstain */
    int32_t *seg_labels = malloc(sizeof(int32_t) * (size_t)(n_seg > 0 ? n_seg : 1));
    CHECK(ov3d_superpoints_vote(ids, (size_t)n, n_seg, labels, scores, 0, seg_labels, NULL, (size_t)n_seg));
    for (int i = 0; i < n; i++) if (ids[i] >= 0 && seg_labels[ids[i]] >= 0) labels[i] = seg_labels[ids[i]];
    for (int i = 0; i < n; i++) if (labels[i] < 0) labels[i] = 255;
    ov3d_eval_result ev = {0};
    ev.struct_size = sizeof ev;
    double iou[N_WORDS];
    CHECK(ov3d_evaluate(labels, gt, (size_t)n, N_WORDS, 255, 0, &ev, iou, NULL, N_WORDS));
    printf("%d superpoints; mIoU %.3f (wall %.3f, floor %.3f) over %lld points\n", n_seg, ev.miou, iou[0], iou[1],
           (long long)ev.n_evaluated_points);

    ov3d_cloud_free(cloud);
    ov3d_vocabulary_free(vocab);
    ov3d_fusion_free(fusion);
    free(pts); free(gt); free(fused); free(mask); free(labels); free(scores); free(heat); free(ids); free(seg_labels);
    return ev.miou > 0.9 ? 0 : 1;
}
