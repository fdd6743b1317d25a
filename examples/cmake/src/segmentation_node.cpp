// A robot node's shape: a driver hands it point clouds in the robot's own layout; the node labels
// them with a vocabulary (here from the host's own embeddings), groups them into superpoints, and
// publishes the result (here: a PCD file, which PCL's tools read). Everything goes through the
// C++ wrapper of an installed ov3d (find_package(ov3d), target ov3d::ov3d).
#include <ov3d.hpp>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace {
struct RobotPoint { float x, y, z; uint8_t b, g, r, a; };  // the robot's struct (PCL-like, 16 bytes)

/// One sweep of a toy scene: a wall (z = 3) above a floor (y = 1.2), with per-point "2D features"
/// near the embedding of the true class (wall [1 0 0], floor [0 1 0]).
void sweep(std::vector<RobotPoint> &pts, std::vector<float> &features) {
    pts.clear();
    features.clear();
    for (int i = 0; i < 30; i++)
        for (int j = 0; j < 20; j++) {
            pts.push_back({-1.5f + 0.1f * i, -1.0f + 0.1f * j, 3.0f, 200, 200, 200, 255});
            features.insert(features.end(), {0.9f + 0.01f * (j % 3), 0.1f, 0.0f});
        }
    for (int i = 0; i < 30; i++)
        for (int j = 0; j < 15; j++) {
            pts.push_back({-1.5f + 0.1f * i, 1.2f, 1.5f + 0.1f * j, 90, 120, 150, 255});
            features.insert(features.end(), {0.15f, 0.8f + 0.01f * (i % 4), 0.05f});
        }
}

class SegmentationNode {
public:
    SegmentationNode() : vocab_(ov3d::Vocabulary::from_embeddings({1, 0, 0, 0, 1, 0, 0, 0, 1}, 3, {"wall", "floor", "chair"})) {}

    /// The node's callback: one cloud in, a labelled cloud out.
    void on_cloud(const std::vector<RobotPoint> &pts, const std::vector<float> &features, const std::string &out) {
        ov3d_points view = ov3d::points_view(&pts[0].x, pts.size(), sizeof(RobotPoint));
        view.rgb = &pts[0].b;
        view.rgb_stride = sizeof(RobotPoint);
        view.color_order = OV3D_COLOR_BGR;
        ov3d::Cloud cloud = ov3d::Cloud::from_points(view);
        std::vector<int32_t> labels;
        std::vector<float> scores;
        vocab_.classify(features, labels, scores);
        ov3d_superpoint_params sp = ov3d_superpoint_default_params();
        sp.method = OV3D_SUPERPOINTS_GRAPH_KNN;  // a point cloud, no mesh faces
        auto [ids, k] = ov3d::superpoints(cloud, &sp);
        cloud.set_labels(labels, &scores);
        cloud.save(out, OV3D_FORMAT_PCD_BINARY_COMPRESSED);
        int walls = 0;
        for (int32_t l : labels) walls += l == 0;
        std::printf("cloud of %zu points: %d wall, %zu floor, %d superpoints -> %s\n", pts.size(), walls,
                    labels.size() - walls, k, out.c_str());
        ok_ = walls == 600 && labels.size() - walls == 450;
    }
    bool ok() const { return ok_; }

private:
    ov3d::Vocabulary vocab_;
    bool ok_ = false;
};
}  // namespace

int main(int argc, char **argv) {
    try {
        ov3d::check_abi();
        std::printf("segmentation_node: libov3d %s\n", ov3d::version().c_str());
        SegmentationNode node;
        std::vector<RobotPoint> pts;
        std::vector<float> features;
        sweep(pts, features);
        node.on_cloud(pts, features, argc > 1 ? argv[1] : "segmented.pcd");
        return node.ok() ? 0 : 1;
    } catch (const ov3d::Error &e) {
        std::fprintf(stderr, "segmentation_node: %s\n", e.what());
        return 1;
    }
}
