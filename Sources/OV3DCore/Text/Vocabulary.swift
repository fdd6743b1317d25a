/// A list of words (class names or queries) with one text embedding each, L2-normalised:
/// the open vocabulary that per-point features are scored against.
///
/// Built from a text encoder's output or from raw embeddings a host brings. Scoring is cosine
/// similarity (features are normalised on the fly): `scores = normalize(F) · Eᵀ`.
public struct Vocabulary: Sendable {
    public let names: [String]
    /// `names.count × dimension`, row-major, each row unit length.
    public var embeddings: [Float] { embeddingsStorage }
    var embeddingsStorage: [Float]
    public let dimension: Int

    public var count: Int { names.count }

    /// Validates and L2-normalises `embeddings` (`names.count × dimension`).
    public init(names: [String], embeddings: [Float], dimension: Int) throws {
        try require(dimension > 0, "vocabulary embedding dimension must be positive")
        try require(!names.isEmpty, "vocabulary is empty")
        try require(embeddings.count == names.count * dimension,
                    "vocabulary: \(names.count) names × \(dimension) dims needs \(names.count * dimension) values, got \(embeddings.count)")
        var e = embeddings
        for r in 0..<names.count {
            var s: Float = 0
            for j in 0..<dimension {
                let v = e[r * dimension + j]
                try require(v.isFinite, "vocabulary embedding of '\(names[r])' has a non-finite value")
                s += v * v
            }
            try require(s > 0, "vocabulary embedding of '\(names[r])' is all zeros")
            let inv = 1 / s.squareRoot()
            for j in 0..<dimension { e[r * dimension + j] *= inv }
        }
        self.names = names
        self.embeddingsStorage = e
        self.dimension = dimension
    }

    /// Cosine similarities `count_points × names.count` of L2-normalised `features` (rows of
    /// `dimension` floats; zero rows score 0) with every word.
    public func scores(features: [Float], threads: Int = 1) throws -> [Float] {
        try require(features.count % dimension == 0, "features are not rows of \(dimension) floats")
        let n = features.count / dimension
        var normed = features
        normed.withUnsafeMutableBufferPointer { f in
            for i in 0..<n {
                var s: Float = 0
                for j in 0..<dimension { s += f[i * dimension + j] * f[i * dimension + j] }
                let inv: Float = s > 0 ? 1 / s.squareRoot() : 0
                for j in 0..<dimension { f[i * dimension + j] *= inv }
            }
        }
        return GEMM.multiply(normed, embeddings, m: n, k: dimension, n: names.count, transB: true)
    }

    /// Per point: the index of the best-scoring word and its cosine score.
    public func classify(features: [Float], threads: Int = 1) throws -> (labels: [Int32], scores: [Float]) {
        let s = try scores(features: features, threads: threads)
        let c = names.count
        let n = s.count / c
        var labels = [Int32](repeating: 0, count: n)
        var best = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var bi = 0
            var bv = s[i * c]
            for j in 1..<c where s[i * c + j] > bv { bv = s[i * c + j]; bi = j }
            labels[i] = Int32(bi)
            best[i] = bv
        }
        return (labels, best)
    }
}

extension Vocabulary {
    /// Cosine similarity of every feature row with word `query` (a similarity heat-map).
    public func heatmap(query: Int, features: [Float]) throws -> [Float] {
        try require(query >= 0 && query < count, "query index \(query) is outside the vocabulary of \(count) words")
        try require(features.count % dimension == 0, "features are not rows of \(dimension) floats")
        let n = features.count / dimension
        let d = dimension
        var out = [Float](repeating: 0, count: n)
        features.withUnsafeBufferPointer { f in
            embeddings.withUnsafeBufferPointer { e in
                let q = e.baseAddress! + query * d
                for i in 0..<n {
                    let row = f.baseAddress! + i * d
                    var dot: Float = 0, s: Float = 0
                    for j in 0..<d { dot += row[j] * q[j]; s += row[j] * row[j] }
                    out[i] = s > 0 ? dot / s.squareRoot() : 0
                }
            }
        }
        return out
    }

    /// A copy whose embeddings are rounded to IEEE half (OpenScene keeps fp16 text features).
    public func roundedToHalf() -> Vocabulary {
        var v = self
        v.embeddingsStorage = embeddings.map { halfToFloat(floatToHalf($0)) }
        return v
    }
}
