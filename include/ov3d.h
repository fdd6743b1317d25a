/*
 * ov3d.h — open-vocabulary 3D scene understanding for robots. C99 public API of libov3d.so.
 *
 * Usage: label every point of a robot's cloud and find the fire extinguisher. This example is
 * compiled by the test suite (tests/abi/header_example_test.sh), from BEGIN to END:
 *
 * BEGIN EXAMPLE
 *     #include <ov3d.h>
 *     #include <stdio.h>
 *     #include <stdlib.h>
 *
 *     typedef struct { float x, y, z, intensity; } robot_point;   // any layout: a stride says it
 *
 *     // `emb`: n_words x dim text embeddings (CLIP), e.g. from ov3d_text_encode or a file.
 *     int label_cloud(const robot_point *cloud, size_t n, const char *checkpoint,
 *                     const char *const *words, const float *emb, size_t n_words, size_t dim) {
 *         if (ov3d_check_abi(OV3D_ABI_VERSION) != OV3D_OK) { puts(ov3d_last_error()); return 1; }
 *         ov3d_model *model = NULL;        // immutable: load once, share between threads
 *         ov3d_session *session = NULL;    // one per thread
 *         ov3d_vocabulary *voc = NULL;
 *         int32_t *labels = malloc(n * sizeof *labels);
 *         float *scores = malloc(n * sizeof *scores), *heat = malloc(n * sizeof *heat);
 *         int rc = 1;
 *         if (!labels || !scores || !heat) goto done;
 *         if (ov3d_model_load(checkpoint, NULL, &model) != OV3D_OK) goto done;
 *         if (ov3d_session_create(model, NULL, &session) != OV3D_OK) goto done;
 *         if (ov3d_vocabulary_from_embeddings(words, emb, n_words, dim, &voc) != OV3D_OK) goto done;
 *         ov3d_points pts = ov3d_points_init(&cloud[0].x, n, sizeof(robot_point));   // borrowed, no copy
 *         if (ov3d_segment(session, &pts, voc, NULL, labels, n, scores, n, NULL, 0, NULL, 0, NULL) != OV3D_OK)
 *             goto done;
 *         printf("point 0: %s (cosine %.3f)\n", labels[0] >= 0 ? words[labels[0]] : "(skipped)", scores[0]);
 *         // Heat-map of word 0 from the same network run (milliseconds):
 *         if (ov3d_query(session, emb, dim, heat, n) != OV3D_OK) goto done;
 *         rc = 0;
 *     done:
 *         if (rc) fprintf(stderr, "ov3d: %s\n", ov3d_last_error());   // thread-local message
 *         ov3d_vocabulary_free(voc);
 *         ov3d_session_free(session);
 *         ov3d_model_free(model);
 *         free(labels); free(scores); free(heat);
 *         return rc;
 *     }
 * END EXAMPLE
 *
 * Conventions (all functions):
 *  - Status: functions return ov3d_status (int32). On failure the message of the last failing
 *    call on *this thread* is ov3d_last_error(); it stays valid until the next ov3d call on the
 *    same thread. Success clears it.
 *  - Handles are opaque. Every create or load function has a matching free function; free(NULL) is a no-op. Passing a
 *    handle of the wrong type, a freed handle or a pointer ov3d never returned is reported as
 *    OV3D_ERR_INVALID_ARGUMENT (live handles are registered and checked before use); a *_free
 *    of such a pointer frees nothing and sets ov3d_last_status(). A freed handle whose address
 *    the allocator has given to a new handle of the same type cannot be told from it
 *    (docs/robustness.md): do not use handles after freeing them.
 *  - Buffers passed in are borrowed for the duration of the call only (never retained), with an
 *    explicit element count and, for point attributes, a stride in bytes. Outputs are written
 *    into caller buffers whose capacity the caller states, or held by a result object and
 *    exposed through accessors whose pointers live as long as that object. The caller never
 *    free()s memory returned by ov3d.
 *  - Params structs start with `uint32_t struct_size`; obtain them from *_default_params(),
 *    which fills struct_size. A struct from an older header (smaller size) is accepted; a size
 *    the library does not know is OV3D_ERR_INVALID_ARGUMENT. Passing NULL means defaults.
 *  - Threads: unless stated otherwise, functions on *distinct* objects may run concurrently;
 *    models are immutable after load and may be shared by any number of threads; sessions,
 *    results, fusion sessions and clouds must not be used by two threads at once.
 *  - Sizing threads: share one model, give each thread its own session; with S sessions running
 *    at once on C cores give each session about C / S threads (on 2 cores, two sessions of 2
 *    threads each ran at 0.73-0.97x of running them one after the other: more threads than
 *    cores only makes them compete). Results do not depend on how many sessions run at once.
 *  - Thread counts: `n_threads` in params (0 = the process default set by
 *    ov3d_set_num_threads, which itself defaults to all cores) also sets OpenBLAS's thread count
 *    for the duration of the call.
 *  - Long calls take an optional ov3d_progress_callback; returning non-zero from it cancels the
 *    call, which then returns OV3D_ERR_CANCELLED and leaves its outputs unspecified.
 */
#ifndef OV3D_H
#define OV3D_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==================================================================================== */
/* Core: versions, status, errors, logging, threads                                      */
/* ==================================================================================== */

#define OV3D_VERSION_MAJOR 0
#define OV3D_VERSION_MINOR 1
#define OV3D_VERSION_PATCH 0
#define OV3D_VERSION_STRING "0.1.0"
/** Incremented on every incompatible change of this header's ABI. */
#define OV3D_ABI_VERSION 1

/** Status codes. 0 is success; errors are negative. */
typedef enum ov3d_status {
    OV3D_OK = 0,
    OV3D_ERR_INVALID_ARGUMENT = -1, /**< NULL where not allowed, bad size/stride/dims, NaN, ... */
    OV3D_ERR_IO = -2,               /**< a file could not be opened, read or written */
    OV3D_ERR_FORMAT = -3,           /**< a file or buffer is malformed */
    OV3D_ERR_UNSUPPORTED = -4,      /**< valid but not supported (dtype, variant, version) */
    OV3D_ERR_OUT_OF_MEMORY = -5,    /**< an allocation failed or a size limit was hit */
    OV3D_ERR_CANCELLED = -6,        /**< a progress callback asked to stop */
    OV3D_ERR_INTERNAL = -7          /**< a bug in ov3d; please report with the message */
} ov3d_status;

/** Library version "major.minor.patch". Static storage. Thread-safe. */
const char *ov3d_version(void);

/** Writes the library's version numbers; any pointer may be NULL. Thread-safe. */
void ov3d_version_numbers(int32_t *major, int32_t *minor, int32_t *patch);

/** The ABI version the library implements. Thread-safe. */
uint32_t ov3d_abi_version(void);

/** Returns OV3D_OK if the library implements `header_abi_version` (pass OV3D_ABI_VERSION),
 *  else OV3D_ERR_UNSUPPORTED with a message. Thread-safe. */
int32_t ov3d_check_abi(uint32_t header_abi_version);

/** Message of the last failed call on this thread ("" if none). Valid until the next ov3d call
 *  on this thread; never NULL. Thread-safe (thread-local). */
const char *ov3d_last_error(void);

/** Status of the last failed call on this thread (OV3D_OK if the last call succeeded). */
int32_t ov3d_last_status(void);

/** A constant description of a status code ("invalid argument", ...). Never NULL. Thread-safe. */
const char *ov3d_status_string(int32_t status);

/** Log levels. */
typedef enum ov3d_log_level {
    OV3D_LOG_DEBUG = 0,
    OV3D_LOG_INFO = 1,
    OV3D_LOG_WARN = 2,
    OV3D_LOG_ERROR = 3,
    OV3D_LOG_NONE = 4
} ov3d_log_level;

/** Receives log messages. `message` is valid only during the call. May be called from any
 *  thread the library uses; the callback must be thread-safe. */
typedef void (*ov3d_log_callback)(int32_t level, const char *message, void *user_data);

/** Installs a process-wide log callback (NULL restores the default: warnings and errors to
 *  stderr) and the minimum level delivered (an ov3d_log_level; OV3D_LOG_NONE silences).
 *  Thread-safe. */
int32_t ov3d_set_log_callback(ov3d_log_callback callback, void *user_data, int32_t min_level);

/** Progress of a long call: fraction in [0,1] and a short stage name (valid during the call).
 *  Return 0 to continue, non-zero to cancel. Called on the calling thread. */
typedef int (*ov3d_progress_callback)(float fraction, const char *stage, void *user_data);

/** Sets the process-wide default thread count (0 = all cores; at most 256), which params with
 *  n_threads = 0 use; also sets OpenBLAS's thread count. Thread-safe, but affects calls that
 *  start afterwards on every thread. */
int32_t ov3d_set_num_threads(int32_t n_threads);

/** The resolved process-wide default thread count (>= 1). Thread-safe. */
int32_t ov3d_get_num_threads(void);

/** Layout of colour bytes in an ov3d_points view. */
typedef enum ov3d_color_order {
    OV3D_COLOR_RGB = 0, /**< r, g, b bytes (PLY, numpy) */
    OV3D_COLOR_BGR = 1  /**< b, g, r bytes: PCL's packed `rgb` float field / ROS PointCloud2 rgb */
} ov3d_color_order;

/** A borrowed, strided view of the caller's points: no copy is made and nothing is retained
 *  after the call that receives it. Attribute i of point k is read at
 *  `(const char *)attr + k * attr_stride`. A stride of 0 means tightly packed. Optional
 *  attributes are NULL when absent. Build one with ov3d_points_init(). */
typedef struct ov3d_points {
    uint32_t struct_size;    /**< sizeof(ov3d_points), set by ov3d_points_init */
    uint32_t color_order;    /**< an ov3d_color_order */
    size_t count;            /**< number of points (may be 0 only where a function says so) */
    const float *xyz;        /**< x y z (float32), required */
    size_t xyz_stride;       /**< bytes between points; 0 = 12; else >= 12 */
    const uint8_t *rgb;      /**< optional: 3 colour bytes per point in color_order */
    size_t rgb_stride;       /**< 0 = 3; else >= 3 */
    const float *normals;    /**< optional: nx ny nz (float32) */
    size_t normals_stride;   /**< 0 = 12; else >= 12 */
    const float *intensity;  /**< optional: one float32 per point (LiDAR remission) */
    size_t intensity_stride; /**< 0 = 4; else >= 4 */
} ov3d_points;

/** Returns a view of `count` points whose x y z floats start at `xyz` and repeat every
 *  `xyz_stride` bytes (0 = packed), with no optional attributes. Never fails; validation
 *  happens where the view is used. Thread-safe.
 *  Example for a pcl::PointCloud<pcl::PointXYZRGB> c:
 *    ov3d_points v = ov3d_points_init(&c.points[0].x, c.size(), sizeof(pcl::PointXYZRGB));
 *    v.rgb = (const uint8_t *)&c.points[0].rgb; v.rgb_stride = sizeof(pcl::PointXYZRGB);
 *    v.color_order = OV3D_COLOR_BGR; */
ov3d_points ov3d_points_init(const float *xyz, size_t count, size_t xyz_stride);

/* ==================================================================================== */
/* Point clouds (issue 6): borrowed views, cloud objects, file I/O, superpoints           */
/* ==================================================================================== */

/** A point cloud or triangle mesh owned by the library (positions, optional colours, normals,
 *  intensity, labels, scores, faces). Not thread-safe: one thread at a time per cloud. */
typedef struct ov3d_cloud ov3d_cloud;

/** File formats for ov3d_cloud_save. */
typedef enum ov3d_cloud_format {
    OV3D_FORMAT_AUTO = 0,                  /**< from the extension: .pcd binary, .ply binary LE, .npy */
    OV3D_FORMAT_PCD_ASCII = 1,
    OV3D_FORMAT_PCD_BINARY = 2,
    OV3D_FORMAT_PCD_BINARY_COMPRESSED = 3,
    OV3D_FORMAT_PLY_ASCII = 4,
    OV3D_FORMAT_PLY_BINARY_LE = 5,
    OV3D_FORMAT_PLY_BINARY_BE = 6,
    OV3D_FORMAT_NPY = 7,                   /**< float32 (N,3), or (N,6) x y z r g b with colours */
    OV3D_FORMAT_BIN = 8                    /**< raw float32 x y z intensity (KITTI .bin) */
} ov3d_cloud_format;

/** Options for ov3d_cloud_load. */
typedef struct ov3d_cloud_load_params {
    uint32_t struct_size;  /**< sizeof(ov3d_cloud_load_params) */
    int32_t drop_nan;      /**< 1: drop points with NaN/Inf coordinates (organized clouds) and keep
                                the index map (ov3d_cloud_index_map); 0 (default): keep them */
    int32_t bin_columns;   /**< float32 per point of a .bin sweep: 4 (KITTI), 5 (nuScenes), 0 = by name */
} ov3d_cloud_load_params;

/** Default load options. Thread-safe. */
ov3d_cloud_load_params ov3d_cloud_load_default_params(void);

/** Loads a PCD (ascii/binary/binary_compressed), PLY (ascii/binary LE/BE; with faces: a mesh),
 *  NumPy .npy (N,>=3) or LiDAR .bin file. Fields read: x y z, rgb/rgba or red green blue,
 *  normals, intensity, label, score. The parsers are hardened against malformed files (errors,
 *  never crashes). `params` may be NULL. On success *out owns a new cloud (ov3d_cloud_free).
 *  Thread-safe. */
int32_t ov3d_cloud_load(const char *path, const ov3d_cloud_load_params *params, ov3d_cloud **out);

/** Copies a borrowed points view (x y z required and finite; rgb, normals, intensity optional)
 *  into a new cloud. Thread-safe. */
int32_t ov3d_cloud_from_points(const ov3d_points *points, ov3d_cloud **out);

/** Writes the cloud (labels, scores, colours, normals, intensity when present; faces for PLY).
 *  PCD files are written natively, in the bytes pcl::PCDWriter writes (PCL reads them). `format`
 *  is an ov3d_cloud_format.
 *  Not thread-safe for the same cloud. */
int32_t ov3d_cloud_save(const ov3d_cloud *cloud, const char *path, int32_t format);

/** Frees a cloud and every pointer its accessors returned. NULL is a no-op. */
void ov3d_cloud_free(ov3d_cloud *cloud);

/** Number of points (vertices). */
int32_t ov3d_cloud_count(const ov3d_cloud *cloud, size_t *count);

/** Organized clouds: width and height (0 x 0 when unorganized). */
int32_t ov3d_cloud_organization(const ov3d_cloud *cloud, uint32_t *width, uint32_t *height);

/** Borrowed attribute arrays, valid until the cloud is freed or modified by
 *  ov3d_cloud_set_labels. *out is set to NULL (with OV3D_OK) when the attribute is absent.
 *  positions/normals: 3 floats per point; colors: 3 bytes r g b per point; intensity, labels:
 *  one per point. */
int32_t ov3d_cloud_positions(const ov3d_cloud *cloud, const float **out);
int32_t ov3d_cloud_colors(const ov3d_cloud *cloud, const uint8_t **out);
int32_t ov3d_cloud_normals(const ov3d_cloud *cloud, const float **out);
int32_t ov3d_cloud_intensity(const ov3d_cloud *cloud, const float **out);
int32_t ov3d_cloud_labels(const ov3d_cloud *cloud, const int32_t **out);

/** Triangles (3 vertex indices each) of a mesh; *faces NULL and *n_faces 0 without faces. */
int32_t ov3d_cloud_faces(const ov3d_cloud *cloud, const int32_t **faces, size_t *n_faces);

/** After loading with drop_nan: the file index of every kept point (*count = ov3d_cloud_count);
 *  *map NULL and *count 0 when no point was dropped. */
int32_t ov3d_cloud_index_map(const ov3d_cloud *cloud, const int32_t **map, size_t *count);

/** Sets per-point labels (and optional scores; NULL = none) for writing a segmented cloud;
 *  with colorize = 1 the colours become a fixed colour per label. `count` must equal the point
 *  count. Invalidates pointers from earlier accessor calls. */
int32_t ov3d_cloud_set_labels(ov3d_cloud *cloud, const int32_t *labels, const float *scores,
                              size_t count, int32_t colorize);

/** Superpoint methods. */
typedef enum ov3d_superpoint_method {
    OV3D_SUPERPOINTS_MESH = 0,           /**< Felzenszwalb on mesh faces (ScanNet segmentator semantics) */
    OV3D_SUPERPOINTS_GRAPH_KNN = 1,      /**< same criterion on a k-nearest-neighbour graph */
    OV3D_SUPERPOINTS_GRAPH_VOXEL = 2,    /**< same criterion on a voxel-adjacency graph */
    OV3D_SUPERPOINTS_VCCS = 3,           /**< PCL supervoxels */
    OV3D_SUPERPOINTS_REGION_GROWING = 4  /**< PCL region growing on normals */
} ov3d_superpoint_method;

/** Superpoint parameters; fields a method does not use are ignored. */
typedef struct ov3d_superpoint_params {
    uint32_t struct_size;          /**< sizeof(ov3d_superpoint_params) */
    int32_t method;                /**< an ov3d_superpoint_method (default MESH) */
    float k_thresh;                /**< Felzenszwalb k (mesh, graph): 0.01 */
    int32_t seg_min_verts;         /**< merge segments smaller than this (mesh, graph): 20 */
    int32_t graph_k;               /**< graph kNN neighbours: 10 */
    float graph_voxel;             /**< graph voxel size in metres: 0.05 */
    int32_t normal_k;              /**< neighbours for normal estimation (graph, region growing): 16 */
    float voxel_resolution;        /**< VCCS: 0.05 */
    float seed_resolution;         /**< VCCS: 0.25 */
    float color_importance;        /**< VCCS: 0.2 */
    float spatial_importance;      /**< VCCS: 0.4 */
    float normal_importance;       /**< VCCS: 1.0 */
    int32_t use_single_camera_transform; /**< VCCS: 0 */
    int32_t rg_k;                  /**< region growing neighbours: 30 */
    int32_t rg_min_cluster_size;   /**< region growing: 50 */
    int32_t rg_max_cluster_size;   /**< region growing: 1000000 */
    float rg_smoothness_deg;       /**< region growing smoothness threshold in degrees: 3 */
    float rg_curvature_threshold;  /**< region growing: 1.0 */
} ov3d_superpoint_params;

/** Default superpoint parameters (mesh method, segmentator defaults). Thread-safe. */
ov3d_superpoint_params ov3d_superpoint_default_params(void);

/** Computes superpoints: writes one segment id per point into ids_out (capacity
 *  ids_capacity >= point count), dense in 0..K-1 (mesh: in ascending order of the segment's root
 *  vertex), -1 for points a method leaves unassigned; *n_segments_out = K (may be NULL).
 *  `params` NULL means defaults. Thread-safe for distinct clouds. */
int32_t ov3d_superpoints_compute(const ov3d_cloud *cloud, const ov3d_superpoint_params *params,
                                 int32_t *ids_out, size_t ids_capacity, int32_t *n_segments_out);

/** Mean of each segment's point features: features n_points x dim (row-major), out
 *  n_segments x dim (capacity in floats). ids in -1..n_segments-1 (-1 ignored). In all the
 *  superpoint operations 0 <= n_segments <= n_points. Thread-safe. */
int32_t ov3d_superpoints_mean_pool(const int32_t *ids, size_t n_points, int32_t n_segments,
                                   const float *features, size_t dim, float *out, size_t out_capacity);

/** Votes one label per segment: mode 0 = majority (ties: smaller label), 1 = largest summed
 *  score. Points with label < 0 abstain; scores may be NULL (1 each). Writes n_segments labels
 *  (-1 for segments without voters) and, if seg_scores_out is not NULL, the mean score of the
 *  winning label's voters. Capacity in elements. Thread-safe. */
int32_t ov3d_superpoints_vote(const int32_t *ids, size_t n_points, int32_t n_segments,
                              const int32_t *labels, const float *scores, int32_t mode,
                              int32_t *seg_labels_out, float *seg_scores_out, size_t out_capacity);

/** Broadcasts per-segment values (n_segments x dim floats) to points (n_points x dim), `fill`
 *  for id -1. Thread-safe. */
int32_t ov3d_superpoints_broadcast(const int32_t *ids, size_t n_points, int32_t n_segments,
                                   const float *seg_values, size_t dim, float fill,
                                   float *out, size_t out_capacity);

/** Broadcasts per-segment labels to points, `fill` for id -1. Thread-safe. */
int32_t ov3d_superpoints_broadcast_labels(const int32_t *ids, size_t n_points, int32_t n_segments,
                                          const int32_t *seg_labels, int32_t fill,
                                          int32_t *out, size_t out_capacity);

/* ==================================================================================== */
/* Models and sessions (issues 3, 4): checkpoints, MinkUNet inference, results            */
/* ==================================================================================== */

/* ---- MinkUNet models, sessions, results (issue 3) ----------------------------------
 * A model is an immutable MinkUNet (OpenScene / CUA-O3D / SAS 3D network) loaded from a
 * checkpoint; its architecture (MinkUNet14A..34C or any widths) and heads are read from the
 * checkpoint's keys and shapes. A session is a per-thread workspace that runs the model on a
 * point cloud: voxelisation as OpenScene (float64, first point per voxel), the network, and the
 * per-point features of every head through the voxel inverse map.
 * Compute: on x86-64 CPUs with AVX-512F the convolutions and heads run on ov3d's own kernels;
 * elsewhere, or when the environment variable OV3D_KERNELS=blas is set before the first run,
 * on OpenBLAS (same results within float rounding). */

/** An immutable network; share it between any number of threads and sessions. */
typedef struct ov3d_model ov3d_model;
/** A per-thread inference workspace bound to one model (keeps the model alive). */
typedef struct ov3d_session ov3d_session;
/** The output of one run; owns every buffer its accessors return. */
typedef struct ov3d_result ov3d_result;

/** Options for ov3d_model_load. */
typedef struct ov3d_model_params {
    uint32_t struct_size; /**< sizeof(ov3d_model_params), set by ov3d_model_default_params */
    int32_t n_threads;    /**< reserved for parallel loading; 0 = process default */
} ov3d_model_params;

/** Default model params (struct_size filled). Thread-safe. */
ov3d_model_params ov3d_model_default_params(void);

/** Loads a MinkUNet checkpoint (torch .pth / .pth.tar zip, or safetensors), strips the `net3d.`,
 *  `module.net3d.` or `module.` prefix, infers the architecture, validates every key and shape
 *  (the error lists missing, unexpected and mis-shaped keys) and folds BatchNorm. `params` may be
 *  NULL. On success *out_model owns a new model (free with ov3d_model_free); on failure it is set
 *  to NULL. Thread-safe. */
int32_t ov3d_model_load(const char *path, const ov3d_model_params *params, ov3d_model **out_model);

/** Releases a model (NULL is a no-op). Sessions created from it keep it alive until they are freed. */
void ov3d_model_free(ov3d_model *model);

/** Number of output heads (1 for OpenScene/SAS, 3 for CUA-O3D, plus any CUA-O3D linear-probe
 *  heads the checkpoint holds: `final_seg` (on cat(final, final_dinov2, final_sd)),
 *  `final_seg_lseg`, `final_seg_dinov2`, `final_seg_stablediffusion`, listed after the feature
 *  heads; their output is class logits. A file may register probes it never trained, e.g. all
 *  three `final_seg_*` in CUA-O3D's LsegProbSeg model: pick the probe by name). Thread-safe. */
int32_t ov3d_model_head_count(const ov3d_model *model, int32_t *out_count);

/** Output dimension of head `head` (e.g. 512 LSeg, 768 OpenSeg, 1024 DINOv2, 3200 SD; the class
 *  count for a probe head). Thread-safe. */
int32_t ov3d_model_head_dim(const ov3d_model *model, int32_t head, int32_t *out_dim);

/** Name of head `head` ("final", "final_dinov2", "final_sd", "final_seg_lseg", ...: the
 *  checkpoint's key); the string lives as long as the
 *  model. Thread-safe. */
int32_t ov3d_model_head_name(const ov3d_model *model, int32_t head, const char **out_name);

/** Architecture name ("MinkUNet18A", or "MinkUNet(custom)" for other widths); the string lives as
 *  long as the model. Thread-safe. */
int32_t ov3d_model_variant(const ov3d_model *model, const char **out_name);

/** Number of input feature channels per voxel (3). Thread-safe. */
int32_t ov3d_model_in_channels(const ov3d_model *model, int32_t *out_channels);

/** Options for ov3d_session_create. */
typedef struct ov3d_session_params {
    uint32_t struct_size;             /**< sizeof(ov3d_session_params) */
    int32_t n_threads;                /**< threads for runs (0 = process default); also OpenBLAS's */
    float voxel_size;                 /**< metres per voxel (default 0.02 indoor; 0.05 outdoor); > 0 */
    ov3d_progress_callback progress;  /**< optional; called per layer during runs; non-zero cancels */
    void *progress_user_data;         /**< passed to `progress` */
    /* ABI 1.x addition (callers built against the shorter struct keep working: struct_size). */
    uint64_t max_memory_bytes;        /**< 0 (default): the OV3D_MAX_MEMORY environment variable, else
                                           no limit. Else runs whose projected peak memory (estimated
                                           from the point and voxel counts before they allocate)
                                           exceeds this many bytes fail with OV3D_ERR_OUT_OF_MEMORY,
                                           the message saying what the run would need. The address
                                           space left under RLIMIT_AS (ulimit -v) is always a limit. */
} ov3d_session_params;

/** Default session params: n_threads 0, voxel_size 0.02, no progress callback, max_memory_bytes 0.
 *  Thread-safe. */
ov3d_session_params ov3d_session_default_params(void);

/** Creates a session (work buffers reused across runs) for `model`, which it retains. `params`
 *  may be NULL. *out_session is NULL on failure. Thread-safe; the session itself must be used by
 *  one thread at a time. */
int32_t ov3d_session_create(const ov3d_model *model, const ov3d_session_params *params, ov3d_session **out_session);

/** Frees a session and its work buffers (NULL is a no-op). */
void ov3d_session_free(ov3d_session *session);

/** Options of one run. */
typedef struct ov3d_run_params {
    uint32_t struct_size;   /**< sizeof(ov3d_run_params) */
    int32_t head;           /**< -1 (default): all heads; else only this head is computed */
    float voxel_size;       /**< 0 (default): the session's voxel size; else > 0 metres */
    int32_t augment;        /**< non-zero: OpenScene's random rotation/scale augmentation (default 0 = off) */
    uint64_t seed;          /**< augmentation seed */
} ov3d_run_params;

/** Default run params (all heads, session voxel size, no augmentation). Thread-safe. */
ov3d_run_params ov3d_run_default_params(void);

/** Voxelises `points` (borrowed for the call; xyz must be finite; the cloud may span at most
 *  2^20 voxels per axis), runs the network with constant-one input features and returns the
 *  result in *out_result (free with ov3d_result_free; NULL on failure). `params` may be NULL.
 *  Not thread-safe per session. Returns OV3D_ERR_CANCELLED if the progress callback cancels. */
int32_t ov3d_session_run(ov3d_session *session, const ov3d_points *points, const ov3d_run_params *params,
                         ov3d_result **out_result);

/** Runs the network on `count` unique integer voxel coordinates (x y z per row, each within
 *  -2^20 <= c < 2^20,
 *  borrowed) with `channels` input features per row (`features` may be NULL for ones; else
 *  channels must equal the model's input channels). Result rows follow the input rows; the result
 *  has one "point" per voxel. Not thread-safe per session. */
int32_t ov3d_session_run_voxels(ov3d_session *session, const int32_t *coords, size_t count, const float *features,
                                size_t channels, const ov3d_run_params *params, ov3d_result **out_result);

/** Frees a result and every buffer its accessors returned (NULL is a no-op). */
void ov3d_result_free(ov3d_result *result);

/** Number of input points (rows of ov3d_result_features). */
int32_t ov3d_result_point_count(const ov3d_result *result, size_t *out_count);

/** Number of occupied voxels (rows of ov3d_result_voxel_features). */
int32_t ov3d_result_voxel_count(const ov3d_result *result, size_t *out_count);

/** Feature dimension of model head `head` in this result (error if the run did not compute it). */
int32_t ov3d_result_feature_dim(const ov3d_result *result, int32_t head, int32_t *out_dim);

/** Per-point features of model head `head`: point_count × dim row-major float32, raw network output
 *  (normalized = 0) or L2-normalised per row (normalized != 0). The buffer is owned by the result,
 *  created on first request, and valid until ov3d_result_free. Not thread-safe per result. */
int32_t ov3d_result_features(ov3d_result *result, int32_t head, int32_t normalized, const float **out_features);

/** Per-voxel features of head `head` (voxel_count × dim), as ov3d_result_features. */
int32_t ov3d_result_voxel_features(ov3d_result *result, int32_t head, int32_t normalized, const float **out_features);

/** Voxel row of every point (point_count int32), owned by the result. */
int32_t ov3d_result_voxel_index(const ov3d_result *result, const int32_t **out_index);

/** Integer voxel coordinates (voxel_count × 3 int32, x y z, shifted to min 0 for point runs),
 *  owned by the result. */
int32_t ov3d_result_voxel_coords(const ov3d_result *result, const int32_t **out_coords);

/* ---- Checkpoints (issue 4): read PyTorch .pth / .pth.tar and safetensors, convert ---------- */
/* Files are parsed as hostile input: nothing in a checkpoint is ever executed (pickles may only
 * name tensors, storages and plain containers), every size is bounded, and zip entries are
 * CRC-checked. Formats are detected by content: torch >= 1.6 zip, legacy torch, safetensors. */
/** Options of ov3d_convert. Obtain with ov3d_convert_default_params(). */
typedef struct ov3d_convert_params {
    uint32_t struct_size;        /**< sizeof(ov3d_convert_params) */
    int32_t strip_prefixes;      /**< non-zero: drop the `module.` / `net3d.` key prefixes (default 0) */
    int32_t verify_crc;          /**< non-zero: check zip CRC-32s (default 1) */
    int32_t n_threads;           /**< threads for CRC checks; 0 = process default */
    double voxel_size;           /**< metres, recorded as ov3d.voxel_size; 0 = not recorded */
    const char *architecture;    /**< recorded as ov3d.architecture; NULL = inferred from keys/shapes */
    const char *const *labels;   /**< optional label set (UTF-8), recorded as ov3d.label_set; NULL = none */
    size_t n_labels;             /**< number of entries in labels */
} ov3d_convert_params;
/** Default convert options (struct_size filled, verify_crc = 1). Thread-safe. */
ov3d_convert_params ov3d_convert_default_params(void);
/** Converts a checkpoint (torch zip, legacy torch or safetensors) at `in_path` to a safetensors
 *  file at `out_path` (written atomically) with ov3d metadata: ov3d.format_version,
 *  ov3d.architecture and ov3d.heads (inferred for MinkUNet checkpoints), optional label set and
 *  voxel size, plus the checkpoint's scalar entries (epoch, best_iou). Tensors are copied bit for
 *  bit. `params` may be NULL (defaults). Strings are borrowed for the call. Thread-safe. */
int32_t ov3d_convert(const char *in_path, const char *out_path, const ov3d_convert_params *params);
/** An opened checkpoint: its tensors (name, dtype, shape, values) and metadata. Immutable; may
 *  be used by several threads at once. */
typedef struct ov3d_checkpoint ov3d_checkpoint;
/** Opens and validates a checkpoint file of any supported format (the file is memory-mapped for
 *  the handle's lifetime). On success `*out` receives a handle to free with
 *  ov3d_checkpoint_free(); on failure `*out` is set to NULL. Thread-safe. */
int32_t ov3d_checkpoint_open(const char *path, ov3d_checkpoint **out);
/** Frees a checkpoint; NULL is a no-op. Pointers obtained from it become invalid. */
void ov3d_checkpoint_free(ov3d_checkpoint *ckpt);
/** Number of tensors. */
int32_t ov3d_checkpoint_count(const ov3d_checkpoint *ckpt, size_t *out_count);
/** Describes tensor `index` (file order, < count). Every output pointer may be NULL.
 *  `*out_name` and `*out_dtype` ("float32", "float16", "bfloat16", "float64", "int64", "int32",
 *  "uint8", "bool", ...) are owned by the checkpoint and valid until it is freed. `*out_rank`
 *  receives the rank; the first min(rank, shape_capacity) dimensions go to `out_shape`. */
int32_t ov3d_checkpoint_tensor(const ov3d_checkpoint *ckpt, size_t index, const char **out_name,
                               const char **out_dtype, size_t *out_rank, int64_t *out_shape,
                               size_t shape_capacity);
/** Finds a tensor by exact name; `*out_index` receives its index. OV3D_ERR_INVALID_ARGUMENT
 *  (with a message naming the key) when absent. */
int32_t ov3d_checkpoint_find(const ov3d_checkpoint *ckpt, const char *name, size_t *out_index);
/** Copies tensor `index` converted to float32 (row-major) into `out`, whose capacity in floats
 *  must be at least the tensor's element count (checked). Integer and bool tensors are converted. */
int32_t ov3d_checkpoint_read_f32(const ov3d_checkpoint *ckpt, size_t index, float *out, size_t out_capacity);
/** Metadata value of `key` (e.g. "epoch", "best_iou", "ov3d.architecture"), or NULL in
 *  `*out_value` when absent (still OV3D_OK). The string is owned by the checkpoint. */
int32_t ov3d_checkpoint_metadata(const ov3d_checkpoint *ckpt, const char *key, const char **out_value);
/** CUA-O3D's learned per-teacher uncertainties (the `params` [3] vector of an
 *  awl_model/model_*.pth.tar: LSeg, DINOv2, Stable Diffusion) into `out_sigmas` (capacity >= 3).
 *  OV3D_ERR_FORMAT if the checkpoint is not such a file. */
int32_t ov3d_checkpoint_uncertainty_weights(const ov3d_checkpoint *ckpt, float *out_sigmas, size_t capacity);

/* ==================================================================================== */
/* Text (issue 5): CLIP tokenizer, text encoder, vocabularies                            */
/* ==================================================================================== */

/* A CLIP text encoder (tokenizer + text transformer) loaded from weights the user provides, and
 * vocabularies: named, L2-normalised word embeddings that per-point features are scored against
 * (cosine similarity). Vocabularies come from texts (encoded here) or from raw embeddings (hosts
 * that bring their own text model). Both objects are immutable after creation: any number of
 * threads may use one at once (the encoder's embedding cache is internally locked).
 *
 *     ov3d_text_encoder *enc = NULL;
 *     ov3d_text_encoder_load("ViT-B-32.pt", "bpe_simple_vocab_16e6.txt.gz", NULL, &enc);
 *     ov3d_text_encode_params tp = ov3d_text_encode_default_params();
 *     tp.prompt_template = "a {} in a scene";
 *     const char *words[] = {"wall", "floor", "chair"};
 *     ov3d_vocabulary *voc = NULL;
 *     ov3d_vocabulary_from_texts(enc, words, 3, &tp, &voc);
 *     ov3d_vocabulary_classify(voc, feats, n_points, 512, 0, labels, scores);
 *     ov3d_vocabulary_free(voc);
 *     ov3d_text_encoder_free(enc);
 */

/** A loaded CLIP text encoder (opaque, immutable, thread-safe). */
typedef struct ov3d_text_encoder ov3d_text_encoder;
/** A vocabulary: names + unit-length embeddings (opaque, immutable, thread-safe). */
typedef struct ov3d_vocabulary ov3d_vocabulary;

/** The MLP activation of a text tower (not stored in open_clip state dicts). */
typedef enum ov3d_text_activation {
    OV3D_TEXT_ACTIVATION_AUTO = 0,       /**< from the file (HF config.json / ov3d metadata), else QuickGELU */
    OV3D_TEXT_ACTIVATION_QUICK_GELU = 1, /**< OpenAI CLIP (ViT-B/32, ViT-L/14 as used by OpenScene) */
    OV3D_TEXT_ACTIVATION_GELU = 2        /**< open_clip models trained without QuickGELU (e.g. LAION) */
} ov3d_text_activation;

/** Options for ov3d_text_encoder_load. */
typedef struct ov3d_text_encoder_params {
    uint32_t struct_size; /**< sizeof(ov3d_text_encoder_params) */
    int32_t heads;        /**< attention heads; 0 = from the file, else width / 64 (OpenAI's rule) */
    int32_t activation;   /**< an ov3d_text_activation */
} ov3d_text_encoder_params;

/** Defaults: heads 0 (auto), activation AUTO. Thread-safe. */
ov3d_text_encoder_params ov3d_text_encoder_default_params(void);

/** Loads a CLIP text tower and the CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt.gz, gzip or
 *  plain). `weights_path`: an open_clip/OpenAI state dict (torch.save zip .pt/.pth/.bin, or
 *  safetensors), a Hugging Face CLIPTextModelWithProjection/CLIPModel `model.safetensors` (its
 *  config.json beside it is read) or save_pretrained directory, or ov3d's own safetensors.
 *  Widths, layers and vocabulary size are read from the weights. A file that is not a CLIP text
 *  model, or whose vocabulary size differs from the tokenizer's, is OV3D_ERR_FORMAT.
 *  `params` may be NULL (defaults). On success *out_encoder owns the encoder (free with
 *  ov3d_text_encoder_free); on failure it is set to NULL. Thread-safe. */
int32_t ov3d_text_encoder_load(const char *weights_path, const char *vocab_path,
                               const ov3d_text_encoder_params *params, ov3d_text_encoder **out_encoder);

/** Frees an encoder (NULL is a no-op). Vocabularies made from it stay valid. */
void ov3d_text_encoder_free(ov3d_text_encoder *encoder);

/** Writes the embedding dimension (512 for ViT-B/32, 768 for ViT-L/14). Thread-safe. */
int32_t ov3d_text_encoder_dim(const ov3d_text_encoder *encoder, size_t *out_dim);

/** Writes the 77 CLIP token ids of `text` (start token, BPE ids, end token, zero padding;
 *  truncated keeping the end token) into `out_ids` (capacity >= 77). Texts must be valid UTF-8
 *  of at most 16384 bytes. Thread-safe. */
int32_t ov3d_text_tokenize(const ov3d_text_encoder *encoder, const char *text, int32_t *out_ids, size_t out_capacity);

/** How texts are encoded. */
typedef struct ov3d_text_encode_params {
    uint32_t struct_size;        /**< sizeof(ov3d_text_encode_params) */
    int32_t n_threads;           /**< 0 = process default */
    int32_t normalize;           /**< non-zero: L2-normalise each embedding (default 1) */
    int32_t round_fp16;          /**< non-zero: round values to IEEE half after normalising, as
                                      OpenScene's fp16 CLIP output (default 0) */
    const char *prompt_template; /**< e.g. "a {} in a scene" ({} = the text); NULL = bare text
                                      (default). Borrowed for the call. */
    int32_t use_cache;           /**< non-zero: answer from / fill the encoder's embedding cache
                                      (default 1); 0 always runs the model (benchmarks) */
} ov3d_text_encode_params;

/** Defaults: n_threads 0, normalize 1, round_fp16 0, prompt_template NULL, use_cache 1. Thread-safe. */
ov3d_text_encode_params ov3d_text_encode_default_params(void);

/** Encodes `n_texts` (1...65536) UTF-8 strings into `out` (row-major n_texts x dim floats;
 *  `out_capacity` in floats must be >= n_texts * dim). Embeddings are cached by final prompt text
 *  inside the encoder. Invalid UTF-8, strings over 16384 bytes, NULL entries and an empty batch
 *  are OV3D_ERR_INVALID_ARGUMENT. `params` may be NULL. Thread-safe. */
int32_t ov3d_text_encode(ov3d_text_encoder *encoder, const char *const *texts, size_t n_texts,
                         const ov3d_text_encode_params *params, float *out, size_t out_capacity);

/** A vocabulary of `n_names` words encoded by `encoder` (through params->prompt_template if set;
 *  always normalised). The names are copied. On success *out_vocabulary owns it
 *  (ov3d_vocabulary_free). Thread-safe. */
int32_t ov3d_vocabulary_from_texts(ov3d_text_encoder *encoder, const char *const *names, size_t n_names,
                                   const ov3d_text_encode_params *params, ov3d_vocabulary **out_vocabulary);

/** The vocabulary of a built-in label set ("scannet20", "matterport21", "matterport40",
 *  "matterport80", "matterport160", "nuscenes16") encoded as OpenScene does: when
 *  params->prompt_template is set (OpenScene: "a {} in a scene"), every name is prompted and
 *  ScanNet's last / Matterport's second-to-last prompt becomes the bare word "other"; nuscenes16
 *  encodes its 43 detail names (vocabulary names are those details; map them with
 *  ov3d_label_set_class_of). Thread-safe. */
int32_t ov3d_vocabulary_from_label_set(ov3d_text_encoder *encoder, const char *label_set,
                                       const ov3d_text_encode_params *params, ov3d_vocabulary **out_vocabulary);

/** The class index of entry `index` of a built-in label set's encoded names (identity except
 *  nuscenes16's detail names -> 16 classes). Thread-safe. */
int32_t ov3d_label_set_class_of(const char *label_set, size_t index, int32_t *out_class);

/** A vocabulary from embeddings the host computed (`n_names` rows of `dim` floats, row-major,
 *  finite, non-zero; they are copied and L2-normalised). `names` may be NULL (names become
 *  "0", "1", ...); else n_names UTF-8 strings, copied. Thread-safe. */
int32_t ov3d_vocabulary_from_embeddings(const char *const *names, const float *embeddings, size_t n_names,
                                        size_t dim, ov3d_vocabulary **out_vocabulary);

/** Frees a vocabulary (NULL is a no-op). */
void ov3d_vocabulary_free(ov3d_vocabulary *vocabulary);

/** Number of words. Thread-safe. */
int32_t ov3d_vocabulary_count(const ov3d_vocabulary *vocabulary, size_t *out_count);

/** Embedding dimension. Thread-safe. */
int32_t ov3d_vocabulary_dim(const ov3d_vocabulary *vocabulary, size_t *out_dim);

/** Name of word `index`: a NUL-terminated UTF-8 string owned by the vocabulary, valid until it is
 *  freed. Thread-safe. */
int32_t ov3d_vocabulary_name(const ov3d_vocabulary *vocabulary, size_t index, const char **out_name);

/** Copies the normalised embeddings (count x dim floats) into `out` (capacity in floats). */
int32_t ov3d_vocabulary_embeddings(const ov3d_vocabulary *vocabulary, float *out, size_t out_capacity);

/** Scores `n_points` feature rows (`dim` floats each, row-major, finite; zero rows score 0):
 *  writes n_points x count cosine similarities into `out_scores` (capacity in floats).
 *  n_threads 0 = process default. Thread-safe. */
int32_t ov3d_vocabulary_scores(const ov3d_vocabulary *vocabulary, const float *features, size_t n_points,
                               size_t dim, int32_t n_threads, float *out_scores, size_t out_capacity);

/** Per point, the best word's index (`out_labels`, n_points int32) and its cosine score
 *  (`out_scores`, n_points floats; may be NULL). Thread-safe. */
int32_t ov3d_vocabulary_classify(const ov3d_vocabulary *vocabulary, const float *features, size_t n_points,
                                 size_t dim, int32_t n_threads, int32_t *out_labels, float *out_scores);

/** Heat-map of one query: the cosine similarity of every point with word `query_index`
 *  (`out`, n_points floats; `out_capacity` >= n_points). Thread-safe. */
int32_t ov3d_vocabulary_heatmap(const ov3d_vocabulary *vocabulary, size_t query_index, const float *features,
                                size_t n_points, size_t dim, float *out, size_t out_capacity);


/* ==================================================================================== */
/* Segmentation (issue 14): labels, scores and heat-maps in one call                      */
/* ==================================================================================== */
/*
 * The pipeline of `ov3d segment` / `ov3d query`: voxelise, run the network (only the scored
 * head), L2-normalise each voxel's feature, score it against the vocabulary (cosine
 * similarity), give every point its voxel's best word. Work is per voxel; memory is the voxel
 * features (kept in the session for queries) plus a few bytes per point. Points with a NaN
 * coordinate (organised clouds) are skipped: label -1, score NaN. Infinite or huge (> 1e6 m)
 * coordinates are an error. Same input, weights and thread count -> same output bit for bit,
 * also when several sessions share one model on several threads.
 *
 *     ov3d_session *s = NULL;
 *     ov3d_session_create(model, NULL, &s);
 *     ov3d_points pts = ov3d_points_init(xyz, n, 0);
 *     int32_t *labels = malloc(n * sizeof *labels);
 *     float *scores = malloc(n * sizeof *scores), *heat = malloc(n * sizeof *heat);
 *     ov3d_segment(s, &pts, vocabulary, NULL, labels, n, scores, n, NULL, 0, NULL, 0, NULL);
 *     ov3d_query(s, fire_extinguisher_embedding, 512, heat, n);   // no second network run
 */

/** Options of ov3d_segment. */
typedef struct ov3d_segment_params {
    uint32_t struct_size;          /**< sizeof(ov3d_segment_params) */
    int32_t head;                  /**< model head to score (default 0, `final`); its dimension must
                                        equal the vocabulary's */
    float voxel_size;              /**< 0 (default): the voxel size recorded in the checkpoint
                                        (ov3d.voxel_size) when it has one, else the session's */
    float temperature;             /**< probabilities = softmax(cosine / temperature) (default 0.01,
                                        CLIP's logit scale 100) */
    const float *fused_features;   /**< optional: per-point 2D features fused from images
                                        (ov3d_fusion_snapshot), n_points x dim, borrowed; NULL = none */
    size_t fused_count;            /**< floats in fused_features (must be n_points x dim) */
    const uint8_t *fused_mask;     /**< optional: n_points bytes, non-zero = the point has a 2D
                                        feature; NULL = "its 2D feature is not all zeros" */
    int32_t fused_mode;            /**< an ov3d_eval_mode combining 2D and 3D (default
                                        OV3D_EVAL_ENSEMBLE_MAX; points without a 2D feature use the
                                        3D one; OV3D_EVAL_FUSION gives them label -1) */
    const int32_t *superpoints;    /**< optional: a superpoint id per point (< 0 = none); every point
                                        of a superpoint takes its majority label. Borrowed. */
    size_t superpoints_count;      /**< entries in superpoints (must be n_points) */
} ov3d_segment_params;

/** Default segment params: head 0, voxel size from the checkpoint or session, temperature
 *  0.01, no 2D features, no superpoints. Thread-safe. */
ov3d_segment_params ov3d_segment_default_params(void);

/** What a segmentation did (optional output of ov3d_segment). Set struct_size first. */
typedef struct ov3d_segment_info {
    uint32_t struct_size;  /**< set to sizeof(ov3d_segment_info) before the call */
    float voxel_size;      /**< metres per voxel used */
    size_t n_points;       /**< input points */
    size_t n_skipped;      /**< points labelled -1 (NaN coordinates; no 2D feature in FUSION mode) */
    size_t n_voxels;       /**< occupied voxels */
    size_t dim;            /**< feature dimension of the scored head */
    double voxelize_ms;    /**< wall-clock milliseconds per stage: input checks + voxelisation */
    double network_ms;     /**< the 3D network (scored head only) */
    double scoring_ms;     /**< normalising + scoring the voxel features (per point with fused 2D
                                features; superpoint votes included) */
    double total_ms;       /**< the whole call inside the library */
    /* ABI 1.x addition (a struct_size without it is accepted; the fields it has are written). */
    double broadcast_ms;   /**< spreading per-voxel labels, scores, probabilities to the points */
} ov3d_segment_info;

/** Segments `points` (borrowed; NaN points are skipped) against `vocabulary` with the session's
 *  model, threads and progress callback, and writes per point (in input order):
 *  out_labels (n_points int32: index into the vocabulary, -1 = skipped), out_scores (n_points
 *  floats: cosine similarity of that word with the point's feature, NaN when skipped),
 *  out_probabilities (n_points x n_words floats, softmax over the vocabulary; zero rows for
 *  skipped points) and out_features (n_points x dim unit-length features of the scored head;
 *  zero rows for skipped points). Every output may be NULL (not computed); otherwise its
 *  capacity in elements must be at least what is written. out_info may be NULL. The session
 *  keeps the result's voxel features for ov3d_query / ov3d_query_text until its next
 *  ov3d_segment (a failed call clears it) or until it is freed. Not thread-safe per session;
 *  sessions sharing one model may run on different threads at once. */
int32_t ov3d_segment(ov3d_session *session, const ov3d_points *points, const ov3d_vocabulary *vocabulary,
                     const ov3d_segment_params *params,
                     int32_t *out_labels, size_t labels_capacity,
                     float *out_scores, size_t scores_capacity,
                     float *out_probabilities, size_t probabilities_capacity,
                     float *out_features, size_t features_capacity,
                     ov3d_segment_info *out_info);

/** A heat-map of the session's last segmentation: the cosine similarity of every point's
 *  feature with `embedding` (dim floats, finite, not all zero; dim must equal the scored head's)
 *  into out_scores (capacity >= n_points; NaN for skipped points). Milliseconds: one dot product
 *  per voxel, no network run. Not thread-safe per session. */
int32_t ov3d_query(ov3d_session *session, const float *embedding, size_t dim, float *out_scores, size_t out_capacity);

/** As ov3d_query for a text, embedded by `encoder` with `params` (prompt template etc.; NULL =
 *  defaults; the encoder's cache answers a repeated text without running the text model). */
int32_t ov3d_query_text(ov3d_session *session, ov3d_text_encoder *encoder, const char *text,
                        const ov3d_text_encode_params *params, float *out_scores, size_t out_capacity);

/* ==================================================================================== */
/* Fusion and evaluation (issue 7): multi-view 2D->3D, multi-teacher, metrics             */
/* ==================================================================================== */

/* ---- Multi-view 2D->3D feature fusion (OpenScene), online sessions --------------------- */

/** An online fusion session: the points, plus running per-point feature sums and view counts.
 *  Memory is N*(3 + feature_dim + 1)*4 bytes whatever the number of frames. Not thread-safe:
 *  one thread at a time per session (internally parallel over points). */
typedef struct ov3d_fusion ov3d_fusion;

/** Element type of a feature map passed to ov3d_fusion_add_frame. */
typedef enum ov3d_feature_dtype {
    OV3D_FEATURE_F32 = 0, /**< float32 */
    OV3D_FEATURE_F16 = 1  /**< IEEE binary16 stored as uint16 */
} ov3d_feature_dtype;

/** Parameters of a fusion session. Defaults are OpenScene's ScanNet values. */
typedef struct ov3d_fusion_params {
    uint32_t struct_size;        /**< sizeof(ov3d_fusion_params), set by the default function */
    int32_t depth_width;         /**< depth image width in pixels (default 640) */
    int32_t depth_height;        /**< depth image height (default 480) */
    int32_t feature_width;       /**< feature map width W' (default 0 = depth_width) */
    int32_t feature_height;      /**< feature map height H' (default 0 = depth_height) */
    int32_t feature_dim;         /**< channels C per feature pixel; required, > 0 (default 0) */
    int32_t cut_bound;           /**< pixels ignored at each border (default 10) */
    int32_t n_threads;           /**< 0 = process default */
    double visibility_threshold; /**< keep iff |depth - z| <= t * depth (default 0.25) */
    double depth_scale;          /**< raw depth units per metre (default 1000) */
} ov3d_fusion_params;

/** Defaults: 640x480, feature map = depth size, feature_dim 0 (must be set), cut 10, vis 0.25,
 *  depth_scale 1000. Thread-safe. */
ov3d_fusion_params ov3d_fusion_default_params(void);

/** Creates a session over `points` (copied; the view is not retained). Algorithm per frame and
 *  point (float64): p_cam = inverse(pose) * p; require z > 0; u = round_half_even(x*fx/z + cx),
 *  v likewise; cut <= u < W-cut and cut <= v < H-cut; d = depth[v*W+u] / depth_scale;
 *  visible iff |d - z| <= visibility_threshold * d (d = 0 never); the feature pixel is the one
 *  of the W'xH' map containing the depth pixel's centre: u' = ((2u+1)*W') / (2W),
 *  v' = ((2v+1)*H') / (2H) in integer arithmetic; sum += feature (float32), count += 1.
 *  Writes the new session to *out (free with ov3d_fusion_free). Thread-safe. */
int32_t ov3d_fusion_create(const ov3d_points *points, const ov3d_fusion_params *params, ov3d_fusion **out);

/** Fuses one frame. All buffers are borrowed for the call:
 *  depth: depth_width*depth_height uint16 raw depth values, row-major (depth_count must equal that);
 *  features: feature_height*feature_width*feature_dim values (H' x W' x C, row-major) of
 *  `feature_dtype` (an ov3d_feature_dtype); feature_count is that number of elements;
 *  intrinsics: 9 doubles, the row-major 3x3 K of the depth image (fx = K[0], cx = K[2],
 *  fy = K[4], cy = K[5]); pose: 16 doubles, row-major 4x4 camera-to-world (OpenCV camera:
 *  x right, y down, z forward). Non-finite features are rejected. *out_visible (may be NULL)
 *  receives the number of points this frame saw. On error the session is unchanged. */
int32_t ov3d_fusion_add_frame(ov3d_fusion *fusion, const uint16_t *depth, size_t depth_count,
                              const void *features, size_t feature_count, int32_t feature_dtype,
                              const double *intrinsics, const double *pose, size_t *out_visible);

/** Adds every frame of a JSON manifest (the `ov3d fuse --frames` format, see README) in order;
 *  frame sizes must match the session's params; the manifest's depth_scale, if given, must
 *  equal the session's. `progress` may be NULL. Batch fusion = create + this + snapshot. Frames are
 *  loaded one at a time; on an error the frames before the failing one remain fused. */
int32_t ov3d_fusion_add_manifest(ov3d_fusion *fusion, const char *manifest_path,
                                 ov3d_progress_callback progress, void *user_data);

/** Writes the current fused state into caller buffers (any of them may be NULL to skip):
 *  features: N*feature_dim floats, per point the mean over the views that saw it, zeros where
 *  none did; mask: N bytes, 1 where at least one view saw the point; counts: N view counts.
 *  Each capacity (in elements) must be large enough. The session continues afterwards. */
int32_t ov3d_fusion_snapshot(const ov3d_fusion *fusion, float *features, size_t features_capacity,
                             uint8_t *mask, size_t mask_capacity, uint32_t *counts, size_t counts_capacity);

/** Number of points, feature channels and frames fused so far (any pointer may be NULL). */
int32_t ov3d_fusion_info(const ov3d_fusion *fusion, size_t *n_points, int32_t *feature_dim, int32_t *n_frames);

/** Clears the sums and counts (keeps points and params). */
int32_t ov3d_fusion_reset(ov3d_fusion *fusion);

/** Frees a session; NULL is a no-op. */
void ov3d_fusion_free(ov3d_fusion *fusion);

/* ---- Multi-teacher agglomeration (SAS), ensembles, superpoint vote ---------------------- */

/** How several teachers' per-point features are combined. */
typedef enum ov3d_teacher_fusion_method {
    OV3D_TEACHER_FUSION_CAPABILITY = 0,    /**< SAS capability-guided softmax fusion */
    OV3D_TEACHER_FUSION_MEAN = 1,          /**< plain average */
    OV3D_TEACHER_FUSION_MAX_SIMILARITY = 2 /**< "linear" baseline: the teacher with the best cosine */
} ov3d_teacher_fusion_method;

typedef struct ov3d_teacher_fusion_params {
    uint32_t struct_size;
    int32_t method;      /**< an ov3d_teacher_fusion_method (default CAPABILITY) */
    float temperature;   /**< softmax temperature tau (default 0.05, SAS's released value) */
    int32_t keep_class;  /**< if teacher 0 predicts this class the point keeps teacher 0's
                              feature (SAS: 19, "other"); -1 = none (default) */
    int32_t n_threads;   /**< 0 = process default */
} ov3d_teacher_fusion_params;

ov3d_teacher_fusion_params ov3d_teacher_fusion_default_params(void);

/** Fuses `n_teachers` feature sets, each n_points x dim float32, stored one after the other in
 *  `features` (teacher-major: T x N x D). `vocabulary`: n_classes x dim text embeddings (any
 *  scale; normalised internally). `capabilities`: n_teachers x n_classes values >= 0 (required
 *  for CAPABILITY, else may be NULL). Per point, teacher t predicts c_t = argmax of its cosine
 *  with the vocabulary; w_t = sum over teachers s of cap[t][c_s]; w /= sum(w);
 *  w = softmax(w / temperature); fused = sum_t w_t f_t. Teachers whose feature is all zeros at a
 *  point take no part there. Writes n_points x dim floats to out_features and, if out_weights
 *  is not NULL, n_points x n_teachers weights. All buffers borrowed. Thread-safe. */
int32_t ov3d_teacher_fusion(const float *features, size_t n_teachers, size_t n_points, size_t dim,
                            const float *vocabulary, size_t n_classes, const float *capabilities,
                            const ov3d_teacher_fusion_params *params, float *out_features,
                            size_t out_capacity, float *out_weights, size_t weights_capacity);

/** Capability table from masks (SAS capability construction): n_pairs pairs of a pseudo-ground-
 *  truth mask and a teacher mask, each mask_size bytes (non-zero = inside), stored pair after
 *  pair in `pseudo_gt` and `teacher_masks`; pair_teacher[i] and pair_class[i] say whose mask for
 *  which class pair i is. capability[t][c] = sum |mask & gt| / sum |mask | gt| over the pairs
 *  of (t, c); 0 where no pixel was in either, and for `excluded_class` (-1 = none; SAS: 19).
 *  Writes n_teachers x n_classes floats to out (capacity in elements). Thread-safe. */
int32_t ov3d_capability_from_masks(const uint8_t *pseudo_gt, const uint8_t *teacher_masks, size_t mask_size,
                                   const int32_t *pair_teacher, const int32_t *pair_class, size_t n_pairs,
                                   size_t n_teachers, size_t n_classes, int32_t excluded_class,
                                   float *out, size_t out_capacity);

/** Evaluation modes of OpenScene / CUA-O3D. */
typedef enum ov3d_eval_mode {
    OV3D_EVAL_FUSION = 0,           /**< 2D fused features; points without one get 256 */
    OV3D_EVAL_DISTILL = 1,          /**< 3D network features */
    OV3D_EVAL_ENSEMBLE_MAX = 2,     /**< OpenScene: the feature with the higher best cosine wins */
    OV3D_EVAL_ENSEMBLE_AVERAGE = 3  /**< CUA-O3D: argmax of the average of both features */
} ov3d_eval_mode;

/** Per-point labels (argmax over the vocabulary) for an ov3d_eval_mode. features_3d and
 *  features_2d are n_points x dim (the one a mode does not use may be NULL); mask_2d (N bytes,
 *  may be NULL = "feature not all zero") marks points with a 2D feature. vocabulary: n_classes x
 *  dim. Writes n_points labels to out_labels. Thread-safe. */
int32_t ov3d_ensemble_labels(int32_t mode, const float *features_3d, const float *features_2d,
                             const uint8_t *mask_2d, size_t n_points, size_t dim,
                             const float *vocabulary, size_t n_classes,
                             int32_t *out_labels, size_t out_capacity);

/** Superpoint refinement in place: every point with segments[i] >= 0 takes the majority label
 *  of its superpoint (ties: smallest label); labels < 0 or equal to `abstain` (e.g. 256) do not
 *  vote. Thread-safe for distinct buffers. */
int32_t ov3d_superpoints_refine_labels(int32_t *labels, const int32_t *segments, size_t n_points, int32_t abstain);

/* ---- Evaluation (confusion matrix, mIoU, mAcc) ----------------------------------------- */

/** How per-class numbers are averaged. */
typedef enum ov3d_metric_convention {
    OV3D_METRIC_STANDARD = 0, /**< scikit-learn semantics; means over classes present in the GT */
    OV3D_METRIC_OPENSCENE = 1 /**< OpenScene util/metric.py: out-of-range (no-feature) predictions
                                   cropped from IoU, means divided by the number of classes */
} ov3d_metric_convention;

/** Summary written by ov3d_evaluate. Set struct_size = sizeof(ov3d_eval_result) before calling. */
typedef struct ov3d_eval_result {
    uint32_t struct_size;
    int32_t n_classes;
    int32_t n_present_classes;  /**< classes with at least one (non-ignored) GT point */
    int32_t reserved;
    int64_t n_evaluated_points; /**< points whose GT is not the ignore label */
    double miou;
    double macc;
    double overall_accuracy;
} ov3d_eval_result;

/** Scores `pred` against `gt` (n_points int32 each). GT must be in [0, n_classes) or equal
 *  `ignore_label` (negative = no ignore label); predictions outside [0, n_classes) (e.g. 256 =
 *  no 2D feature) are wrong answers (standard) or cropped (OpenScene). class_iou / class_acc
 *  (may be NULL; class_capacity >= n_classes otherwise) receive per-class values, -1 where
 *  undefined (IoU: class absent from GT and predictions; acc: absent from GT). Thread-safe. */
int32_t ov3d_evaluate(const int32_t *pred, const int32_t *gt, size_t n_points, int32_t n_classes,
                      int32_t ignore_label, int32_t convention, ov3d_eval_result *out,
                      double *class_iou, double *class_acc, size_t class_capacity);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* OV3D_H */
