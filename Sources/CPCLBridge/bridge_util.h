// Internal helpers shared by the bridge's translation units (not part of the C interface).
#pragma once
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

namespace ov3d_bridge {
inline int fail(char *err, size_t cap, int code, const std::string &msg) {
    if (err && cap > 0) {
        std::snprintf(err, cap, "%s", msg.c_str());
    }
    return code;
}
}  // namespace ov3d_bridge

// Wraps a bridge body: every C++ exception becomes a status and a message.
#define OV3D_BRIDGE_TRY try {
#define OV3D_BRIDGE_CATCH(err, cap)                                                        \
    }                                                                                      \
    catch (const std::bad_alloc &) {                                                       \
        return ov3d_bridge::fail(err, cap, -5, "out of memory in PCL");                    \
    }                                                                                      \
    catch (const std::exception &e) {                                                      \
        return ov3d_bridge::fail(err, cap, -7, std::string("PCL error: ") + e.what());     \
    }                                                                                      \
    catch (...) {                                                                          \
        return ov3d_bridge::fail(err, cap, -7, "unknown C++ exception in PCL");            \
    }
