/*
 * ov3d.h — open-vocabulary 3D scene understanding for robots. C99 public API of libov3d.so.
 *
 * Usage (error handling shortened; every call returns an ov3d_status, 0 = OV3D_OK):
 *
 *     #include <ov3d.h>
 *
 *     if (ov3d_check_abi(OV3D_ABI_VERSION) != OV3D_OK) { puts(ov3d_last_error()); return 1; }
 *
 *     // 1. Load an immutable model once (OpenScene / CUA-O3D / SAS .pth, or safetensors).
 *     ov3d_model *model = NULL;
 *     if (ov3d_model_load("openscene_lseg.pth.tar", NULL, &model) != OV3D_OK)
 *         fprintf(stderr, "ov3d: %s\n", ov3d_last_error());
 *
 *     // 2. Describe the robot's points in place: any struct layout, no copy.
 *     //    (here a pcl::PointXYZRGB array: x y z at offset 0, 32 bytes per point)
 *     ov3d_points pts = ov3d_points_xyz(&cloud->points[0].x, n, sizeof(cloud->points[0]));
 *
 *     // 3. One session per thread runs the network and scores a vocabulary.
 *     ov3d_session *s = NULL;
 *     ov3d_session_create(model, NULL, &s);
 *     ov3d_result *r = NULL;
 *     ov3d_session_run(s, &pts, NULL, &r);
 *     const char *words[] = {"wall", "floor", "chair", "fire extinguisher"};
 *     // ... set a vocabulary (text encoder or raw embeddings), read labels/scores/heat-maps
 *     ov3d_result_free(r);
 *     ov3d_session_free(s);
 *     ov3d_model_free(model);
 *
 * Conventions (all functions):
 *  - Status: functions return ov3d_status (int32). On failure the message of the last failing
 *    call on *this thread* is ov3d_last_error(); it stays valid until the next ov3d call on the
 *    same thread. Success clears it.
 *  - Handles are opaque. Every create or load function has a matching free function; free(NULL) is a no-op. Passing a
 *    handle of the wrong type is reported as OV3D_ERR_INVALID_ARGUMENT.
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
 *  PCD files are written through PCL's pcl::PCDWriter. `format` is an ov3d_cloud_format.
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
 *  n_segments x dim (capacity in floats). ids in -1..n_segments-1 (-1 ignored). Thread-safe. */
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

/* ==================================================================================== */
/* Text (issue 5): CLIP tokenizer, text encoder, vocabularies                            */
/* ==================================================================================== */

/* ==================================================================================== */
/* Fusion and evaluation (issue 7): multi-view 2D->3D, multi-teacher, metrics             */
/* ==================================================================================== */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* OV3D_H */
