/* Internal: PCL behind a plain C interface. Only C types cross this header; every entry point
   catches all C++ exceptions and reports them through the err buffer. Valid C (imported by Swift
   without C++ interop). */
#ifndef OV3D_PCL_BRIDGE_H
#define OV3D_PCL_BRIDGE_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* Error reporting convention for every bridge function: returns 0 on success or a negative
   ov3d status code (-1 invalid argument, -2 I/O, -3 format, -4 unsupported, -5 out of memory,
   -7 internal) and writes a NUL-terminated message into err (capacity err_cap) on failure. */

/* PCL's version string, e.g. "1.13.0". */
const char *ov3d_pcl_version(void);

/* Silences PCL's console output below the given level (0 always .. 5 verbose). */
void ov3d_pcl_set_verbosity(int level);

/* Point cloud files are read and written natively (OV3DCore/PointCloud): libov3d.so does not
   link libpcl_io (and through it VTK, OpenNI, libusb, libpcap). */

/* ---- Segmentation (bridge_seg.cpp) -------------------------------------------------- */

/* Normals by pcl::NormalEstimation over the k nearest neighbours, flipped towards the viewpoint
   (vx, vy, vz). normals_out: 3n floats; curvature_out: n floats or NULL. NaN normals (too few
   neighbours) are written as NaN. */
int ov3d_pcl_normals(size_t n, const float *xyz, int k, float vx, float vy, float vz,
                     float *normals_out, float *curvature_out, char *err, size_t err_cap);

/* The k nearest neighbours of every point (itself excluded) by pcl::KdTreeFLANN.
   idx_out: n*k int32 (-1 where fewer exist); sqdist_out: n*k floats or NULL. */
int ov3d_pcl_knn(size_t n, const float *xyz, int k, int32_t *idx_out, float *sqdist_out,
                 char *err, size_t err_cap);

/* pcl::SupervoxelClustering<PointXYZRGBA> (VCCS). rgb may be NULL (colour 0). normals may be
   NULL (estimated by PCL). labels_out: n int32, the supervoxel label per input point
   (0 = none, as getLabeledCloud). */
int ov3d_pcl_supervoxels(size_t n, const float *xyz, const uint8_t *rgb, const float *normals,
                         float voxel_resolution, float seed_resolution, float color_importance,
                         float spatial_importance, float normal_importance,
                         int use_single_camera_transform, int32_t *labels_out,
                         char *err, size_t err_cap);

/* pcl::RegionGrowing<PointXYZ, Normal>. normals: 3n floats (required). labels_out: n int32,
   cluster index or -1 when unassigned. smoothness in radians. */
int ov3d_pcl_region_growing(size_t n, const float *xyz, const float *normals, int k,
                            int min_cluster_size, int max_cluster_size, float smoothness,
                            float curvature_threshold, const float *curvature,
                            int32_t *labels_out, char *err, size_t err_cap);

/* Test of the exception barrier: raises, inside the try/catch every entry uses, a real
   std::bad_alloc (kind 0: operator new of SIZE_MAX / 4 bytes; returns -5), PCL's own exception
   (kind 1: pcl::UnorganizedPointCloudException; -7) or a non-std exception (kind 2: an int; -7),
   each with a message in err. */
int ov3d_pcl_exception_selftest(int kind, char *err, size_t err_cap);

/* ---- Sorting (bridge_sort.cpp, no PCL) ---------------------------------------------- */

/* Writes the permutation that std::sort (libstdc++) applies when sorting an array of records
   by the float key `w` with operator<, so ports reproduce its tie order exactly. NaN keys are
   ordered last (a strict weak ordering; std::sort is undefined on NaN). order: n uint32. */
int ov3d_sort_order_f32(const float *w, size_t n, uint32_t *order);

#ifdef __cplusplus
}
#endif
#endif
