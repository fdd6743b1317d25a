/// OpenScene / CUA-O3D evaluation modes (`openscene-pipeline.md` §4): labels from the fused 2D
/// features, from the 3D network's features, or from an ensemble of both.
public enum FeatureEnsemble {
    /// How the 2D–3D ensemble combines a point's two features.
    public enum Rule: String, Sendable, CaseIterable {
        /// OpenScene (`run/evaluate.py:302-324`): cosine scores of both features
        /// (`f / (‖f‖ + 1e-5)`); the un-normalised feature whose best score is higher wins
        /// (the 3D feature on ties), then argmax of `feature · Eᵀ`.
        case maxScore
        /// CUA-O3D (`evaluate_with_dinov2_sd.py:306-334`): argmax of `((F3d + F2d) / 2) · Eᵀ`.
        case average
    }

    public enum Mode: Sendable, Equatable {
        /// 2D fusion only; points without a 2D feature get `noFeatureLabel`.
        case fusion
        /// The 3D network's (distilled) features only.
        case distill
        case ensemble(Rule)
    }

    /// OpenScene's label for points without a 2D feature (`NO_FEATURE_ID`).
    public static let noFeatureLabel: Int32 = 256

    /// Per-point labels. `features3D` and `features2D` are `N × D` (the one the mode does not use
    /// may be empty); `mask2D` (N, non-zero = has a 2D feature) defaults to "non-zero feature".
    /// Computed in float32 (OpenScene casts to float16; ties between near-equal scores may differ).
    public static func labels(mode: Mode, features3D: [Float], features2D: [Float], mask2D: [UInt8]? = nil,
                              vocabulary: Vocabulary, threads: Int = 0) throws -> [Int32] {
        let d = vocabulary.dimension
        let k = vocabulary.count
        let uses3D = mode != .fusion, uses2D = mode != .distill
        let n = uses3D ? features3D.count / d : features2D.count / d
        if uses3D { try require(features3D.count == n * d && n > 0, "ensemble: 3D features are not N×\(d) with N > 0") }
        if uses2D { try require(features2D.count == n * d && n > 0, "ensemble: 2D features are not N×\(d) with N > 0 (got \(features2D.count) values for \(n) points)") }
        if let mask2D { try require(mask2D.count == n, "ensemble: mask has \(mask2D.count) entries for \(n) points") }
        for v in features3D where uses3D { try require(v.isFinite, "ensemble: 3D features contain a non-finite value") }
        for v in features2D where uses2D { try require(v.isFinite, "ensemble: 2D features contain a non-finite value") }
        func has2D(_ i: Int) -> Bool {
            if let mask2D { return mask2D[i] != 0 }
            for j in 0..<d where features2D[i * d + j] != 0 { return true }
            return false
        }
        func argmaxRows(_ f: [Float]) -> [Int32] {
            let s = GEMM.multiply(f, vocabulary.embeddings, m: n, k: d, n: k, transB: true)
            return (0..<n).map { i in
                var b = 0
                for c in 1..<k where s[i * k + c] > s[i * k + b] { b = c }
                return Int32(b)
            }
        }
        switch mode {
        case .distill:
            return argmaxRows(features3D)
        case .fusion:
            var l = argmaxRows(features2D)
            for i in 0..<n where !has2D(i) { l[i] = noFeatureLabel }
            return l
        case .ensemble(.average):
            var f = [Float](repeating: 0, count: n * d)
            for i in 0..<(n * d) { f[i] = (features3D[i] + features2D[i]) / 2 }
            return argmaxRows(f)
        case .ensemble(.maxScore):
            func bestScores(_ f: [Float]) -> [Float] {
                var a = f
                for i in 0..<n {
                    var s: Float = 0
                    for j in 0..<d { s += f[i * d + j] * f[i * d + j] }
                    let inv = 1 / (s.squareRoot() + 1e-5)
                    for j in 0..<d { a[i * d + j] *= inv }
                }
                let sc = GEMM.multiply(a, vocabulary.embeddings, m: n, k: d, n: k, transB: true)
                return (0..<n).map { i in (0..<k).reduce(-Float.infinity) { max($0, sc[i * k + $1]) } }
            }
            let s3 = bestScores(features3D), s2 = bestScores(features2D)
            var chosen = features3D
            for i in 0..<n where s3[i] < s2[i] {
                for j in 0..<d { chosen[i * d + j] = features2D[i * d + j] }
            }
            return argmaxRows(chosen)
        }
    }
}
