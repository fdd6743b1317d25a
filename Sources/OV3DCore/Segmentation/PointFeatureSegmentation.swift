/// Segmentation of per-point features that come from elsewhere than the 3D network: 2D features
/// fused from posed images (OpenScene's multi-view fusion, `FusionSession`), possibly
/// agglomerated from several 2D teachers (SAS, `TeacherFusion`). The same scoring as
/// `Segmenter.segment` (cosine similarity with every word, best word per point), the same
/// superpoint vote and the same queries, with one row per point instead of per voxel.
extension Segmenter {
    /// Labels `features` (`count × vocabulary.dimension`, finite). `mask` (count bytes, non-zero
    /// = the point has a feature; nil = every point) marks points no view saw: they get label
    /// -1, score NaN and are not scored, but may take their superpoint's vote. `superpoints`:
    /// an id per point (< 0 = none), majority vote as in `SegmentationParams.superpoints`.
    public static func segment(pointFeatures features: [Float], mask: [UInt8]? = nil, vocabulary: Vocabulary,
                               superpoints: [Int32]? = nil, probabilities: Bool = false, temperature: Float = 0.01,
                               threads: Int = 0) throws -> SegmentationResult {
        let t0 = nowMs()
        let d = vocabulary.dimension
        try require(!features.isEmpty && features.count % d == 0,
                    "point features hold \(features.count) values, not rows of the vocabulary's \(d)")
        let n = features.count / d
        try require(n <= Int(Int32.max), "too many points (\(n))")
        if let mask { try require(mask.count == n, "mask has \(mask.count) entries for \(n) points") }
        if let superpoints { try require(superpoints.count == n, "superpoints: \(superpoints.count) ids for \(n) points") }
        try features.withUnsafeBufferPointer { b in
            for i in 0..<b.count where !b[i].isFinite {
                throw OV3DError.invalidArgument("point features: point \(i / d) has a non-finite value")
            }
        }
        let t = Threads.resolve(threads)
        var unit = features
        Elementwise.l2NormalizeRows(&unit, cols: d, threads: t)
        var row = [Int32](repeating: -1, count: n)
        var rows = 0
        for i in 0..<n where mask.map({ $0[i] != 0 }) ?? true { row[i] = Int32(rows); rows += 1 }
        if rows < n {   // keep the rows of points that have a feature only
            var kept = [Float](repeating: 0, count: rows * d)
            unit.withUnsafeBufferPointer { u in
                kept.withUnsafeMutableBufferPointer { k in
                    for i in 0..<n where row[i] >= 0 {
                        (k.baseAddress! + Int(row[i]) * d).update(from: u.baseAddress! + i * d, count: d)
                    }
                }
            }
            unit = kept
        }
        var result = SegmentationResult(vocabulary: vocabulary, labels: [], scores: [], probabilities: [],
                                        voxelOfPoint: row, voxelFeatures: unit, voxelSize: 0, voxelSizeSource: .perPoint,
                                        timings: SegmentationResult.Timings())
        let broadcastMs = result.scoreRows(withProbabilities: probabilities && superpoints == nil, temperature: temperature, threads: t)
        if let superpoints {
            // Unseen points take their superpoint's label; their score is that label's cosine
            // where they have a feature, else NaN.
            result.labels = try SuperpointOps.refine(labels: result.labels, segments: superpoints, abstain: nil)
            var params = SegmentationParams()
            params.probabilities = probabilities
            params.temperature = temperature
            let voted = result.labels
            try rescore(&result, fused: nil, params: params, threads: t)
            for i in 0..<n where row[i] < 0 { result.labels[i] = voted[i] }
        }
        let ms = nowMs() - t0
        result.timings = SegmentationResult.Timings(scoringMs: ms - broadcastMs, broadcastMs: broadcastMs, totalMs: ms)
        return result
    }
}
