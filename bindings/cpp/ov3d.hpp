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

/// A point cloud or mesh owned by the library (PCD / PLY / npy / .bin), not thread-safe.
///     auto c = ov3d::Cloud::load("scene.ply");
///     auto [ids, k] = ov3d::superpoints(c);          // mesh method, segmentator defaults
class Cloud : public Handle<ov3d_cloud, ov3d_cloud_free> {
public:
    using Handle::Handle;
    static Cloud load(const std::string &path, bool drop_nan = false) {
        ov3d_cloud_load_params p = ov3d_cloud_load_default_params();
        p.drop_nan = drop_nan ? 1 : 0;
        ov3d_cloud *h = nullptr;
        check(ov3d_cloud_load(path.c_str(), &p, &h));
        return Cloud(h);
    }
    static Cloud from_points(const ov3d_points &points) {
        ov3d_cloud *h = nullptr;
        check(ov3d_cloud_from_points(&points, &h));
        return Cloud(h);
    }
    std::size_t size() const {
        std::size_t n = 0;
        check(ov3d_cloud_count(h_, &n));
        return n;
    }
    /// Borrowed x y z floats (3 per point), valid while the cloud lives and is not relabelled.
    const float *positions() const {
        const float *p = nullptr;
        check(ov3d_cloud_positions(h_, &p));
        return p;
    }
    std::vector<int32_t> faces() const {
        const int32_t *f = nullptr;
        std::size_t n = 0;
        check(ov3d_cloud_faces(h_, &f, &n));
        return f ? std::vector<int32_t>(f, f + 3 * n) : std::vector<int32_t>();
    }
    void set_labels(const std::vector<int32_t> &labels, const std::vector<float> *scores = nullptr, bool colorize = true) {
        check(ov3d_cloud_set_labels(h_, labels.data(), scores ? scores->data() : nullptr, labels.size(), colorize ? 1 : 0));
    }
    void save(const std::string &path, ov3d_cloud_format format = OV3D_FORMAT_AUTO) const {
        check(ov3d_cloud_save(h_, path.c_str(), format));
    }
};

/// Superpoints of a cloud: a segment id per point (-1 unassigned) and the segment count.
inline std::pair<std::vector<int32_t>, int32_t> superpoints(const Cloud &cloud,
                                                            const ov3d_superpoint_params *params = nullptr) {
    std::vector<int32_t> ids(cloud.size());
    int32_t k = 0;
    check(ov3d_superpoints_compute(cloud.get(), params, ids.data(), ids.size(), &k));
    return {std::move(ids), k};
}

/// Mean of each segment's features (n_points x dim) -> n_segments x dim.
inline std::vector<float> superpoints_mean_pool(const std::vector<int32_t> &ids, int32_t k,
                                                const std::vector<float> &features, std::size_t dim) {
    std::vector<float> out(static_cast<std::size_t>(k) * dim);
    check(ov3d_superpoints_mean_pool(ids.data(), ids.size(), k, features.data(), dim, out.data(), out.size()));
    return out;
}

// ---- Models and sessions (issues 3, 4) ----

// MinkUNet inference (issue 3): an immutable Model, a per-thread Session, the Result of one run.
//     ov3d::Model model("openscene_lseg.safetensors");
//     ov3d::Session session(model, /*voxel_size=*/0.02f);
//     ov3d::Result r = session.run(ov3d::points_view(xyz, n));
//     const float *f = r.features();                  // r.point_count() x r.feature_dim() floats

/// The output of one run (ov3d_result): per-point and per-voxel features of the computed heads,
/// the voxel of every point and the voxel coordinates. Every pointer it returns is owned by the
/// result and valid until it is destroyed. Not thread-safe.
class Result : public Handle<ov3d_result, ov3d_result_free> {
public:
    using Handle::Handle;
    /// Input points (rows of features()); for voxel runs, the input rows.
    std::size_t point_count() const {
        std::size_t n = 0;
        check(ov3d_result_point_count(h_, &n));
        return n;
    }
    /// Occupied voxels (rows of voxel_features()).
    std::size_t voxel_count() const {
        std::size_t n = 0;
        check(ov3d_result_voxel_count(h_, &n));
        return n;
    }
    /// Feature dimension of model head `head` (throws if this run did not compute it).
    int32_t feature_dim(int32_t head = 0) const {
        int32_t d = 0;
        check(ov3d_result_feature_dim(h_, head, &d));
        return d;
    }
    /// point_count() x feature_dim(head) row-major floats, raw or L2-normalised per row.
    const float *features(int32_t head = 0, bool normalized = false) {
        const float *f = nullptr;
        check(ov3d_result_features(h_, head, normalized ? 1 : 0, &f));
        return f;
    }
    /// voxel_count() x feature_dim(head) row-major floats, raw or L2-normalised per row.
    const float *voxel_features(int32_t head = 0, bool normalized = false) {
        const float *f = nullptr;
        check(ov3d_result_voxel_features(h_, head, normalized ? 1 : 0, &f));
        return f;
    }
    /// Voxel row of every point (point_count() int32).
    const int32_t *voxel_index() const {
        const int32_t *p = nullptr;
        check(ov3d_result_voxel_index(h_, &p));
        return p;
    }
    /// Voxel coordinates x y z (voxel_count() x 3 int32; shifted to min 0 for point runs).
    const int32_t *voxel_coords() const {
        const int32_t *p = nullptr;
        check(ov3d_result_voxel_coords(h_, &p));
        return p;
    }
};

/// An immutable MinkUNet loaded from a checkpoint (torch .pth / .pth.tar or safetensors); the
/// architecture and heads are read from its keys and shapes. Shareable between threads.
class Model : public Handle<ov3d_model, ov3d_model_free> {
public:
    using Handle::Handle;
    explicit Model(const std::string &path, const ov3d_model_params *params = nullptr) {
        ov3d_model *h = nullptr;
        check(ov3d_model_load(path.c_str(), params, &h));
        h_ = h;
    }
    int32_t head_count() const {
        int32_t n = 0;
        check(ov3d_model_head_count(h_, &n));
        return n;
    }
    int32_t head_dim(int32_t head = 0) const {
        int32_t d = 0;
        check(ov3d_model_head_dim(h_, head, &d));
        return d;
    }
    /// "final", "final_dinov2", "final_sd".
    std::string head_name(int32_t head = 0) const {
        const char *s = nullptr;
        check(ov3d_model_head_name(h_, head, &s));
        return s;
    }
    /// "MinkUNet18A", ..., or "MinkUNet(custom)".
    std::string variant() const {
        const char *s = nullptr;
        check(ov3d_model_variant(h_, &s));
        return s;
    }
    int32_t in_channels() const {
        int32_t c = 0;
        check(ov3d_model_in_channels(h_, &c));
        return c;
    }
};

class Vocabulary;
class TextEncoder;
struct Segmentation;

/// A per-thread workspace running one model (which it keeps alive). Not thread-safe.
class Session : public Handle<ov3d_session, ov3d_session_free> {
public:
    using Handle::Handle;
    /// `params` may be NULL (defaults: voxel size 0.02, process thread count).
    explicit Session(const Model &model, const ov3d_session_params *params = nullptr) {
        ov3d_session *h = nullptr;
        check(ov3d_session_create(model.get(), params, &h));
        h_ = h;
    }
    Session(const Model &model, float voxel_size, int32_t n_threads = 0) {
        ov3d_session_params p = ov3d_session_default_params();
        p.voxel_size = voxel_size;
        p.n_threads = n_threads;
        ov3d_session *h = nullptr;
        check(ov3d_session_create(model.get(), &p, &h));
        h_ = h;
    }
    /// Voxelises the points (borrowed for the call) and runs the network with ones as input.
    Result run(const ov3d_points &points, const ov3d_run_params *params = nullptr) {
        ov3d_result *r = nullptr;
        check(ov3d_session_run(h_, &points, params, &r));
        return Result(r);
    }
    /// Runs on `count` unique voxel coordinates (x y z rows) with `channels` features per row
    /// (`features` NULL = ones). Result rows follow the input rows.
    Result run_voxels(const int32_t *coords, std::size_t count, const float *features = nullptr,
                      std::size_t channels = 0, const ov3d_run_params *params = nullptr) {
        ov3d_result *r = nullptr;
        check(ov3d_session_run_voxels(h_, coords, count, features, channels, params, &r));
        return Result(r);
    }
    /// As above with x y z rows in a vector and (empty = ones) `channels` features per row.
    Result run_voxels(const std::vector<int32_t> &coords, const std::vector<float> &features = {},
                      std::size_t channels = 0, const ov3d_run_params *params = nullptr) {
        if (coords.size() % 3 != 0) throw Error(OV3D_ERR_INVALID_ARGUMENT, "coords must hold 3 values per voxel");
        const std::size_t n = coords.size() / 3;
        if (!features.empty() && features.size() != n * channels)
            throw Error(OV3D_ERR_INVALID_ARGUMENT, "features must hold count x channels values");
        return run_voxels(coords.data(), n, features.empty() ? nullptr : features.data(),
                          features.empty() ? 0 : channels, params);
    }
    /// Segments the points (borrowed for the call; NaN points get label -1) against `vocabulary`
    /// (ov3d_segment); defined after Vocabulary below. The session keeps the voxel features for query().
    inline Segmentation segment(const ov3d_points &points, const Vocabulary &vocabulary,
                                       const ov3d_segment_params *params = nullptr, bool probabilities = false,
                                       bool features = false);
    /// Heat-map of the last segmentation: cosine similarity of every point with `embedding`
    /// (`dim` floats), NaN for skipped points; no network run.
    std::vector<float> query(const float *embedding, std::size_t dim, std::size_t n_points) {
        std::vector<float> out(n_points);
        check(ov3d_query(h_, embedding, dim, out.data(), out.size()));
        return out;
    }
    std::vector<float> query(const std::vector<float> &embedding, std::size_t n_points) {
        return query(embedding.data(), embedding.size(), n_points);
    }
};

/// What Session::segment returns: per point (input order) a label (index into the vocabulary,
/// -1 = skipped), its cosine score (NaN when skipped), optional probabilities (n x words) and
/// unit features (n x dim), and the call's ov3d_segment_info.
struct Segmentation {
    std::vector<int32_t> labels;
    std::vector<float> scores;
    std::vector<float> probabilities;
    std::vector<float> features;
    ov3d_segment_info info{};
};

// Checkpoints (issue 4): PyTorch .pth / .pth.tar and safetensors, read without PyTorch.

/// Converts a checkpoint to safetensors with ov3d metadata (see ov3d_convert).
inline void convert(const std::string &in_path, const std::string &out_path, double voxel_size = 0,
                    const std::vector<std::string> &labels = {}, bool strip_prefixes = false) {
    ov3d_convert_params p = ov3d_convert_default_params();
    p.voxel_size = voxel_size;
    p.strip_prefixes = strip_prefixes ? 1 : 0;
    std::vector<const char *> ptrs;
    for (const auto &l : labels) ptrs.push_back(l.c_str());
    p.labels = ptrs.empty() ? nullptr : ptrs.data();
    p.n_labels = ptrs.size();
    check(ov3d_convert(in_path.c_str(), out_path.c_str(), &p));
}

/// An opened checkpoint (immutable; shareable between threads).
class Checkpoint : public Handle<ov3d_checkpoint, ov3d_checkpoint_free> {
public:
    explicit Checkpoint(const std::string &path) {
        ov3d_checkpoint *h = nullptr;
        check(ov3d_checkpoint_open(path.c_str(), &h));
        h_ = h;
    }
    std::size_t size() const {
        std::size_t n = 0;
        check(ov3d_checkpoint_count(h_, &n));
        return n;
    }
    std::string name(std::size_t i) const {
        const char *n = nullptr;
        check(ov3d_checkpoint_tensor(h_, i, &n, nullptr, nullptr, nullptr, 0));
        return n;
    }
    std::string dtype(std::size_t i) const {
        const char *d = nullptr;
        check(ov3d_checkpoint_tensor(h_, i, nullptr, &d, nullptr, nullptr, 0));
        return d;
    }
    std::vector<int64_t> shape(std::size_t i) const {
        std::size_t rank = 0;
        check(ov3d_checkpoint_tensor(h_, i, nullptr, nullptr, &rank, nullptr, 0));
        std::vector<int64_t> s(rank);
        check(ov3d_checkpoint_tensor(h_, i, nullptr, nullptr, &rank, s.data(), s.size()));
        return s;
    }
    std::size_t index(const std::string &name) const {
        std::size_t i = 0;
        check(ov3d_checkpoint_find(h_, name.c_str(), &i));
        return i;
    }
    /// The tensor's values converted to float32, row-major.
    std::vector<float> read_f32(const std::string &name) const {
        std::size_t i = index(name);
        std::size_t n = 1;
        for (int64_t d : shape(i)) n *= static_cast<std::size_t>(d);
        std::vector<float> v(n);
        check(ov3d_checkpoint_read_f32(h_, i, v.data(), v.size()));
        return v;
    }
    /// Metadata value, or "" when absent (`found` tells which).
    std::string metadata(const std::string &key, bool *found = nullptr) const {
        const char *v = nullptr;
        check(ov3d_checkpoint_metadata(h_, key.c_str(), &v));
        if (found) *found = v != nullptr;
        return v ? v : "";
    }
};

// ---- Text (issue 5) ----

/// A vocabulary (names + unit-length embeddings); immutable, shareable between threads.
class Vocabulary : public Handle<ov3d_vocabulary, ov3d_vocabulary_free> {
public:
    using Handle::Handle;
    /// From the host's own embeddings (n x dim, row-major); names may be empty ("0", "1", ...).
    static Vocabulary from_embeddings(const std::vector<float> &emb, std::size_t dim,
                                      const std::vector<std::string> &names = {}) {
        if (dim == 0) throw Error(OV3D_ERR_INVALID_ARGUMENT, "dim is 0");
        std::vector<const char *> p;
        for (auto &n : names) p.push_back(n.c_str());
        ov3d_vocabulary *v = nullptr;
        check(ov3d_vocabulary_from_embeddings(names.empty() ? nullptr : p.data(), emb.data(), emb.size() / dim, dim, &v));
        return Vocabulary(v);
    }
    std::size_t size() const { std::size_t n = 0; check(ov3d_vocabulary_count(h_, &n)); return n; }
    std::size_t dim() const { std::size_t d = 0; check(ov3d_vocabulary_dim(h_, &d)); return d; }
    std::string name(std::size_t i) const { const char *s = nullptr; check(ov3d_vocabulary_name(h_, i, &s)); return s; }
    /// Per point: best word index and its cosine score. `features` holds `n_points` rows of
    /// `feature_dim` floats (the caller's buffer: its size is never inferred from the
    /// vocabulary); `feature_dim` must equal dim(), else ov3d::Error.
    void classify(const float *features, std::size_t n_points, std::size_t feature_dim, std::vector<int32_t> &labels,
                  std::vector<float> &scores, int32_t n_threads = 0) const {
        labels.resize(n_points);
        scores.resize(n_points);
        check(ov3d_vocabulary_classify(h_, features, n_points, feature_dim, n_threads, labels.data(), scores.data()));
    }
    /// As above for row-major features whose size must be a multiple of dim().
    void classify(const std::vector<float> &features, std::vector<int32_t> &labels, std::vector<float> &scores,
                  int32_t n_threads = 0) const {
        const std::size_t d = dim();
        if (d == 0 || features.size() % d != 0)
            throw Error(OV3D_ERR_INVALID_ARGUMENT, "features do not hold rows of the vocabulary's dim floats");
        classify(features.data(), features.size() / d, d, labels, scores, n_threads);
    }
    /// Cosine similarity of every point (`n_points` rows of `feature_dim` floats) with word `query`.
    std::vector<float> heatmap(std::size_t query, const float *features, std::size_t n_points, std::size_t feature_dim) const {
        std::vector<float> out(n_points);
        check(ov3d_vocabulary_heatmap(h_, query, features, n_points, feature_dim, out.data(), out.size()));
        return out;
    }
    std::vector<float> heatmap(std::size_t query, const std::vector<float> &features) const {
        const std::size_t d = dim();
        if (d == 0 || features.size() % d != 0)
            throw Error(OV3D_ERR_INVALID_ARGUMENT, "features do not hold rows of the vocabulary's dim floats");
        return heatmap(query, features.data(), features.size() / d, d);
    }
};

inline Segmentation Session::segment(const ov3d_points &points, const Vocabulary &vocabulary,
                                     const ov3d_segment_params *params, bool probabilities, bool features) {
    Segmentation r;
    const std::size_t n = points.count, k = vocabulary.size(), d = vocabulary.dim();
    r.labels.resize(n);
    r.scores.resize(n);
    if (probabilities) r.probabilities.resize(n * k);
    if (features) r.features.resize(n * d);
    r.info.struct_size = sizeof(ov3d_segment_info);
    check(ov3d_segment(h_, &points, vocabulary.get(), params, r.labels.data(), r.labels.size(), r.scores.data(),
                       r.scores.size(), probabilities ? r.probabilities.data() : nullptr, r.probabilities.size(),
                       features ? r.features.data() : nullptr, r.features.size(), &r.info));
    return r;
}

/// Heat-map of a text in the session's last segmentation (ov3d_query_text); `n_points` of it.
inline std::vector<float> query_text(Session &session, const TextEncoder &encoder, const std::string &text,
                                     std::size_t n_points, const std::string &prompt_template = "");

/// A CLIP text encoder; immutable, shareable between threads.
class TextEncoder : public Handle<ov3d_text_encoder, ov3d_text_encoder_free> {
public:
    using Handle::Handle;
    TextEncoder(const std::string &weights, const std::string &vocab, const ov3d_text_encoder_params *params = nullptr) {
        check(ov3d_text_encoder_load(weights.c_str(), vocab.c_str(), params, &h_));
    }
    std::size_t dim() const { std::size_t d = 0; check(ov3d_text_encoder_dim(h_, &d)); return d; }
    /// texts.size() x dim() floats, row-major. `prompt_template` e.g. "a {} in a scene" (empty = none).
    std::vector<float> encode(const std::vector<std::string> &texts, const std::string &prompt_template = "",
                              bool normalize = true) const {
        std::vector<const char *> p;
        for (auto &t : texts) p.push_back(t.c_str());
        ov3d_text_encode_params tp = ov3d_text_encode_default_params();
        tp.normalize = normalize ? 1 : 0;
        tp.prompt_template = prompt_template.empty() ? nullptr : prompt_template.c_str();
        std::vector<float> out(texts.size() * dim());
        check(ov3d_text_encode(h_, p.data(), p.size(), &tp, out.data(), out.size()));
        return out;
    }
    Vocabulary vocabulary(const std::vector<std::string> &names, const std::string &prompt_template = "") const {
        std::vector<const char *> p;
        for (auto &t : names) p.push_back(t.c_str());
        ov3d_text_encode_params tp = ov3d_text_encode_default_params();
        tp.prompt_template = prompt_template.empty() ? nullptr : prompt_template.c_str();
        ov3d_vocabulary *v = nullptr;
        check(ov3d_vocabulary_from_texts(h_, p.data(), p.size(), &tp, &v));
        return Vocabulary(v);
    }
    /// A built-in label set ("scannet20", ...) with OpenScene's prompt rules.
    Vocabulary label_set(const std::string &name, const std::string &prompt_template = "a {} in a scene") const {
        ov3d_text_encode_params tp = ov3d_text_encode_default_params();
        tp.prompt_template = prompt_template.empty() ? nullptr : prompt_template.c_str();
        ov3d_vocabulary *v = nullptr;
        check(ov3d_vocabulary_from_label_set(h_, name.c_str(), &tp, &v));
        return Vocabulary(v);
    }
};


inline std::vector<float> query_text(Session &session, const TextEncoder &encoder, const std::string &text,
                                     std::size_t n_points, const std::string &prompt_template) {
    ov3d_text_encode_params tp = ov3d_text_encode_default_params();
    tp.prompt_template = prompt_template.empty() ? nullptr : prompt_template.c_str();
    std::vector<float> out(n_points);
    check(ov3d_query_text(session.get(), encoder.get(), text.c_str(), &tp, out.data(), out.size()));
    return out;
}

// ---- Fusion and evaluation (issue 7) ----

/// Online OpenScene multi-view fusion (ov3d_fusion_*): add frames as they arrive, snapshot any time.
class Fusion : public Handle<ov3d_fusion, ov3d_fusion_free> {
public:
    Fusion(const ov3d_points &points, const ov3d_fusion_params &params) {
        ov3d_fusion *h = nullptr;
        check(ov3d_fusion_create(&points, &params, &h));
        h_ = h;
        n_ = points.count;
        dim_ = static_cast<std::size_t>(params.feature_dim);
    }
    /// depth: W*H uint16; features: H'*W'*C float32 (or float16 bits with OV3D_FEATURE_F16);
    /// intrinsics: 3x3 row-major; pose: 4x4 row-major camera-to-world. Returns points seen.
    std::size_t add_frame(const uint16_t *depth, std::size_t depth_count, const void *features,
                          std::size_t feature_count, const double *intrinsics, const double *pose,
                          ov3d_feature_dtype dtype = OV3D_FEATURE_F32) {
        std::size_t seen = 0;
        check(ov3d_fusion_add_frame(h_, depth, depth_count, features, feature_count, dtype, intrinsics, pose, &seen));
        return seen;
    }
    void add_manifest(const std::string &path) { check(ov3d_fusion_add_manifest(h_, path.c_str(), nullptr, nullptr)); }
    /// Fused N x C features (zeros where unseen), N-byte visibility mask and N view counts.
    void snapshot(std::vector<float> &features, std::vector<uint8_t> &mask, std::vector<uint32_t> *counts = nullptr) const {
        features.resize(n_ * dim_);
        mask.resize(n_);
        if (counts) counts->resize(n_);
        check(ov3d_fusion_snapshot(h_, features.data(), features.size(), mask.data(), mask.size(),
                                   counts ? counts->data() : nullptr, counts ? counts->size() : 0));
    }
    void reset() { check(ov3d_fusion_reset(h_)); }

private:
    std::size_t n_ = 0, dim_ = 0;
};

/// Per-class and mean metrics of ov3d_evaluate (per-class values are -1 where undefined).
struct EvalReport {
    ov3d_eval_result summary{};
    std::vector<double> iou, acc;
};

inline EvalReport evaluate(const std::vector<int32_t> &pred, const std::vector<int32_t> &gt, int32_t n_classes,
                           int32_t ignore_label = 255, ov3d_metric_convention convention = OV3D_METRIC_STANDARD) {
    EvalReport r;
    r.summary.struct_size = sizeof(ov3d_eval_result);
    r.iou.resize(static_cast<std::size_t>(n_classes > 0 ? n_classes : 0));
    r.acc.resize(r.iou.size());
    if (pred.size() != gt.size()) throw Error(OV3D_ERR_INVALID_ARGUMENT, "pred and gt differ in length");
    check(ov3d_evaluate(pred.data(), gt.data(), pred.size(), n_classes, ignore_label, convention, &r.summary,
                        r.iou.data(), r.acc.data(), r.iou.size()));
    return r;
}

}  // namespace ov3d

#endif  // OV3D_HPP
