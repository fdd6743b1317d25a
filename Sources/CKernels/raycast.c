/* Ray casting for the synthetic renderer: see include/ov3d_raycast.h. */
#include "ov3d_raycast.h"
/* No libc headers: the kernels build freestanding (aarch64 cross-compile check); fabsf is the builtin. */

static inline int ray_box(const ov3d_bvh_node *n, const float o[3], const float inv[3], float t_min, float t_max, float *t_enter) {
    float t0 = t_min, t1 = t_max;
    for (int a = 0; a < 3; a++) {
        float tn = (n->lo[a] - o[a]) * inv[a];
        float tf = (n->hi[a] - o[a]) * inv[a];
        if (tn > tf) { float s = tn; tn = tf; tf = s; }
        if (tn > t0) t0 = tn;
        if (tf < t1) t1 = tf;
        if (t0 > t1) return 0;
    }
    *t_enter = t0;
    return 1;
}

static inline int ray_triangle(const float *tri, const float o[3], const float d[3], float t_min, float t_max, float *t_out) {
    const float e1[3] = {tri[3] - tri[0], tri[4] - tri[1], tri[5] - tri[2]};
    const float e2[3] = {tri[6] - tri[0], tri[7] - tri[1], tri[8] - tri[2]};
    const float p[3] = {d[1] * e2[2] - d[2] * e2[1], d[2] * e2[0] - d[0] * e2[2], d[0] * e2[1] - d[1] * e2[0]};
    const float det = e1[0] * p[0] + e1[1] * p[1] + e1[2] * p[2];
    if (__builtin_fabsf(det) < 1e-12f) return 0;
    const float inv = 1.0f / det;
    const float s[3] = {o[0] - tri[0], o[1] - tri[1], o[2] - tri[2]};
    const float u = (s[0] * p[0] + s[1] * p[1] + s[2] * p[2]) * inv;
    if (u < 0.0f || u > 1.0f) return 0;
    const float q[3] = {s[1] * e1[2] - s[2] * e1[1], s[2] * e1[0] - s[0] * e1[2], s[0] * e1[1] - s[1] * e1[0]};
    const float v = (d[0] * q[0] + d[1] * q[1] + d[2] * q[2]) * inv;
    if (v < 0.0f || u + v > 1.0f) return 0;
    const float t = (e2[0] * q[0] + e2[1] * q[1] + e2[2] * q[2]) * inv;
    if (t <= t_min || t >= t_max) return 0;
    *t_out = t;
    return 1;
}

int32_t ov3d_raycast_nearest(const float *tris, const ov3d_bvh_node *nodes, const float origin[3],
                             const float dir[3], float t_min, float t_max, float *t_hit) {
    float inv[3];
    for (int a = 0; a < 3; a++) inv[a] = 1.0f / (__builtin_fabsf(dir[a]) < 1e-20f ? (dir[a] < 0 ? -1e-20f : 1e-20f) : dir[a]);
    int32_t stack[128];
    int sp = 0;
    stack[sp++] = 0;
    float best = t_max;
    int32_t hit = -1;
    while (sp > 0) {
        const ov3d_bvh_node *n = &nodes[stack[--sp]];
        float te;
        if (!ray_box(n, origin, inv, t_min, best, &te)) continue;
        if (n->count > 0) {
            for (int32_t i = n->first; i < n->first + n->count; i++) {
                float t;
                if (ray_triangle(tris + 9 * (size_t)i, origin, dir, t_min, best, &t)) { best = t; hit = i; }
            }
        } else if (sp < 126) {
            /* push the farther child first so the nearer one is visited first */
            const ov3d_bvh_node *l = &nodes[n->first], *r = &nodes[n->first + 1];
            float tl = 0, tr = 0;
            int hl = ray_box(l, origin, inv, t_min, best, &tl), hr = ray_box(r, origin, inv, t_min, best, &tr);
            if (hl && hr) {
                if (tl <= tr) { stack[sp++] = n->first + 1; stack[sp++] = n->first; }
                else { stack[sp++] = n->first; stack[sp++] = n->first + 1; }
            } else if (hl) stack[sp++] = n->first;
            else if (hr) stack[sp++] = n->first + 1;
        }
    }
    if (hit >= 0) *t_hit = best;
    return hit;
}

void ov3d_raycast_image(const float *tris, const ov3d_bvh_node *nodes, const float R[9],
                        const float eye[3], float fx, float fy, float cx, float cy, int32_t width,
                        int32_t row_begin, int32_t row_end, float t_max, float *depth_out, int32_t *tri_out) {
    for (int32_t v = row_begin; v < row_end; v++) {
        for (int32_t u = 0; u < width; u++) {
            const float rx = ((float)u - cx) / fx, ry = ((float)v - cy) / fy;
            const float d[3] = {R[0] * rx + R[1] * ry + R[2], R[3] * rx + R[4] * ry + R[5], R[6] * rx + R[7] * ry + R[8]};
            float t = 0;
            const int32_t hit = ov3d_raycast_nearest(tris, nodes, eye, d, 1e-4f, t_max, &t);
            const size_t k = (size_t)v * (size_t)width + (size_t)u;
            /* d has unit z in camera coordinates, so t is the depth along the optical axis */
            depth_out[k] = hit >= 0 ? t : 0.0f;
            tri_out[k] = hit;
        }
    }
}

void ov3d_raycast_rays(const float *tris, const ov3d_bvh_node *nodes, const float *origins, const float *dirs,
                       size_t n, float t_min, float t_max, float *t_out, int32_t *tri_out) {
    for (size_t i = 0; i < n; i++) {
        float t = 0;
        const int32_t hit = ov3d_raycast_nearest(tris, nodes, origins + 3 * i, dirs + 3 * i, t_min, t_max, &t);
        t_out[i] = hit >= 0 ? t : 0.0f;
        tri_out[i] = hit;
    }
}
