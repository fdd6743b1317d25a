// Two threads share one immutable model, each with its own session, and segment 10 clouds
// between them; every result equals the single-threaded one bit for bit.
//
//   segment_threads_cpp [checkpoint]     (default: the room_18a_w8 MinkUNet test fixture)
//
// Sizing threads: a session's n_threads is the number of cores its runs use. With S sessions
// running at once on C cores give each about C / S threads (here 2 cores: 1 thread each); more
// only makes the sessions compete (two sessions of 2 threads each on 2 cores ran at 0.73-0.97x
// of running them one after the other).
#include <ov3d.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

#ifndef OV3D_EXAMPLE_MODEL
#define OV3D_EXAMPLE_MODEL "Tests/Fixtures/minkunet/room_18a_w8/weights.safetensors"
#endif

namespace {

struct RobotPoint { float x, y, z; uint8_t r, g, b, a; };   // a host's own point layout

/// Cloud `c`: a floor, two walls and a box, shifted and sized per cloud (deterministic).
std::vector<RobotPoint> make_cloud(int c) {
    std::vector<RobotPoint> pts;
    const float s = 1.0f + 0.1f * static_cast<float>(c);
    for (int i = 0; i < 40; i++)
        for (int j = 0; j < 40; j++) {
            const float u = s * static_cast<float>(i) / 40, v = s * static_cast<float>(j) / 40;
            pts.push_back({u, v, 0, 0, 0, 0, 0});                 // floor
            pts.push_back({u, 0, v * 0.8f, 0, 0, 0, 0});          // wall y = 0
            pts.push_back({0, u, v * 0.8f, 0, 0, 0, 0});          // wall x = 0
            if (i < 12 && j < 12) pts.push_back({0.4f * s + u * 0.25f, 0.4f * s + v * 0.25f, 0.3f, 0, 0, 0, 0});
        }
    return pts;
}

bool same_bits(const ov3d::Segmentation &a, const ov3d::Segmentation &b) {
    return a.labels.size() == b.labels.size() && a.scores.size() == b.scores.size() &&
           std::memcmp(a.labels.data(), b.labels.data(), a.labels.size() * sizeof(int32_t)) == 0 &&
           std::memcmp(a.scores.data(), b.scores.data(), a.scores.size() * sizeof(float)) == 0;
}

}  // namespace

int main(int argc, char **argv) {
    try {
        ov3d::check_abi();
        const std::string path = argc > 1 ? argv[1] : OV3D_EXAMPLE_MODEL;
        ov3d::Model model(path);                      // immutable: shared by every session below
        const std::size_t dim = static_cast<std::size_t>(model.head_dim(0));
        const std::vector<std::string> words = {"floor", "wall", "box", "fire extinguisher"};
        std::vector<float> emb(words.size() * dim);
        for (std::size_t i = 0; i < emb.size(); i++) emb[i] = std::sin(0.7f * static_cast<float>(i) + 1.0f);
        auto vocab = ov3d::Vocabulary::from_embeddings(emb, dim, words);   // immutable: shared too

        const int n_clouds = 10;
        std::vector<std::vector<RobotPoint>> clouds;
        for (int c = 0; c < n_clouds; c++) clouds.push_back(make_cloud(c));
        auto view = [&](int c) { return ov3d::points_view(&clouds[c][0].x, clouds[c].size(), sizeof(RobotPoint)); };

        ov3d_segment_params params = ov3d_segment_default_params();
        params.voxel_size = 0.05f;

        // Alone: one session, one cloud after the other.
        std::vector<ov3d::Segmentation> alone;
        {
            ov3d::Session session(model, 0.05f, /*n_threads=*/1);
            for (int c = 0; c < n_clouds; c++) alone.push_back(session.segment(view(c), vocab, &params));
        }
        // Together: two threads, a session each, the same model; thread t takes clouds t, t+2, ...
        std::vector<ov3d::Segmentation> together(n_clouds);
        std::vector<std::string> errors(2);
        std::vector<std::thread> threads;
        for (int t = 0; t < 2; t++)
            threads.emplace_back([&, t] {
                try {
                    ov3d::Session session(model, 0.05f, /*n_threads=*/1);
                    for (int c = t; c < n_clouds; c += 2) together[c] = session.segment(view(c), vocab, &params);
                } catch (const ov3d::Error &e) { errors[t] = e.what(); }
            });
        for (auto &th : threads) th.join();
        for (auto &e : errors)
            if (!e.empty()) { std::cerr << "segment_threads: " << e << "\n"; return 1; }

        int equal = 0;
        std::size_t points = 0;
        for (int c = 0; c < n_clouds; c++) {
            equal += same_bits(alone[c], together[c]) ? 1 : 0;
            points += clouds[c].size();
        }
        std::printf("segment_threads: %d clouds (%zu points, %zu voxels in the last) on two threads sharing one model: "
                    "%d of %d identical bit for bit to the single-threaded results\n",
                    n_clouds, points, together[n_clouds - 1].info.n_voxels, equal, n_clouds);
        // A heat-map from the last segmentation of a session, without a second network run.
        ov3d::Session session(model, 0.05f, 1);
        auto seg = session.segment(view(0), vocab, &params);
        auto heat = session.query(&emb[3 * dim], dim, seg.labels.size());
        std::printf("segment_threads: heat-map of \"%s\" over %zu points, first %.4f\n", words[3].c_str(), heat.size(),
                    static_cast<double>(heat[0]));
        return equal == n_clouds ? 0 : 1;
    } catch (const ov3d::Error &e) {
        std::cerr << "segment_threads: " << e.code() << ": " << e.what() << "\n";
        return 1;
    }
}
