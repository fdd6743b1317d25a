/// The answer of a segmentation, per input point: the label (an index into the vocabulary, -1
/// for skipped points), how sure (the cosine similarity of the chosen label's embedding with the
/// point's feature), optional probabilities, and what is kept to answer further queries without
/// running the network again: the unit voxel features and each point's voxel.
///
/// Memory: `voxelCount × dimension` floats plus 12 bytes per point (labels, scores, voxel row);
/// probabilities add `count × words` floats when asked for.
public struct SegmentationResult: Sendable {
    /// The vocabulary the labels index.
    public let vocabulary: Vocabulary
    /// Per input point: index into `vocabulary`, -1 for a skipped point (NaN coordinates; in
    /// `.fusion` mode also a point without a 2D feature).
    public internal(set) var labels: [Int32]
    /// Per input point: cosine similarity of its label with its feature; NaN where the label is -1
    /// (or, for `Segmenter.segment(pointFeatures:)`, where the point has no feature).
    public internal(set) var scores: [Float]
    /// Per input point: softmax(cosine / temperature) over the vocabulary (`count × words`), rows
    /// of zeros for skipped points; empty unless `SegmentationParams.probabilities`.
    public internal(set) var probabilities: [Float]
    /// Per input point: its voxel row, -1 for a skipped point.
    public let voxelOfPoint: [Int32]
    /// Unit-length features of the scored head, `voxelCount × dimension` (for
    /// `Segmenter.segment(pointFeatures:)`: one row per point that has a feature).
    public let voxelFeatures: [Float]
    /// Voxel size used, and where it came from.
    public let voxelSize: Double
    public let voxelSizeSource: Segmenter.VoxelSizeSource
    /// Wall-clock milliseconds of each stage.
    public internal(set) var timings: Timings

    public struct Timings: Sendable, Equatable {
        /// Input checks and voxelisation (points → voxels).
        public var voxelizeMs = 0.0
        /// The 3D network (the scored head only).
        public var networkMs = 0.0
        /// Normalising the voxel features and scoring them against the vocabulary (per point
        /// with fused 2D features; superpoint votes included).
        public var scoringMs = 0.0
        /// Spreading per-voxel labels, scores (and probabilities) to the points.
        public var broadcastMs = 0.0
        public var totalMs = 0.0
        public init(voxelizeMs: Double = 0, networkMs: Double = 0, scoringMs: Double = 0, broadcastMs: Double = 0,
                    totalMs: Double = 0) {
            self.voxelizeMs = voxelizeMs
            self.networkMs = networkMs
            self.scoringMs = scoringMs
            self.broadcastMs = broadcastMs
            self.totalMs = totalMs
        }
    }

    public var count: Int { voxelOfPoint.count }
    public var dimension: Int { vocabulary.dimension }
    public var voxelCount: Int { voxelFeatures.count / max(1, vocabulary.dimension) }
    /// Points that got no label (-1).
    public var skippedCount: Int { labels.reduce(0) { $0 + ($1 < 0 ? 1 : 0) } }

    /// Number of points per word of the vocabulary (skipped points are not counted).
    public func labelCounts() -> [Int] {
        var c = [Int](repeating: 0, count: vocabulary.count)
        for l in labels where l >= 0 && Int(l) < c.count { c[Int(l)] += 1 }
        return c
    }

    /// A similarity heat-map: the cosine similarity of every input point's feature with
    /// `embedding` (any non-zero, finite vector of `dimension` floats; NaN for skipped points).
    /// Costs one dot product per voxel; the network does not run again.
    public func query(embedding: [Float], threads: Int = 0) throws -> [Float] {
        try require(embedding.count == dimension,
                    "query embedding has \(embedding.count) values, the segmentation's features have \(dimension)")
        var q = embedding
        var s: Float = 0
        for v in q { try require(v.isFinite, "query embedding has a non-finite value"); s += v * v }
        try require(s > 0, "query embedding is all zeros")
        let inv = 1 / s.squareRoot()
        for j in q.indices { q[j] *= inv }
        let v = voxelCount
        var perVoxel = [Float](repeating: 0, count: v)
        voxelFeatures.withUnsafeBufferPointer { f in
            q.withUnsafeBufferPointer { qp in
                perVoxel.withUnsafeMutableBufferPointer { o in
                    CosineScoring.similarity(features: f.baseAddress!, rows: v, dim: dimension, query: qp.baseAddress!,
                                             out: o.baseAddress!, threads: Threads.resolve(threads))
                }
            }
        }
        return broadcast(perVoxel, fill: .nan)
    }

    /// The heat-map of word `index` of the vocabulary.
    public func query(word index: Int, threads: Int = 0) throws -> [Float] {
        try require(index >= 0 && index < vocabulary.count, "word \(index) is outside the vocabulary of \(vocabulary.count)")
        let d = dimension
        return try query(embedding: Array(vocabulary.embeddings[(index * d)..<(index * d + d)]), threads: threads)
    }

    /// The heat-map of a text, embedded by `encoder` (its cache answers repeated texts at once).
    public func query(text: String, encoder: TextEncoder, options: TextEncodeOptions = TextEncodeOptions()) throws -> [Float] {
        try require(encoder.dimension == dimension,
                    "the text encoder's embeddings have \(encoder.dimension) values, the segmentation's features \(dimension)")
        let e = try encoder.encode([text], options: options)
        return try query(embedding: e, threads: options.threads)
    }

    /// Unit features of every input point (`count × dimension`; zero rows for skipped points).
    public func pointFeatures() -> [Float] {
        let d = dimension
        var out = [Float](repeating: 0, count: count * d)
        voxelFeatures.withUnsafeBufferPointer { f in
            out.withUnsafeMutableBufferPointer { o in
                for (i, r) in voxelOfPoint.enumerated() where r >= 0 {
                    (o.baseAddress! + i * d).update(from: f.baseAddress! + Int(r) * d, count: d)
                }
            }
        }
        return out
    }

    /// Scores every row of `voxelFeatures` (unit length; a row per voxel, or per point for
    /// point features) against the vocabulary — the best word, its cosine and, when asked, the
    /// softmax probabilities at `temperature` — and broadcasts them to the input points through
    /// `voxelOfPoint` (label -1, score NaN, zero probabilities where a point has no row). The one
    /// scoring setup of `Segmenter.segment` and `Segmenter.segment(pointFeatures:)`.
    /// Returns the milliseconds spent broadcasting.
    @discardableResult
    mutating func scoreRows(withProbabilities: Bool, temperature: Float, threads: Int) -> Double {
        let rows = voxelCount, k = vocabulary.count
        var rl = [Int32](repeating: 0, count: rows), rs = [Float](repeating: 0, count: rows)
        var rp = withProbabilities ? [Float](repeating: 0, count: rows * k) : []
        if rows > 0 {
            voxelFeatures.withUnsafeBufferPointer { f in
                rl.withUnsafeMutableBufferPointer { l in
                    rs.withUnsafeMutableBufferPointer { s in
                        rp.withUnsafeMutableBufferPointer { p in
                            CosineScoring.classify(features: f.baseAddress!, rows: rows, vocabulary: vocabulary,
                                                   labels: l.baseAddress!, scores: s.baseAddress!,
                                                   probabilities: p.isEmpty ? nil : p.baseAddress!,
                                                   temperature: temperature, threads: threads)
                        }
                    }
                }
            }
        }
        let tb = Segmenter.nowMs()
        labels = broadcast(rl, fill: -1)
        scores = broadcast(rs, fill: .nan)
        if !rp.isEmpty { probabilities = Segmenter.broadcastRows(rp, width: k, index: voxelOfPoint) }
        return Segmenter.nowMs() - tb
    }

    /// Per-voxel values → per input point (`fill` for skipped points).
    func broadcast<T>(_ perVoxel: [T], fill: T) -> [T] {
        var out = [T](repeating: fill, count: count)
        perVoxel.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { o in
                for (i, r) in voxelOfPoint.enumerated() where r >= 0 { o[i] = v[Int(r)] }
            }
        }
        return out
    }
}
