/* ov3d ray casting against a triangle mesh through a bounding volume hierarchy (BVH), for the
 * synthetic-world renderer (Sources/OV3DCore/Synthetic). Internal to libov3d, not public ABI.
 *
 * The BVH is built on the Swift side (MeshRaycaster): nodes in depth-first order; a node with
 * count > 0 is a leaf holding triangles [first, first + count) of the (reordered) triangle
 * array; otherwise its children are nodes `first` and `first + 1`. Triangles are 9 floats
 * (v0, v1, v2). The caller guarantees valid indices: these functions do not validate.
 */
#ifndef OV3D_RAYCAST_H
#define OV3D_RAYCAST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ov3d_bvh_node {
    float lo[3];
    float hi[3];
    int32_t first;
    int32_t count;
} ov3d_bvh_node;

/** Nearest hit of the ray origin + t·dir with t in (t_min, t_max). Returns the triangle index
 *  (into the reordered array) or -1; *t_hit receives t. Möller–Trumbore, double-sided. */
int32_t ov3d_raycast_nearest(const float *tris, const ov3d_bvh_node *nodes, const float origin[3],
                             const float dir[3], float t_min, float t_max, float *t_hit);

/** Casts one ray per pixel for rows [row_begin, row_end) of a width×height pinhole camera:
 *  pixel (u, v) looks along R·((u − cx)/fx, (v − cy)/fy, 1) from `eye` (R = camera-to-world
 *  rotation, row-major 3×3). Writes per pixel the depth along the optical axis (z, metres; 0
 *  where nothing is hit) and the hit triangle (-1 where none). */
void ov3d_raycast_image(const float *tris, const ov3d_bvh_node *nodes, const float rotation[9],
                        const float eye[3], float fx, float fy, float cx, float cy, int32_t width,
                        int32_t row_begin, int32_t row_end, float t_max, float *depth_out, int32_t *tri_out);

/** Nearest hits of n rays (origins and directions 3 floats each), t in (t_min, t_max): per ray
 *  t (0 where none) and the hit triangle (-1 where none). */
void ov3d_raycast_rays(const float *tris, const ov3d_bvh_node *nodes, const float *origins, const float *dirs,
                       size_t n, float t_min, float t_max, float *t_out, int32_t *tri_out);

#ifdef __cplusplus
}
#endif
#endif
