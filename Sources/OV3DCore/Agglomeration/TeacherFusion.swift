#if canImport(Glibc)
import Glibc
#endif

/// Multi-teacher agglomeration of per-point features (SAS `sas-and-superpoints.md` §4).
///
/// Teachers' features are `N × D` float32 each (same D, same points, aligned to one vocabulary
/// of K classes with unit text embeddings). A teacher whose feature at a point is all zeros
/// (no 2D view saw it) takes no part at that point; a point where every teacher is zero stays zero.
public enum TeacherFusion {
    public enum Method: Sendable, Equatable {
        /// SAS capability-guided fusion with softmax temperature τ (0.05 in the released code).
        /// `keepClass`: if teacher 0 predicts this class, the point keeps teacher 0's feature
        /// unchanged (SAS: "other", index 19 of its 21-word vocabulary); nil = no exclusion.
        case capability(CapabilityTable, temperature: Float = 0.05, keepClass: Int? = nil)
        /// Plain average of the teachers' features.
        case mean
        /// "Linear" max-similarity baseline: each point takes the feature of the teacher whose
        /// best cosine similarity to the vocabulary is highest (ties: the lower teacher index).
        case maxSimilarity
    }

    /// Per point each teacher's predicted class: argmax of `f · Eᵀ` (E unit text embeddings;
    /// the argmax of the dot equals that of the cosine). Also returns the max cosine.
    static func predict(_ f: [Float], vocabulary: Vocabulary, threads: Int) throws -> (labels: [Int32], best: [Float]) {
        let r = try vocabulary.classify(features: f, threads: threads)
        return (r.labels, r.scores)
    }

    /// Fuses `teachers` (each `N × vocabulary.dimension`) into one `N × D` feature per point.
    /// With `weights`, also returns the per-point teacher weights (`N × T`).
    /// A run whose projected memory (the presence mask, weights, per-teacher predictions and the
    /// fused features: n·(t·13 + 4·d) bytes) exceeds `memoryLimit` (nil: `OV3D_MAX_MEMORY`, else
    /// none) or the address space left under `ulimit -v` is refused before it allocates.
    /// `teacherNames` (e.g. their files) name the teachers in error messages (default "teacher i").
    public static func fuse(teachers: [[Float]], vocabulary: Vocabulary, method: Method, threads: Int = 0,
                            memoryLimit: Int? = nil, teacherNames: [String]? = nil) throws -> (features: [Float], weights: [Float]) {
        let d = vocabulary.dimension
        let t = teachers.count
        try require(t > 0 && t <= 64, "teacher fusion: need 1...64 teachers, got \(t)")
        try require(teachers[0].count % d == 0, "teacher fusion: teacher 0 has \(teachers[0].count) values, not rows of \(d)")
        let n = teachers[0].count / d
        for (i, f) in teachers.enumerated() {
            let name = teacherNames.flatMap { i < $0.count ? $0[i] : nil } ?? "teacher \(i)"
            try require(f.count == n * d, "teacher fusion: \(name) has \(f.count) values, expected \(n)×\(d)")
            for v in f { try require(v.isFinite, "teacher fusion: \(name) has a non-finite value") }
        }
        let (perPoint, o1) = (13 * t).addingReportingOverflow(4 * d)
        let (bytes, o2) = n.multipliedReportingOverflow(by: perPoint)
        try Memory.checkProjected(o1 || o2 ? Int.max : bytes, limit: try Memory.limit(memoryLimit),
                                  what: "fusing \(t) teachers' \(d)-d features of \(n) points")
        var present = [Bool](repeating: false, count: n * t)
        for (ti, f) in teachers.enumerated() {
            for i in 0..<n {
                var nz = false
                for j in 0..<d where f[i * d + j] != 0 { nz = true; break }
                present[i * t + ti] = nz
            }
        }
        var weights = [Float](repeating: 0, count: n * t)
        switch method {
        case .mean:
            for i in 0..<n {
                let k = (0..<t).filter { present[i * t + $0] }.count
                for ti in 0..<t where present[i * t + ti] { weights[i * t + ti] = 1 / Float(k) }
            }
        case .maxSimilarity:
            let preds = try teachers.map { try predict($0, vocabulary: vocabulary, threads: threads) }
            for i in 0..<n {
                var best = -1
                for ti in 0..<t where present[i * t + ti] {
                    if best < 0 || preds[ti].best[i] > preds[best].best[i] { best = ti }
                }
                if best >= 0 { weights[i * t + best] = 1 }
            }
        case let .capability(cap, tau, keepClass):
            try require(cap.teachers == t, "capability fusion: table has \(cap.teachers) teachers, got \(t) feature sets")
            try require(cap.classes == vocabulary.count, "capability fusion: table has \(cap.classes) classes, vocabulary \(vocabulary.count)")
            try require(tau.isFinite && tau > 0, "capability fusion: temperature must be finite and > 0, got \(tau)")
            if let keepClass { try require((0..<vocabulary.count).contains(keepClass), "capability fusion: keep class \(keepClass) out of range") }
            let preds = try teachers.map { try predict($0, vocabulary: vocabulary, threads: threads).labels }
            var w = [Float](repeating: 0, count: t)
            for i in 0..<n {
                let active = (0..<t).filter { present[i * t + $0] }
                if active.isEmpty { continue }
                if let keepClass, present[i * t], preds[0][i] == Int32(keepClass) { weights[i * t] = 1; continue }
                // w_t = Σ_s cap_t[c_s] over the classes predicted by the active teachers.
                var sum: Float = 0
                for a in active {
                    var s: Float = 0
                    for b in active { s += cap[a, Int(preds[b][i])] }
                    w[a] = s
                    sum += s
                }
                if sum > 0 {
                    // normalise, then softmax(w / τ) (max-subtracted for stability)
                    var mx = -Float.infinity
                    for a in active { w[a] = (w[a] / sum) / tau; mx = max(mx, w[a]) }
                    var z: Float = 0
                    for a in active { w[a] = expf(w[a] - mx); z += w[a] }
                    for a in active { weights[i * t + a] = w[a] / z }
                } else {
                    // every capability involved is 0: SAS would divide by zero; use equal weights.
                    for a in active { weights[i * t + a] = 1 / Float(active.count) }
                }
            }
        }
        var out = [Float](repeating: 0, count: n * d)
        for i in 0..<n {
            for ti in 0..<t {
                let w = weights[i * t + ti]
                if w == 0 { continue }
                let f = teachers[ti]
                for j in 0..<d { out[i * d + j] += w * f[i * d + j] }
            }
        }
        return (out, weights)
    }
}

/// Centring a text space for distillation (ov3d's demo model; not in the papers): CLIP's label
/// embeddings lie close together (cosines 0.7–0.96), so a cosine loss against fused text-space
/// targets is mostly spent on their common direction and only a small part on what tells the
/// classes apart. Training on `t/‖t‖ − μ` (μ = the vocabulary's mean embedding) spends it on the
/// class-specific part; since every class embedding is compared with the same μ, labels from a
/// centred feature f are `argmax_k f·e_k = argmax_k f·(e_k − μ)` (ordinary scoring), and
/// `uncentred` maps a centred prediction back into the text space (`μ + r·f/‖f‖`, r = the mean
/// ‖e_k − μ‖) where its cosine scores compare with 2D features' (the 2D-3D ensemble).
public enum TextSpaceCentering {
    /// The vocabulary's mean embedding μ and the mean distance r of its embeddings from μ.
    public static func centre(of vocabulary: Vocabulary) -> (mean: [Float], radius: Float) {
        let d = vocabulary.dimension, k = vocabulary.count, e = vocabulary.embeddings
        var mu = [Float](repeating: 0, count: d)
        for c in 0..<k { for j in 0..<d { mu[j] += e[c * d + j] / Float(k) } }
        var r: Float = 0
        for c in 0..<k {
            var s: Float = 0
            for j in 0..<d { let x = e[c * d + j] - mu[j]; s += x * x }
            r += s.squareRoot() / Float(k)
        }
        return (mu, r)
    }

    /// `t/‖t‖ − μ` for every non-zero row (rows of zeros — unseen points — stay zero).
    public static func centred(_ features: [Float], vocabulary: Vocabulary) throws -> [Float] {
        let d = vocabulary.dimension
        try require(d > 0 && features.count % d == 0, "centring: features are not N×\(d)")
        let mu = centre(of: vocabulary).mean
        var out = features
        for i in 0..<(features.count / d) {
            var s: Float = 0
            for j in 0..<d { s += features[i * d + j] * features[i * d + j] }
            guard s > 0 else { continue }
            let inv = 1 / s.squareRoot()
            for j in 0..<d { out[i * d + j] = features[i * d + j] * inv - mu[j] }
        }
        return out
    }

    /// `μ + r·f/‖f‖` for every non-zero row: a prediction of a network trained on centred targets,
    /// back in the text space.
    public static func uncentred(_ features: [Float], vocabulary: Vocabulary) throws -> [Float] {
        let d = vocabulary.dimension
        try require(d > 0 && features.count % d == 0, "uncentring: features are not N×\(d)")
        let (mu, r) = centre(of: vocabulary)
        var out = features
        for i in 0..<(features.count / d) {
            var s: Float = 0
            for j in 0..<d { s += features[i * d + j] * features[i * d + j] }
            guard s > 0 else { continue }
            let scale = r / s.squareRoot()
            for j in 0..<d { out[i * d + j] = mu[j] + features[i * d + j] * scale }
        }
        return out
    }
}
