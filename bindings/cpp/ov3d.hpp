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

// ---- Models and sessions (issues 3, 4) ----

// ---- Text (issue 5) ----

// ---- Fusion and evaluation (issue 7) ----

/// Online OpenScene multi-view fusion (ov3d_fusion_*): add frames as they arrive, snapshot any time.
class Fusion : public Handle<ov3d_fusion, ov3d_fusion_free> {
public:
    Fusion(const ov3d_points &points, const ov3d_fusion_params &params) {
        ov3d_fusion *h = nullptr;
        check(ov3d_fusion_create(&points, &params, &h));
        h_ = h;
        n_ = points.count;
        dim_ = static_cast<std::size_t>(params.feature_dim);
    }
    /// depth: W*H uint16; features: H'*W'*C float32 (or float16 bits with OV3D_FEATURE_F16);
    /// intrinsics: 3x3 row-major; pose: 4x4 row-major camera-to-world. Returns points seen.
    std::size_t add_frame(const uint16_t *depth, std::size_t depth_count, const void *features,
                          std::size_t feature_count, const double *intrinsics, const double *pose,
                          ov3d_feature_dtype dtype = OV3D_FEATURE_F32) {
        std::size_t seen = 0;
        check(ov3d_fusion_add_frame(h_, depth, depth_count, features, feature_count, dtype, intrinsics, pose, &seen));
        return seen;
    }
    void add_manifest(const std::string &path) { check(ov3d_fusion_add_manifest(h_, path.c_str(), nullptr, nullptr)); }
    /// Fused N x C features (zeros where unseen), N-byte visibility mask and N view counts.
    void snapshot(std::vector<float> &features, std::vector<uint8_t> &mask, std::vector<uint32_t> *counts = nullptr) const {
        features.resize(n_ * dim_);
        mask.resize(n_);
        if (counts) counts->resize(n_);
        check(ov3d_fusion_snapshot(h_, features.data(), features.size(), mask.data(), mask.size(),
                                   counts ? counts->data() : nullptr, counts ? counts->size() : 0));
    }
    void reset() { check(ov3d_fusion_reset(h_)); }

private:
    std::size_t n_ = 0, dim_ = 0;
};

/// Per-class and mean metrics of ov3d_evaluate (per-class values are -1 where undefined).
struct EvalReport {
    ov3d_eval_result summary{};
    std::vector<double> iou, acc;
};

inline EvalReport evaluate(const std::vector<int32_t> &pred, const std::vector<int32_t> &gt, int32_t n_classes,
                           int32_t ignore_label = 255, ov3d_metric_convention convention = OV3D_METRIC_STANDARD) {
    EvalReport r;
    r.summary.struct_size = sizeof(ov3d_eval_result);
    r.iou.resize(static_cast<std::size_t>(n_classes > 0 ? n_classes : 0));
    r.acc.resize(r.iou.size());
    if (pred.size() != gt.size()) throw Error(OV3D_ERR_INVALID_ARGUMENT, "pred and gt differ in length");
    check(ov3d_evaluate(pred.data(), gt.data(), pred.size(), n_classes, ignore_label, convention, &r.summary,
                        r.iou.data(), r.acc.data(), r.iou.size()));
    return r;
}

}  // namespace ov3d

#endif  // OV3D_HPP
