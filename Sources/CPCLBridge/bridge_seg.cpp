// PCL normals, kNN, supervoxels (VCCS) and region growing behind the C bridge.
// No exception leaves this file.
#include "ov3d_pcl_bridge.h"
#include "bridge_util.h"

#include <pcl/features/normal_3d.h>
#include <pcl/kdtree/kdtree_flann.h>
#include <pcl/search/kdtree.h>
#include <pcl/segmentation/region_growing.h>
#include <pcl/segmentation/supervoxel_clustering.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using ov3d_bridge::fail;

namespace {
pcl::PointCloud<pcl::PointXYZ>::Ptr toXYZ(size_t n, const float *xyz) {
    pcl::PointCloud<pcl::PointXYZ>::Ptr c(new pcl::PointCloud<pcl::PointXYZ>);
    c->resize(n);
    for (size_t i = 0; i < n; ++i) {
        (*c)[i].x = xyz[3 * i];
        (*c)[i].y = xyz[3 * i + 1];
        (*c)[i].z = xyz[3 * i + 2];
    }
    c->width = static_cast<uint32_t>(n);
    c->height = 1;
    c->is_dense = true;
    return c;
}
bool badArgs(size_t n, const float *xyz) { return n == 0 || n > 0x7fffffffu || !xyz; }

// The first point with a NaN or infinite coordinate, or n (PCL's searches assume finite points).
size_t firstNonFinite(size_t n, const float *xyz) {
    for (size_t i = 0; i < 3 * n; ++i)
        if (!std::isfinite(xyz[i])) return i / 3;
    return n;
}

// Largest extent / resolution and |coordinate| / resolution given to PCL's octrees. Their keys
// are uint32 with a depth of at most 32, computed as `1 << depth` in int, and the seed octree
// grows its box from the first point by doubling (a cloud may need 4x its extent): an extent
// below 2^24 voxels per axis keeps the depth far from the limit (2^24 voxels of 1 cm are
// 167 km). The box is grown in double steps of its side length, which stall (OctreeBase::
// setTreeDepth asserts: abort) once |coordinate| is ~2^52 resolutions: 2^40 leaves room.
constexpr double kMaxExtentVoxels = 16777216.0;         // 2^24
constexpr double kMaxMagnitudeVoxels = 1099511627776.0; // 2^40

// Refuses point sets on which pcl::octree::OctreePointCloud(Adjacency) at `res` would assert
// (abort) or overflow its integer keys. `camera` applies VCCS's single-camera transform
// (x/z, y/z, log z) first, as PCL does before computing keys. Returns 0 or a status with a
// message naming the extent and the resolution.
int checkOctreeGeometry(size_t n, const float *xyz, double res, bool camera, const char *what,
                        char *err, size_t cap) {
    float lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    for (size_t i = 0; i < n; ++i) {
        float p[3] = {xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]};
        if (camera) {
            if (!(p[2] > 0))
                return fail(err, cap, -1,
                            std::string("vccs --single-camera-transform needs every point in front of the camera (z > 0); point ") +
                                std::to_string(i) + " has z = " + std::to_string(p[2]));
            p[0] /= p[2];
            p[1] /= p[2];
            p[2] = std::log(p[2]);
        }
        for (int c = 0; c < 3; ++c) {
            if (!std::isfinite(p[c]))
                return fail(err, cap, -1, std::string(what) + ": point " + std::to_string(i) + " is not finite" +
                                              (camera ? " after the single-camera transform" : ""));
            lo[c] = std::min(lo[c], p[c]);
            hi[c] = std::max(hi[c], p[c]);
        }
    }
    double extent = 0, magnitude = 0;
    for (int c = 0; c < 3; ++c) {
        extent = std::max(extent, (static_cast<double>(hi[c]) - lo[c]) / res);
        magnitude = std::max(magnitude, std::max(std::fabs(static_cast<double>(lo[c])), std::fabs(static_cast<double>(hi[c]))) / res);
    }
    char buf[512];
    if (!(extent < kMaxExtentVoxels)) {
        std::snprintf(buf, sizeof buf,
                      "%s: the cloud%s spans %g x %g x %g (%.3g voxels per axis at resolution %g); PCL's octree keys allow "
                      "fewer than 2^24: use a larger resolution or split the cloud",
                      what, camera ? " (after the single-camera transform)" : "", static_cast<double>(hi[0]) - lo[0],
                      static_cast<double>(hi[1]) - lo[1], static_cast<double>(hi[2]) - lo[2], extent, res);
        return fail(err, cap, -1, buf);
    }
    if (!(magnitude < kMaxMagnitudeVoxels)) {
        std::snprintf(buf, sizeof buf,
                      "%s: coordinates reach %g%s, %.3g voxels from the origin at resolution %g; PCL's octree needs fewer than "
                      "2^40: recentre the cloud or use a larger resolution",
                      what, magnitude * res, camera ? " after the single-camera transform" : "", magnitude, res);
        return fail(err, cap, -1, buf);
    }
    return 0;
}
}  // namespace

extern "C" int ov3d_pcl_normals(size_t n, const float *xyz, int k, float vx, float vy, float vz,
                                float *normals_out, float *curvature_out, char *err, size_t err_cap) {
    OV3D_BRIDGE_TRY
    if (badArgs(n, xyz) || !normals_out || k < 3) return fail(err, err_cap, -1, "bad normal estimation arguments");
    if (size_t i = firstNonFinite(n, xyz); i < n)
        return fail(err, err_cap, -1, "normals: point " + std::to_string(i) + " is not finite");
    auto cloud = toXYZ(n, xyz);
    pcl::NormalEstimation<pcl::PointXYZ, pcl::Normal> ne;
    pcl::search::KdTree<pcl::PointXYZ>::Ptr tree(new pcl::search::KdTree<pcl::PointXYZ>);
    ne.setInputCloud(cloud);
    ne.setSearchMethod(tree);
    ne.setKSearch(k);
    ne.setViewPoint(vx, vy, vz);
    pcl::PointCloud<pcl::Normal> normals;
    ne.compute(normals);
    if (normals.size() != n) return fail(err, err_cap, -7, "normal estimation returned a wrong count");
    for (size_t i = 0; i < n; ++i) {
        normals_out[3 * i] = normals[i].normal_x;
        normals_out[3 * i + 1] = normals[i].normal_y;
        normals_out[3 * i + 2] = normals[i].normal_z;
        if (curvature_out) curvature_out[i] = normals[i].curvature;
    }
    return 0;
    OV3D_BRIDGE_CATCH(err, err_cap)
}

extern "C" int ov3d_pcl_knn(size_t n, const float *xyz, int k, int32_t *idx_out, float *sqdist_out,
                            char *err, size_t err_cap) {
    OV3D_BRIDGE_TRY
    if (badArgs(n, xyz) || !idx_out || k < 1 || k > 1024) return fail(err, err_cap, -1, "bad kNN arguments");
    if (size_t i = firstNonFinite(n, xyz); i < n)
        return fail(err, err_cap, -1, "kNN: point " + std::to_string(i) + " is not finite");
    auto cloud = toXYZ(n, xyz);
    pcl::KdTreeFLANN<pcl::PointXYZ> tree;
    tree.setInputCloud(cloud);
    std::vector<int> idx;
    std::vector<float> d2;
    for (size_t i = 0; i < n; ++i) {
        int found = tree.nearestKSearch((*cloud)[i], k + 1, idx, d2);
        int w = 0;
        for (int j = 0; j < found && w < k; ++j) {
            if (idx[j] == static_cast<int>(i)) continue;
            idx_out[i * k + w] = idx[j];
            if (sqdist_out) sqdist_out[i * k + w] = d2[j];
            ++w;
        }
        for (; w < k; ++w) {
            idx_out[i * k + w] = -1;
            if (sqdist_out) sqdist_out[i * k + w] = INFINITY;
        }
    }
    return 0;
    OV3D_BRIDGE_CATCH(err, err_cap)
}

extern "C" int ov3d_pcl_supervoxels(size_t n, const float *xyz, const uint8_t *rgb, const float *normals,
                                    float voxel_resolution, float seed_resolution, float color_importance,
                                    float spatial_importance, float normal_importance,
                                    int use_single_camera_transform, int32_t *labels_out, char *err,
                                    size_t err_cap) {
    OV3D_BRIDGE_TRY
    if (badArgs(n, xyz) || !labels_out) return fail(err, err_cap, -1, "bad supervoxel arguments");
    if (!(voxel_resolution > 0) || !(seed_resolution >= voxel_resolution) || !std::isfinite(seed_resolution))
        return fail(err, err_cap, -1, "supervoxels need 0 < voxel_resolution <= seed_resolution, both finite");
    // SupervoxelClustering expands every supervoxel int(1.8 * seed / voxel) times.
    if (seed_resolution / voxel_resolution > 1e4f)
        return fail(err, err_cap, -1, "supervoxels: seed_resolution / voxel_resolution = " +
                                          std::to_string(seed_resolution / voxel_resolution) + " is absurd (more than 10^4)");
    for (float v : {color_importance, spatial_importance, normal_importance})
        if (!std::isfinite(v) || v < 0) return fail(err, err_cap, -1, "supervoxels: importances must be finite and >= 0");
    if (size_t i = firstNonFinite(n, xyz); i < n)
        return fail(err, err_cap, -1, "vccs: point " + std::to_string(i) + " is not finite");
    // The adjacency octree (voxel resolution, transformed points when single-camera) and the
    // seed octree (seed resolution, voxel centroids in the input frame).
    if (int r = checkOctreeGeometry(n, xyz, voxel_resolution, use_single_camera_transform != 0, "vccs", err, err_cap)) return r;
    if (use_single_camera_transform)
        if (int r = checkOctreeGeometry(n, xyz, seed_resolution, false, "vccs seeds", err, err_cap)) return r;
    if (normals)
        if (size_t i = firstNonFinite(n, normals); i < n)
            return fail(err, err_cap, -1, "vccs: normal " + std::to_string(i) + " is not finite");
    pcl::PointCloud<pcl::PointXYZRGBA>::Ptr cloud(new pcl::PointCloud<pcl::PointXYZRGBA>);
    cloud->resize(n);
    for (size_t i = 0; i < n; ++i) {
        auto &p = (*cloud)[i];
        p.x = xyz[3 * i];
        p.y = xyz[3 * i + 1];
        p.z = xyz[3 * i + 2];
        p.r = rgb ? rgb[3 * i] : 0;
        p.g = rgb ? rgb[3 * i + 1] : 0;
        p.b = rgb ? rgb[3 * i + 2] : 0;
        p.a = 255;
    }
    cloud->width = static_cast<uint32_t>(n);
    cloud->height = 1;
    pcl::SupervoxelClustering<pcl::PointXYZRGBA> sv(voxel_resolution, seed_resolution);
    sv.setUseSingleCameraTransform(use_single_camera_transform != 0);
    sv.setInputCloud(cloud);
    if (normals) {
        pcl::PointCloud<pcl::Normal>::Ptr nc(new pcl::PointCloud<pcl::Normal>);
        nc->resize(n);
        for (size_t i = 0; i < n; ++i) {
            (*nc)[i].normal_x = normals[3 * i];
            (*nc)[i].normal_y = normals[3 * i + 1];
            (*nc)[i].normal_z = normals[3 * i + 2];
        }
        sv.setNormalCloud(nc);
    }
    sv.setColorImportance(color_importance);
    sv.setSpatialImportance(spatial_importance);
    sv.setNormalImportance(normal_importance);
    std::map<std::uint32_t, pcl::Supervoxel<pcl::PointXYZRGBA>::Ptr> clusters;
    sv.extract(clusters);
    auto labeled = sv.getLabeledCloud();
    if (!labeled || labeled->size() != n) return fail(err, err_cap, -7, "supervoxels returned a wrong count");
    for (size_t i = 0; i < n; ++i) labels_out[i] = static_cast<int32_t>((*labeled)[i].label);
    return 0;
    OV3D_BRIDGE_CATCH(err, err_cap)
}

extern "C" int ov3d_pcl_region_growing(size_t n, const float *xyz, const float *normals, int k,
                                       int min_cluster_size, int max_cluster_size, float smoothness,
                                       float curvature_threshold, const float *curvature,
                                       int32_t *labels_out, char *err, size_t err_cap) {
    OV3D_BRIDGE_TRY
    if (badArgs(n, xyz) || !normals || !labels_out || k < 1 || min_cluster_size < 1 ||
        max_cluster_size < min_cluster_size)
        return fail(err, err_cap, -1, "bad region growing arguments");
    if (size_t i = firstNonFinite(n, xyz); i < n)
        return fail(err, err_cap, -1, "region growing: point " + std::to_string(i) + " is not finite");
    auto cloud = toXYZ(n, xyz);
    pcl::PointCloud<pcl::Normal>::Ptr nc(new pcl::PointCloud<pcl::Normal>);
    nc->resize(n);
    for (size_t i = 0; i < n; ++i) {
        (*nc)[i].normal_x = normals[3 * i];
        (*nc)[i].normal_y = normals[3 * i + 1];
        (*nc)[i].normal_z = normals[3 * i + 2];
        (*nc)[i].curvature = curvature ? curvature[i] : 0.0f;
    }
    pcl::search::KdTree<pcl::PointXYZ>::Ptr tree(new pcl::search::KdTree<pcl::PointXYZ>);
    pcl::RegionGrowing<pcl::PointXYZ, pcl::Normal> rg;
    rg.setMinClusterSize(min_cluster_size);
    rg.setMaxClusterSize(max_cluster_size);
    rg.setSearchMethod(tree);
    rg.setNumberOfNeighbours(static_cast<unsigned int>(k));
    rg.setInputCloud(cloud);
    rg.setInputNormals(nc);
    rg.setSmoothnessThreshold(smoothness);
    rg.setCurvatureThreshold(curvature_threshold);
    rg.setCurvatureTestFlag(curvature != nullptr);
    std::vector<pcl::PointIndices> clusters;
    rg.extract(clusters);
    for (size_t i = 0; i < n; ++i) labels_out[i] = -1;
    int32_t id = 0;
    for (const auto &c : clusters) {
        for (int idx : c.indices)
            if (idx >= 0 && static_cast<size_t>(idx) < n) labels_out[idx] = id;
        ++id;
    }
    return 0;
    OV3D_BRIDGE_CATCH(err, err_cap)
}
