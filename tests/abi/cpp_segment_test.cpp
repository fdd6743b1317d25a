// C++ wrapper test for segmentation (issue 14): Session::segment / query against the network's
// own per-point features scored here in double precision, NaN points, capacity checks of
// ov3d_segment / ov3d_query, and the fixed buffer-size bug of Vocabulary::classify / heatmap
// (a feature dimension differing from the vocabulary's is an error, never a read past the
// caller's buffer: the features below end at a guard page).
// Run from the package root (scripts/test.sh does), or set OV3D_ROOT.
#include "ov3d.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

static int failures = 0, passed = 0;
#define EXPECT(c) do { if (c) ++passed; else { ++failures; std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

template <typename F> static bool throws_code(F f, int32_t code) {
    try { f(); } catch (const ov3d::Error &e) { return e.code() == code && std::strlen(e.what()) > 0; }
    return false;
}

int main() {
    const char *root = std::getenv("OV3D_ROOT");
    const std::string base = root ? root : ".";
    ov3d::check_abi();
    ov3d::Model model(base + "/Tests/Fixtures/minkunet/room_18a_w8/weights.safetensors");
    const std::size_t d = 16, k = 4;
    std::vector<float> emb(k * d);
    for (std::size_t i = 0; i < emb.size(); i++) emb[i] = std::cos(1.3f * static_cast<float>(i));
    auto vocab = ov3d::Vocabulary::from_embeddings(emb, d, {"wall", "floor", "chair", "fire extinguisher"});

    // A small room: floor, wall, a block; every 13th point NaN (an organised cloud's holes).
    std::vector<float> xyz;
    for (int i = 0; i < 30; i++)
        for (int j = 0; j < 30; j++) {
            const float u = 0.04f * static_cast<float>(i), v = 0.04f * static_cast<float>(j);
            xyz.insert(xyz.end(), {u, v, 0.0f, u, 0.0f, v, 0.4f + u / 4, 0.4f + v / 4, 0.3f});
        }
    const std::size_t n = xyz.size() / 3;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (std::size_t i = 0; i < n; i += 13) xyz[3 * i + 1] = nan;

    ov3d::Session session(model, 0.05f, 1);
    ov3d::Segmentation seg = session.segment(ov3d::points_view(xyz.data(), n), vocab, nullptr, true);
    EXPECT(seg.labels.size() == n && seg.scores.size() == n && seg.probabilities.size() == n * k);
    EXPECT(seg.info.n_points == n && seg.info.n_skipped == (n + 12) / 13 && std::fabs(seg.info.voxel_size - 0.05f) < 1e-7f);

    // Reference: the network's per-point features of the kept points, scored in double.
    std::vector<float> kept;
    std::vector<std::size_t> where;
    for (std::size_t i = 0; i < n; i++)
        if (i % 13 != 0) { kept.insert(kept.end(), &xyz[3 * i], &xyz[3 * i] + 3); where.push_back(i); }
    ov3d::Result r = session.run(ov3d::points_view(kept.data(), where.size()));
    const float *f = r.features(0);
    int mism = 0;
    double err = 0;
    for (std::size_t j = 0; j < where.size(); j++) {
        double best = -2, second = -2, fn = 0;
        int bi = -1;
        for (std::size_t c = 0; c < d; c++) fn += double(f[j * d + c]) * f[j * d + c];
        std::vector<double> s(k);
        for (std::size_t w = 0; w < k; w++) {
            double dot = 0, en = 0;
            for (std::size_t c = 0; c < d; c++) { dot += double(f[j * d + c]) * emb[w * d + c]; en += double(emb[w * d + c]) * emb[w * d + c]; }
            s[w] = dot / std::sqrt(fn * en);
            if (s[w] > best) { second = best; best = s[w]; bi = static_cast<int>(w); } else if (s[w] > second) second = s[w];
        }
        const std::size_t i = where[j];
        if (best - second > 1e-5 && seg.labels[i] != bi) mism++;
        err = std::fmax(err, std::fabs(seg.scores[i] - s[static_cast<std::size_t>(seg.labels[i])]));
    }
    EXPECT(mism == 0);
    EXPECT(err < 2e-5);
    bool skipped_ok = true;
    for (std::size_t i = 0; i < n; i += 13) skipped_ok = skipped_ok && seg.labels[i] == -1 && std::isnan(seg.scores[i]);
    EXPECT(skipped_ok);

    // Heat-map of a word = the scores column of that word.
    auto heat = session.query(&emb[2 * d], d, n);
    bool heat_ok = heat.size() == n;
    for (std::size_t i = 0; i < n && heat_ok; i++)
        if (seg.labels[i] == 2) heat_ok = std::fabs(heat[i] - seg.scores[i]) < 1e-6f;
    EXPECT(heat_ok);

    // Capacities are checked; a wrong query dimension is an error.
    auto pts = ov3d::points_view(xyz.data(), n);
    std::vector<int32_t> small(n - 1);
    EXPECT(ov3d_segment(session.get(), &pts, vocab.get(), nullptr, small.data(), small.size(), nullptr, 0, nullptr, 0,
                        nullptr, 0, nullptr) == OV3D_ERR_INVALID_ARGUMENT);
    EXPECT(std::strstr(ov3d_last_error(), "labels_capacity") != nullptr);
    std::vector<float> out(n);
    EXPECT(ov3d_query(session.get(), emb.data(), d, out.data(), out.size()) == OV3D_ERR_INVALID_ARGUMENT);  // cleared by the failure
    session.segment(pts, vocab);
    EXPECT(ov3d_query(session.get(), emb.data(), d - 1, out.data(), out.size()) == OV3D_ERR_INVALID_ARGUMENT);
    EXPECT(ov3d_query(session.get(), emb.data(), d, out.data(), n - 1) == OV3D_ERR_INVALID_ARGUMENT);
    EXPECT(ov3d_query(session.get(), emb.data(), d, out.data(), n) == OV3D_OK);
    ov3d_segment_info bad_info{};
    EXPECT(ov3d_segment(session.get(), &pts, vocab.get(), nullptr, nullptr, 0, nullptr, 0, nullptr, 0, nullptr, 0,
                        &bad_info) == OV3D_ERR_INVALID_ARGUMENT);   // struct_size not set
    // An ABI 1.0 caller's ov3d_segment_info (without broadcast_ms): accepted, nothing written past it.
    ov3d_segment_info old_info{};
    old_info.struct_size = offsetof(ov3d_segment_info, broadcast_ms);
    old_info.broadcast_ms = -7.0;
    EXPECT(ov3d_segment(session.get(), &pts, vocab.get(), nullptr, nullptr, 0, nullptr, 0, nullptr, 0, nullptr, 0,
                        &old_info) == OV3D_OK);
    EXPECT(old_info.struct_size == offsetof(ov3d_segment_info, broadcast_ms) && old_info.n_points == n &&
           old_info.total_ms > 0 && old_info.broadcast_ms == -7.0);
    ov3d_segment_info new_info{};
    new_info.struct_size = sizeof new_info;
    new_info.broadcast_ms = -7.0;
    EXPECT(ov3d_segment(session.get(), &pts, vocab.get(), nullptr, nullptr, 0, nullptr, 0, nullptr, 0, nullptr, 0,
                        &new_info) == OV3D_OK);
    EXPECT(new_info.broadcast_ms >= 0 && new_info.broadcast_ms <= new_info.total_ms);
    auto wrong = ov3d::Vocabulary::from_embeddings(std::vector<float>(2 * 8, 1.0f), 8);
    EXPECT(throws_code([&] { session.segment(pts, wrong); }, OV3D_ERR_INVALID_ARGUMENT));

    // Vocabulary::classify / heatmap with features of another size: an error, not a read past the
    // caller's buffer. The buffer (10 rows of 8 floats) ends exactly at a PROT_NONE page.
    const long page = sysconf(_SC_PAGESIZE);
    char *mem = static_cast<char *>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    EXPECT(mem != MAP_FAILED);
    if (mem != MAP_FAILED) {
        mprotect(mem + page, page, PROT_NONE);
        float *rows = reinterpret_cast<float *>(mem + page) - 10 * 8;
        for (int i = 0; i < 80; i++) rows[i] = 1;
        std::vector<int32_t> labels;
        std::vector<float> scores;
        EXPECT(throws_code([&] { vocab.classify(rows, 10, 8, labels, scores); }, OV3D_ERR_INVALID_ARGUMENT));
        EXPECT(throws_code([&] { vocab.heatmap(0, rows, 10, 8); }, OV3D_ERR_INVALID_ARGUMENT));
        std::vector<float> odd(17, 1.0f);
        EXPECT(throws_code([&] { vocab.classify(odd, labels, scores); }, OV3D_ERR_INVALID_ARGUMENT));
        std::vector<float> good(3 * d, 1.0f);
        vocab.classify(good, labels, scores);
        EXPECT(labels.size() == 3 && vocab.heatmap(1, good).size() == 3);
        munmap(mem, 2 * page);
    }
    std::printf("cpp_segment_test: %d passed, %d failed\n", passed, failures);
    return failures == 0 ? 0 : 1;
}
