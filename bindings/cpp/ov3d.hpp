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

}  // namespace ov3d

#endif  // OV3D_HPP
