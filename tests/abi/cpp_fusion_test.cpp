// C++ tests of the fusion/evaluation wrappers (ov3d::Fusion, ov3d::evaluate) over the C ABI.
#include "ov3d.hpp"
#include <cstdio>
#include <cstring>

static int passed, failed;
#define CHECK(c) do { if (c) passed++; else { failed++; std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

int main() {
    // Two points: one 1 m in front of an identity camera, one behind it.
    std::vector<float> pts = {0, 0, 1, 0, 0, -1};
    ov3d_fusion_params p = ov3d_fusion_default_params();
    p.depth_width = 4;
    p.depth_height = 3;
    p.feature_dim = 2;
    p.cut_bound = 0;
    ov3d::Fusion f(ov3d::points_view(pts.data(), 2), p);
    std::vector<uint16_t> depth(12, 1000);
    std::vector<float> feat(24);
    for (std::size_t i = 0; i < feat.size(); i++) feat[i] = static_cast<float>(i);
    const double K[9] = {2, 0, 1.5, 0, 2, 1, 0, 0, 1};
    const double T[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    CHECK(f.add_frame(depth.data(), depth.size(), feat.data(), feat.size(), K, T) == 1);
    CHECK(f.add_frame(depth.data(), depth.size(), feat.data(), feat.size(), K, T) == 1);
    std::vector<float> out;
    std::vector<uint8_t> mask;
    std::vector<uint32_t> counts;
    f.snapshot(out, mask, &counts);
    // The point projects to u = round(1.5) = 2 (half to even), v = 1: pixel 1*4+2 = 6 -> channels 12, 13.
    CHECK(mask[0] == 1 && mask[1] == 0 && counts[0] == 2 && counts[1] == 0);
    CHECK(out[0] == 12.0f && out[1] == 13.0f && out[2] == 0.0f && out[3] == 0.0f);
    try {
        f.add_frame(depth.data(), 5, feat.data(), feat.size(), K, T);
        CHECK(false);
    } catch (const ov3d::Error &e) {
        CHECK(e.code() == OV3D_ERR_INVALID_ARGUMENT && std::strstr(e.what(), "depth_count") != nullptr);
    }
    f.reset();
    f.snapshot(out, mask);
    CHECK(mask[0] == 0);

    auto r = ov3d::evaluate({0, 1, 1, 256}, {0, 1, 255, 0}, 3);
    CHECK(r.summary.n_present_classes == 2 && r.summary.n_evaluated_points == 3);
    CHECK(r.iou[0] == 0.5 && r.iou[1] == 1.0 && r.iou[2] == -1.0 && r.acc[0] == 0.5);
    auto o = ov3d::evaluate({0, 1, 1, 256}, {0, 1, 255, 0}, 3, 255, OV3D_METRIC_OPENSCENE);
    CHECK(o.iou[0] == 1.0 && o.acc[0] == 0.5 && o.summary.miou == 2.0 / 3);

    std::printf("cpp_fusion_test: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
