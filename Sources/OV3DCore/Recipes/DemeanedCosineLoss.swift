/// CUA-O3D's loss for the Stable-Diffusion head, as released
/// (`run/distill_with_dinov2_sd_adaptiveWeightLoss_demean.py:394-456`, minkunet.md §7.3):
///
///     L = mean over rows with mask ≠ 0 of 1 − cos( normalize(p_i), normalize(t_i − mean_c t_i) )
///
/// where `mean_c t_i` is the row's **own** mean over its channels (`demean_func`), not a dataset
/// mean; both sides are L2-normalised first (`F.normalize`, eps 1e-12) and the cosine is torch's
/// `CosineSimilarity` (eps 1e-8). The gradient is with respect to the predictions `p`.
///
/// No masked row: loss 0 and a zero gradient (torch's mean of an empty tensor is NaN).
public enum DemeanedCosineLoss {
    /// The loss and `∂L/∂prediction` (`rows × dim`, zero on unmasked rows).
    /// `mask` (rows, non-zero = use the row) defaults to every row.
    public static func evaluate(prediction: [Float], target: [Float], dim: Int, mask: [UInt8]? = nil,
                                threads: Int = 1) throws -> (loss: Float, gradient: [Float]) {
        let r = try evaluate(prediction: prediction, target: target, dim: dim, mask: mask, threads: threads) as (Double, [Float])
        return (Float(r.0), r.1)
    }

    /// The same in any float type (Double for finite-difference checks); the loss in Double.
    public static func evaluate<T: BinaryFloatingPoint & Sendable>(prediction: [T], target: [T], dim: Int, mask: [UInt8]? = nil,
                                                                    threads: Int = 1) throws -> (Double, [T]) {
        try require(dim > 0, "de-meaned cosine loss: dim must be positive, got \(dim)")
        try require(prediction.count % dim == 0 && prediction.count == target.count,
                    "de-meaned cosine loss: prediction (\(prediction.count)) and target (\(target.count)) must both be rows × \(dim)")
        let rows = prediction.count / dim
        if let mask { try require(mask.count == rows, "de-meaned cosine loss: mask has \(mask.count) entries for \(rows) rows") }
        let used = mask.map { $0.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } } ?? rows
        var grad = [T](repeating: 0, count: prediction.count)
        guard used > 0 else { return (0, grad) }
        let scale = -1.0 / Double(used)
        var perRow = [Double](repeating: 0, count: rows)
        prediction.withUnsafeBufferPointer { pp in
            target.withUnsafeBufferPointer { tp in
                grad.withUnsafeMutableBufferPointer { gp in
                    perRow.withUnsafeMutableBufferPointer { lp in
                        let ptrs = UncheckedSendable((pp.baseAddress!, tp.baseAddress!, gp.baseAddress!, lp.baseAddress!))
                        parallelFor(rows, threads: rows * dim < 1 << 16 ? 1 : threads) { range in
                            let (p, t, g, l) = ptrs.value
                            var u = [Double](repeating: 0, count: dim)
                            var pn = [Double](repeating: 0, count: dim)
                            var un = [Double](repeating: 0, count: dim)
                            var gd = [Double](repeating: 0, count: dim)
                            for i in range where mask == nil || mask![i] != 0 {
                                let pi = p + i * dim, ti = t + i * dim
                                var mean = 0.0
                                for j in 0..<dim { mean += Double(ti[j]) }
                                mean /= Double(dim)
                                for j in 0..<dim { u[j] = Double(ti[j]) - mean }
                                let np = CosineRows.normalize(pi, dim, into: &pn)
                                _ = CosineRows.normalize(u, dim, into: &un)
                                let c = pn.withUnsafeBufferPointer { CosineRows.cosine($0.baseAddress!, un, dim, gradient: &gd) }
                                l[i] = 1 - c
                                CosineRows.normalizeBackward(&gd, xn: pn, norm: np, dim)
                                for j in 0..<dim { g[i * dim + j] = T(scale * gd[j]) }
                            }
                        }
                    }
                }
            }
        }
        // Fixed-order sum (rows in order) of the per-row losses.
        var s = 0.0
        for i in 0..<rows where mask == nil || mask![i] != 0 { s += perRow[i] }
        return (s / Double(used), grad)
    }
}
