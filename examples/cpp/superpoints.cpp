// Superpoints of a PLY mesh through the C++ wrapper:
//   g++ -std=c++17 -Iinclude -Ibindings/cpp examples/cpp/superpoints.cpp -L.build/debug -lov3d -Wl,-rpath,$PWD/.build/debug
//   ./a.out Tests/Fixtures/superpoints/room_noisy.ply
#include "ov3d.hpp"
#include <cstdio>
#ifndef OV3D_EXAMPLE_MESH
#define OV3D_EXAMPLE_MESH "Tests/Fixtures/superpoints/room_noisy.ply"
#endif
int main(int argc, char **argv) {
    auto c = ov3d::Cloud::load(argc > 1 ? argv[1] : OV3D_EXAMPLE_MESH);
    auto [ids, k] = ov3d::superpoints(c);
    std::vector<float> xyz(c.positions(), c.positions() + 3 * c.size());
    auto pooled = ov3d::superpoints_mean_pool(ids, k, xyz, 3);
    std::printf("%zu points, %zu faces, %d superpoints, pooled %zu\n", c.size(), c.faces().size() / 3, k, pooled.size());
    try { ov3d::Cloud::load("/nonexistent.pcd"); } catch (const ov3d::Error &e) { std::printf("error ok: %s\n", e.what()); }
}
