// PCL normals, kNN, supervoxels (VCCS) and region growing behind the C bridge.
// No exception leaves this file.
#include "ov3d_pcl_bridge.h"
#include "bridge_util.h"

#include <pcl/features/normal_3d.h>
#include <pcl/kdtree/kdtree_flann.h>
#include <pcl/search/kdtree.h>
#include <pcl/segmentation/region_growing.h>
#include <pcl/segmentation/supervoxel_clustering.h>

#include <cmath>
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
}  // namespace

extern "C" int ov3d_pcl_normals(size_t n, const float *xyz, int k, float vx, float vy, float vz,
                                float *normals_out, float *curvature_out, char *err, size_t err_cap) {
    OV3D_BRIDGE_TRY
    if (badArgs(n, xyz) || !normals_out || k < 3) return fail(err, err_cap, -1, "bad normal estimation arguments");
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
    if (!(voxel_resolution > 0) || !(seed_resolution >= voxel_resolution))
        return fail(err, err_cap, -1, "supervoxels need 0 < voxel_resolution <= seed_resolution");
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
