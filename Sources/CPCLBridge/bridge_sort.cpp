// std::sort's permutation over float keys (no PCL). Sorting indices with a comparator on the key
// performs exactly the comparisons and moves std::sort performs on the records themselves, so the
// resulting order (including among equal keys) is the one a C++ program sorting its records gets.
#include "ov3d_pcl_bridge.h"
#include <algorithm>
#include <cmath>

extern "C" int ov3d_sort_order_f32(const float *w, size_t n, uint32_t *order) {
    try {
        if (n == 0) return 0;
        if (!w || !order || n > 0xFFFFFFFFu) return -1;
        for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
        std::sort(order, order + n, [w](uint32_t a, uint32_t b) {
            const float x = w[a], y = w[b];
            if (std::isnan(x)) return false;
            if (std::isnan(y)) return true;
            return x < y;
        });
        return 0;
    } catch (...) {
        return -7;
    }
}
