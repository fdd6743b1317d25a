/// SAS stage 1, superpoint distillation (`run/distill_sp.py:316-370`, sas-and-superpoints.md §5):
/// on the rows (voxels) with a 2D feature, with `t̄ⱼ` the mean target of superpoint j and `ōⱼ`
/// the mean prediction,
///
///     loss₁ = mean over rows i of 1 − cos(oᵢ, t̄_{sp(i)})
///     loss₂ = mean over superpoints j of 1 − cos(ōⱼ, t̄ⱼ)
///     loss  = loss₁ + loss₂
///
/// (torch `CosineSimilarity`, eps 1e-8); at most `maxRows` rows (released 20,000), see
/// `RowSubsample`. Superpoint ids are ov3d's (`Superpoints`, `SuperpointOps`) taken at each
/// voxel's representative point; ids of different scenes in a batch must differ (offset them).
/// The gradient is with respect to the predictions.
public struct SuperpointDistillation: Sendable {
    /// Rows kept per batch (nil: all).
    public var maxRows: Int? = 20_000

    public init(maxRows: Int? = 20_000) { self.maxRows = maxRows }

    public struct Result<T> {
        public var loss: Double
        public var pointLoss: Double
        public var superpointLoss: Double
        /// `∂loss/∂prediction`, rows × dim (zero on rows that took no part).
        public var gradient: [T]
        public var rowsUsed: Int
        public var superpoints: Int
    }

    /// `segments`: superpoint id per row (< 0: the row takes no part); `mask`: non-zero = the row
    /// has a 2D feature (nil: all). No row taking part: every loss 0, zero gradient.
    public func evaluate<T: BinaryFloatingPoint>(prediction: [T], target: [T], dim: Int, segments: [Int32],
                                                mask: [UInt8]?, rng: inout SplitMix64) throws -> Result<T> {
        try require(dim > 0, "superpoint distillation: dim must be positive")
        try require(prediction.count == segments.count * dim && target.count == prediction.count,
                    "superpoint distillation: prediction (\(prediction.count)) and target (\(target.count)) must be \(segments.count) rows × \(dim)")
        let sel = try RowSubsample(segments: segments, mask: mask, maxRows: maxRows, rng: &rng)
        var grad = [T](repeating: 0, count: prediction.count)
        let n = sel.rows.count, m = sel.segmentCount
        guard n > 0 else { return Result(loss: 0, pointLoss: 0, superpointLoss: 0, gradient: grad, rowsUsed: 0, superpoints: 0) }
        var l1 = 0.0, l2 = 0.0
        prediction.withUnsafeBufferPointer { o in
            target.withUnsafeBufferPointer { t in
                grad.withUnsafeMutableBufferPointer { g in
                    let tMean = sel.segmentMeans(t, dim: dim)
                    let oMean = sel.segmentMeans(o, dim: dim)
                    var gd = [Double](repeating: 0, count: dim)
                    tMean.withUnsafeBufferPointer { tm in
                        // loss₁ over rows.
                        for (k, r) in sel.rows.enumerated() {
                            let c = CosineRows.cosine(o.baseAddress! + r * dim, tm.baseAddress! + sel.segment[k] * dim, dim, gradient: &gd)
                            l1 += 1 - c
                            for j in 0..<dim { g[r * dim + j] = T(-gd[j] / Double(n)) }
                        }
                        // loss₂ over superpoints; ∂ōⱼ/∂oᵢ = 1/|Sⱼ|.
                        var gSeg = [Double](repeating: 0, count: m * dim)
                        oMean.withUnsafeBufferPointer { om in
                            for s in 0..<m {
                                let c = CosineRows.cosine(om.baseAddress! + s * dim, tm.baseAddress! + s * dim, dim, gradient: &gd)
                                l2 += 1 - c
                                let w = -1 / (Double(m) * Double(sel.segmentSizes[s]))
                                for j in 0..<dim { gSeg[s * dim + j] = w * gd[j] }
                            }
                        }
                        for (k, r) in sel.rows.enumerated() {
                            let s = sel.segment[k] * dim
                            for j in 0..<dim { g[r * dim + j] += T(gSeg[s + j]) }
                        }
                    }
                }
            }
        }
        l1 /= Double(n); l2 /= Double(m)
        return Result(loss: l1 + l2, pointLoss: l1, superpointLoss: l2, gradient: grad, rowsUsed: n, superpoints: m)
    }
}
