// C++ wrapper test for MinkUNet inference (issue 3): ov3d::Model / Session / Result against the
// spconv golden fixtures in Tests/Fixtures/minkunet (made by tools/minkunet_reference.py), plus
// error paths (bad files, hostile inputs, moved-from objects).
// Run from the package root (scripts/test.sh does), or set OV3D_ROOT.
#include "ov3d.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

static int failures = 0, passed = 0;
#define EXPECT(c) do { if (c) ++passed; else { ++failures; std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

// A minimal .npy reader for the fixtures: little-endian '<f4' / '<i4', C order.
struct Npy {
    std::string descr;
    std::vector<std::size_t> shape;
    std::vector<char> data;
    std::size_t rows() const { return shape.empty() ? 0 : shape[0]; }
    std::size_t cols() const { return shape.size() > 1 ? shape[1] : 1; }
    template <typename T> std::vector<T> as(const char *want) const {
        if (descr != want) throw std::runtime_error("npy dtype " + descr + ", expected " + want);
        std::vector<T> v(data.size() / sizeof(T));
        std::memcpy(v.data(), data.data(), v.size() * sizeof(T));
        return v;
    }
};

static Npy read_npy(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot open " + path);
    std::vector<char> all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (all.size() < 10 || std::memcmp(all.data(), "\x93NUMPY", 6) != 0) throw std::runtime_error("not npy: " + path);
    std::size_t hlen, off;
    if (all[6] == 1) { hlen = static_cast<unsigned char>(all[8]) | (static_cast<unsigned char>(all[9]) << 8); off = 10; }
    else { hlen = 0; for (int i = 3; i >= 0; i--) hlen = (hlen << 8) | static_cast<unsigned char>(all[8 + i]); off = 12; }
    std::string h(all.data() + off, hlen);
    Npy n;
    auto d = h.find("'descr': '");
    n.descr = h.substr(d + 10, h.find('\'', d + 10) - (d + 10));
    if (h.find("'fortran_order': False") == std::string::npos) throw std::runtime_error("fortran order: " + path);
    auto s = h.find('(', h.find("'shape'"));
    std::stringstream ss(h.substr(s + 1, h.find(')', s) - s - 1));
    std::string tok;
    while (std::getline(ss, tok, ',')) if (tok.find_first_of("0123456789") != std::string::npos) n.shape.push_back(std::stoul(tok));
    n.data.assign(all.begin() + static_cast<std::ptrdiff_t>(off + hlen), all.end());
    return n;
}

// max |a - b| / max |b| over n values.
static double rel_err(const float *a, const std::vector<float> &b) {
    double d = 0, m = 0;
    for (std::size_t i = 0; i < b.size(); i++) {
        d = std::max(d, std::fabs(double(a[i]) - double(b[i])));
        m = std::max(m, std::fabs(double(b[i])));
    }
    return m > 0 ? d / m : d;
}

// Rows whose argmax differs from `labels` (-1 = near tie in the reference: skipped).
static std::size_t label_mismatches(const float *f, std::size_t rows, std::size_t dim, const std::vector<int32_t> &labels) {
    std::size_t bad = 0;
    for (std::size_t r = 0; r < rows; r++) {
        if (labels[r] < 0) continue;
        const float *row = f + r * dim;
        if (std::max_element(row, row + dim) - row != labels[r]) bad++;
    }
    return bad;
}

template <typename F> static void expect_error(F f, int32_t code, const char *needle, int line) {
    try {
        f();
        ++failures;
        std::fprintf(stderr, "FAIL line %d: no exception\n", line);
    } catch (const ov3d::Error &e) {
        bool ok = e.code() == code && std::strlen(e.what()) > 0 && (!needle || std::strstr(e.what(), needle));
        if (ok) ++passed;
        else { ++failures; std::fprintf(stderr, "FAIL line %d: code %d message '%s'\n", line, e.code(), e.what()); }
    }
}
#define EXPECT_ERROR(code, needle, ...) expect_error([&] { __VA_ARGS__; }, code, needle, __LINE__)

// One fixture case through run_voxels with its input features: every head within 1e-4 relative.
static void check_voxel_case(const std::string &dir, const std::vector<std::string> &head_files) {
    ov3d::Model model(dir + "weights.safetensors");
    ov3d::Session session(model, 0.05f, 1);
    Npy c = read_npy(dir + "coords.npy"), fin = read_npy(dir + "input_features.npy");
    auto coords = c.as<int32_t>("<i4");
    auto feats = fin.as<float>("<f4");
    ov3d::Result r = session.run_voxels(coords, feats, fin.cols());
    EXPECT(r.point_count() == c.rows() && r.voxel_count() == c.rows());
    for (std::size_t h = 0; h < head_files.size(); h++) {
        Npy ref = read_npy(dir + head_files[h]);
        auto want = ref.as<float>("<f4");
        EXPECT(r.feature_dim(static_cast<int32_t>(h)) == static_cast<int32_t>(ref.cols()));
        double e = rel_err(r.features(static_cast<int32_t>(h)), want);
        std::printf("cpp_model_test: %s %s max-abs rel err %.3g\n", dir.c_str(), head_files[h].c_str(), e);
        EXPECT(e < 1e-4);
    }
    auto labels = read_npy(dir + "voxel_labels.npy").as<int32_t>("<i4");
    EXPECT(label_mismatches(r.features(0), r.voxel_count(), static_cast<std::size_t>(r.feature_dim(0)), labels) == 0);
}

int main() {
    const char *root = std::getenv("OV3D_ROOT");
    const std::string fix = std::string(root ? root : ".") + "/Tests/Fixtures/minkunet/";
    const std::string room = fix + "room_18a_w8/";
    try {
        ov3d::check_abi();
        ov3d::Model model(room + "weights.safetensors");
        EXPECT(model.head_count() == 3);
        EXPECT(model.head_name(0) == "final" && model.head_name(1) == "final_dinov2" && model.head_name(2) == "final_sd");
        EXPECT(model.head_dim(0) == 16 && model.head_dim(1) == 8 && model.head_dim(2) == 12);
        EXPECT(model.variant() == "MinkUNet(custom)");
        EXPECT(model.in_channels() == 3);
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, "head", model.head_dim(3));
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, "head", model.head_name(-1));

        // Points: OpenScene's voxeliser -> the fixture's voxels, inverse map and coordinates.
        ov3d::Session session(model, 0.05f, 1);
        Npy pn = read_npy(room + "points.npy");
        auto pts = pn.as<float>("<f4");
        auto inverse = read_npy(room + "inverse.npy").as<int32_t>("<i4");
        auto coords = read_npy(room + "coords.npy").as<int32_t>("<i4");
        ov3d::Result pr = session.run(ov3d::points_view(pts.data(), pn.rows()));
        EXPECT(pr.point_count() == pn.rows());
        EXPECT(pr.voxel_count() == coords.size() / 3);
        EXPECT(std::equal(inverse.begin(), inverse.end(), pr.voxel_index()));
        EXPECT(std::equal(coords.begin(), coords.end(), pr.voxel_coords()));
        // Per-point rows are the voxel rows through the inverse map, for every head.
        for (int32_t h = 0; h < 3; h++) {
            const std::size_t d = static_cast<std::size_t>(pr.feature_dim(h));
            const float *pf = pr.features(h), *vf = pr.voxel_features(h);
            bool same = true;
            for (std::size_t p = 0; p < pr.point_count(); p++)
                same = same && std::memcmp(pf + p * d, vf + static_cast<std::size_t>(inverse[p]) * d, d * sizeof(float)) == 0;
            EXPECT(same);
        }
        // A strided view (x y z inside 16-byte records) gives the same voxels.
        std::vector<float> padded(pn.rows() * 4, -1.0f);
        for (std::size_t i = 0; i < pn.rows(); i++) std::copy_n(&pts[3 * i], 3, &padded[4 * i]);
        ov3d::Result pr2 = session.run(ov3d::points_view(padded.data(), pn.rows(), 16));
        EXPECT(std::equal(inverse.begin(), inverse.end(), pr2.voxel_index()));

        // Voxels with the fixture's input features: all three heads and the labels.
        check_voxel_case(room, {"voxel_features.npy", "voxel_features.final_dinov2.npy", "voxel_features.final_sd.npy"});
        check_voxel_case(fix + "room_34c_w16/", {"voxel_features.npy"});

        // A torch .pth.tar (`module.net3d.` keys) with CUA-O3D linear-probe heads, run on points.
        {
            const std::string pd = fix + "probe_14a_w16/";
            ov3d::Model pm(pd + "model.pth.tar");
            EXPECT(pm.head_count() == 7 && pm.head_name(3) == "final_seg" && pm.head_dim(3) == 5);
            ov3d::Session ps(pm, 0.05f, 1);
            Npy ppn = read_npy(pd + "points.npy");
            auto ppts = ppn.as<float>("<f4");
            auto pinv = read_npy(pd + "inverse.npy").as<int32_t>("<i4");
            ov3d::Result r = ps.run(ov3d::points_view(ppts.data(), ppn.rows()));
            EXPECT(std::equal(pinv.begin(), pinv.end(), r.voxel_index()));
            for (int32_t h = 0; h < pm.head_count(); h++) {
                const std::string name = pm.head_name(h);
                const bool probe = name.rfind("final_seg", 0) == 0;
                const std::string file = probe ? "voxel_logits." + name + ".npy"
                                               : (h == 0 ? std::string("voxel_features.npy") : "voxel_features." + name + ".npy");
                auto want = read_npy(pd + file).as<float>("<f4");
                EXPECT(want.size() == r.voxel_count() * static_cast<std::size_t>(r.feature_dim(h)));
                double e = rel_err(r.voxel_features(h), want);
                std::printf("cpp_model_test: probe_14a_w16 %s max-abs rel err %.3g\n", name.c_str(), e);
                EXPECT(e < 1e-4);
                if (probe) {
                    auto labels = read_npy(pd + "voxel_labels." + name + ".npy").as<int32_t>("<i4");
                    EXPECT(label_mismatches(r.voxel_features(h), r.voxel_count(), static_cast<std::size_t>(r.feature_dim(h)), labels) == 0);
                }
            }
        }

        // L2-normalised rows have unit length; a single-head run computes only that head.
        auto feats = read_npy(room + "input_features.npy").as<float>("<f4");
        ov3d_run_params rp = ov3d_run_default_params();
        rp.head = 2;
        ov3d::Result one = session.run_voxels(coords, feats, 3, &rp);
        EXPECT(one.feature_dim(2) == 12);
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, "not computed", one.feature_dim(0));
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, "not computed", one.features(0));
        const float *n = one.voxel_features(2, true);
        double worst = 0;
        for (std::size_t r = 0; r < one.voxel_count(); r++) {
            double s = 0;
            for (int c = 0; c < 12; c++) s += double(n[r * 12 + c]) * n[r * 12 + c];
            worst = std::max(worst, std::fabs(std::sqrt(s) - 1));
        }
        EXPECT(worst < 1e-5);

        // Hostile inputs: each an ov3d::Error with a message, never a crash.
        std::vector<float> empty;
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, nullptr, session.run(ov3d::points_view(empty.data(), 0)));
        std::vector<float> nan_pts = {0, 0, 0, std::numeric_limits<float>::quiet_NaN(), 1, 1};
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, "non-finite", session.run(ov3d::points_view(nan_pts.data(), 2)));
        std::vector<float> inf_pts = {0, 0, 0, 1, std::numeric_limits<float>::infinity(), 1};
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, nullptr, session.run(ov3d::points_view(inf_pts.data(), 2)));
        std::vector<float> far = {0, 0, 0, 60000, 0, 0};  // 1.2M voxels at 5 cm
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, "2^20", session.run(ov3d::points_view(far.data(), 2)));
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, nullptr, session.run(ov3d::points_view(pts.data(), 1, 4)));
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, nullptr, session.run_voxels(std::vector<int32_t>{0, 0, 0, 0, 0, 0}));
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, nullptr, session.run_voxels(std::vector<int32_t>{1 << 20, 0, 0}));
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, nullptr, session.run_voxels(std::vector<int32_t>{0, 0}));
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, nullptr, session.run_voxels(std::vector<int32_t>{0, 0, 0}, {1, 1}, 2));
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, nullptr, session.run_voxels(std::vector<int32_t>{}));
        std::vector<float> nan_feat = {1, std::nanf(""), 1};
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, "NaN", session.run_voxels(std::vector<int32_t>{0, 0, 0}, nan_feat, 3));
        // One point and all points in one voxel are valid clouds.
        std::vector<float> same(300, 0.5f);
        EXPECT(session.run(ov3d::points_view(same.data(), 100)).voxel_count() == 1);
        EXPECT(session.run(ov3d::points_view(same.data(), 1)).point_count() == 1);
        ov3d_session_params bad = ov3d_session_default_params();
        bad.voxel_size = -1;
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, "voxel_size", ov3d::Session(model, &bad));

        // A progress callback that returns non-zero cancels the run: OV3D_ERR_CANCELLED, no result.
        ov3d_session_params sp = ov3d_session_default_params();
        sp.voxel_size = 0.05f;
        int calls = 0;
        sp.progress = [](float fraction, const char *stage, void *user) -> int {
            ++*static_cast<int *>(user);
            return fraction > 0.3f && stage != nullptr;
        };
        sp.progress_user_data = &calls;
        ov3d::Session cancelling(model, &sp);
        EXPECT_ERROR(OV3D_ERR_CANCELLED, nullptr, cancelling.run_voxels(coords, feats, 3));
        EXPECT(calls > 1);

        // Moved-from objects are empty: their calls throw, the new owner works.
        ov3d::Model moved = std::move(model);
        EXPECT(!model && moved && moved.head_count() == 3);
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, "model", model.head_count());
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, "model", ov3d::Session(model, 0.05f));
        ov3d::Session s2 = std::move(session);
        EXPECT(!session && s2);
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, "session", session.run(ov3d::points_view(pts.data(), pn.rows())));
        ov3d::Result r2;
        r2 = std::move(pr);
        EXPECT(!pr && r2 && r2.point_count() == pn.rows());
        EXPECT_ERROR(OV3D_ERR_INVALID_ARGUMENT, "result", pr.voxel_count());
        // The session keeps the model alive after the last Model owner is gone.
        moved.reset();
        EXPECT(s2.run_voxels(std::vector<int32_t>{0, 0, 0, 1, 0, 0}).voxel_count() == 2);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "unexpected error: %s\n", e.what());
        ++failures;
    }

    // Bad files: a missing file, a file that is not a checkpoint.
    EXPECT_ERROR(OV3D_ERR_IO, "nonexistent", ov3d::Model(fix + "nonexistent.safetensors"));
    try {
        ov3d::Model m(room + "points.npy");
        ++failures;
    } catch (const ov3d::Error &e) {
        EXPECT(e.code() < 0 && std::strlen(e.what()) > 0);
    }
    std::printf("cpp_model_test: %d passed, %d failed\n", passed, failures);
    return failures ? 1 : 0;
}
