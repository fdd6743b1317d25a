// ov3d.hpp — header-only C++17 wrapper over the ov3d C API (include/ov3d.h).
//
// Every failing call throws ov3d::Error carrying the status code and ov3d_last_error().
// Objects are move-only RAII owners of their C handles.
//
//     ov3d::check_abi();
//     ov3d::set_num_threads(2);
//     std::cout << "ov3d " << ov3d::version() << "\n";
#ifndef OV3D_HPP
#define OV3D_HPP

#include "ov3d.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ov3d {

/// The exception thrown by every wrapper on a non-zero status.
class Error : public std::runtime_error {
public:
    Error(int32_t code, const std::string &message) : std::runtime_error(message), code_(code) {}
    /// The ov3d_status code (negative).
    int32_t code() const noexcept { return code_; }

private:
    int32_t code_;
};

/// Throws Error if `status` is not OV3D_OK.
inline void check(int32_t status) {
    if (status != OV3D_OK) {
        std::string m = ov3d_last_error();
        if (m.empty()) m = ov3d_status_string(status);
        throw Error(status, m);
    }
}

/// Throws if the loaded library does not implement this header's ABI.
inline void check_abi() { check(ov3d_check_abi(OV3D_ABI_VERSION)); }

inline std::string version() { return ov3d_version(); }

inline void set_num_threads(int32_t n) { check(ov3d_set_num_threads(n)); }

inline void set_log_callback(ov3d_log_callback cb, void *user, ov3d_log_level min_level = OV3D_LOG_WARN) {
    check(ov3d_set_log_callback(cb, user, min_level));
}

/// Move-only owner of a C handle `T*` freed with `Free`.
template <typename T, void (*Free)(T *)>
class Handle {
public:
    Handle() noexcept = default;
    explicit Handle(T *h) noexcept : h_(h) {}
    Handle(const Handle &) = delete;
    Handle &operator=(const Handle &) = delete;
    Handle(Handle &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    Handle &operator=(Handle &&o) noexcept {
        if (this != &o) { reset(); h_ = std::exchange(o.h_, nullptr); }
        return *this;
    }
    ~Handle() { reset(); }
    void reset() noexcept { if (h_) { Free(h_); h_ = nullptr; } }
    T *get() const noexcept { return h_; }
    explicit operator bool() const noexcept { return h_ != nullptr; }

protected:
    T *h_ = nullptr;
};

/// A points view over any array of structs with float x, y, z at `xyz` (e.g. pcl::PointXYZ*).
inline ov3d_points points_view(const float *xyz, std::size_t count, std::size_t stride_bytes = 0) {
    return ov3d_points_init(xyz, count, stride_bytes);
}

// ---- Point clouds (issue 6) ----

/// A point cloud or mesh owned by the library (PCD / PLY / npy / .bin), not thread-safe.
///     auto c = ov3d::Cloud::load("scene.ply");
///     auto [ids, k] = ov3d::superpoints(c);          // mesh method, segmentator defaults
class Cloud : public Handle<ov3d_cloud, ov3d_cloud_free> {
public:
    using Handle::Handle;
    static Cloud load(const std::string &path, bool drop_nan = false) {
        ov3d_cloud_load_params p = ov3d_cloud_load_default_params();
        p.drop_nan = drop_nan ? 1 : 0;
        ov3d_cloud *h = nullptr;
        check(ov3d_cloud_load(path.c_str(), &p, &h));
        return Cloud(h);
    }
    static Cloud from_points(const ov3d_points &points) {
        ov3d_cloud *h = nullptr;
        check(ov3d_cloud_from_points(&points, &h));
        return Cloud(h);
    }
    std::size_t size() const {
        std::size_t n = 0;
        check(ov3d_cloud_count(h_, &n));
        return n;
    }
    /// Borrowed x y z floats (3 per point), valid while the cloud lives and is not relabelled.
    const float *positions() const {
        const float *p = nullptr;
        check(ov3d_cloud_positions(h_, &p));
        return p;
    }
    std::vector<int32_t> faces() const {
        const int32_t *f = nullptr;
        std::size_t n = 0;
        check(ov3d_cloud_faces(h_, &f, &n));
        return f ? std::vector<int32_t>(f, f + 3 * n) : std::vector<int32_t>();
    }
    void set_labels(const std::vector<int32_t> &labels, const std::vector<float> *scores = nullptr, bool colorize = true) {
        check(ov3d_cloud_set_labels(h_, labels.data(), scores ? scores->data() : nullptr, labels.size(), colorize ? 1 : 0));
    }
    void save(const std::string &path, ov3d_cloud_format format = OV3D_FORMAT_AUTO) const {
        check(ov3d_cloud_save(h_, path.c_str(), format));
    }
};

/// Superpoints of a cloud: a segment id per point (-1 unassigned) and the segment count.
inline std::pair<std::vector<int32_t>, int32_t> superpoints(const Cloud &cloud,
                                                            const ov3d_superpoint_params *params = nullptr) {
    std::vector<int32_t> ids(cloud.size());
    int32_t k = 0;
    check(ov3d_superpoints_compute(cloud.get(), params, ids.data(), ids.size(), &k));
    return {std::move(ids), k};
}

/// Mean of each segment's features (n_points x dim) -> n_segments x dim.
inline std::vector<float> superpoints_mean_pool(const std::vector<int32_t> &ids, int32_t k,
                                                const std::vector<float> &features, std::size_t dim) {
    std::vector<float> out(static_cast<std::size_t>(k) * dim);
    check(ov3d_superpoints_mean_pool(ids.data(), ids.size(), k, features.data(), dim, out.data(), out.size()));
    return out;
}

// ---- Models and sessions (issues 3, 4) ----

// ---- Text (issue 5) ----

// ---- Fusion and evaluation (issue 7) ----

}  // namespace ov3d

#endif  // OV3D_HPP
