// std::sort's permutation over float keys (no PCL). Sorting (key, index) records with a
// comparator on the key alone performs exactly the comparisons and moves std::sort performs on
// any record type keyed the same way, so the resulting order (including among equal keys) is
// the one a C++ program sorting its own records by that key gets.
#include "ov3d_pcl_bridge.h"
#include <algorithm>
#include <cmath>
#include <new>
#include <vector>

namespace {
struct Keyed {
    float w;
    uint32_t i;
};
}  // namespace

extern "C" int ov3d_sort_order_f32(const float *w, size_t n, uint32_t *order) {
    try {
        if (n == 0) return 0;
        if (!w || !order || n > 0xFFFFFFFFu) return -1;
        std::vector<Keyed> rec(n);
        bool anyNaN = false;
        for (size_t i = 0; i < n; ++i) {
            rec[i] = Keyed{w[i], static_cast<uint32_t>(i)};
            anyNaN |= std::isnan(w[i]);
        }
        if (!anyNaN) {
            // The common case: operator< on the key, exactly what the reference compares.
            std::sort(rec.begin(), rec.end(), [](const Keyed &a, const Keyed &b) { return a.w < b.w; });
        } else {
            std::sort(rec.begin(), rec.end(), [](const Keyed &a, const Keyed &b) {
                if (std::isnan(a.w)) return false;
                if (std::isnan(b.w)) return true;
                return a.w < b.w;
            });
        }
        for (size_t i = 0; i < n; ++i) order[i] = rec[i].i;
        return 0;
    } catch (const std::bad_alloc &) {
        return -5;
    } catch (...) {
        return -7;
    }
}
