/// The distillation losses, each a mean over the rows whose mask is 1, with their gradient
/// with respect to the prediction (sums in double, fixed order; deterministic).
///
/// - `cosine`: `mean(1 − cos(pred, target))` with torch's `F.cosine_similarity(dim=1, eps=1e-8)`:
///   each row divided by `max(‖row‖, eps)`, then the dot product.
/// - `l1`: torch `L1Loss` over every element of the masked rows: `Σ|pred − target| / (M·D)`
///   (gradient `sign(pred − target) / (M·D)`, sign(0) = 0).
/// - `mse`: torch `MSELoss` likewise: `Σ(pred − target)² / (M·D)`.
/// - `demeaned_cosine`: CUA-O3D's SD loss (`DemeanedCosineLoss`, Recipes/).
///
/// With no masked row the loss is 0 and the gradient 0 (torch would give NaN).
public struct TrainingLoss: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case cosine, l1, mse
        /// CUA-O3D's SD loss as released (`DemeanedCosineLoss`: each target row's own channel mean removed).
        case demeanedCosine = "demeaned_cosine"
    }

    /// The head this loss supervises (`final`, `final_dinov2`, ...).
    public var head: String
    public var kind: Kind
    /// Factor of this loss in the total (`Σ weight·loss`).
    public var weight: Double

    public init(head: String, kind: Kind, weight: Double = 1) {
        self.head = head; self.kind = kind; self.weight = weight
    }

    /// torch's cosine_similarity eps.
    public static let cosineEps = 1e-8

    /// The loss of `pred` against `target` (both `rows × dim`) over the rows with `mask[r] != 0`
    /// (nil: all rows), and `weight · dLoss/dPred` (`rows × dim`, zero on unmasked rows).
    public func evaluate(pred: [Float], target: [Float], mask: [UInt8]?, rows: Int, dim: Int) throws -> (loss: Double, grad: [Float]) {
        try require(dim >= 1 && rows >= 0 && pred.count == rows * dim,
                    "loss '\(head)': prediction has \(pred.count) values, expected \(rows)×\(dim)")
        try require(target.count == rows * dim, "loss '\(head)': target has \(target.count) values, expected \(rows)×\(dim)")
        if let mask { try require(mask.count == rows, "loss '\(head)': mask has \(mask.count) rows, expected \(rows)") }
        var grad = try Memory.array(repeating: Float(0), count: rows * dim, what: "loss '\(head)' gradient (\(rows) × \(dim))")
        var m = 0
        if let mask { for v in mask where v != 0 { m += 1 } } else { m = rows }
        if m == 0 { return (0, grad) }
        if kind == .demeanedCosine {
            let (v, g) = try DemeanedCosineLoss.evaluate(prediction: pred, target: target, dim: dim, mask: mask) as (Double, [Float])
            return (v, weight == 1 ? g : g.map { Float(Double($0) * weight) })
        }
        var total = 0.0
        let kind = self.kind, w = weight
        pred.withUnsafeBufferPointer { p in
            target.withUnsafeBufferPointer { t in
                grad.withUnsafeMutableBufferPointer { g in
                    let eps = Self.cosineEps
                    switch kind {
                    case .cosine:
                        let scale = -w / Double(m)
                        for r in 0..<rows where mask == nil || mask![r] != 0 {
                            let o = r * dim
                            var xx = 0.0, yy = 0.0, xy = 0.0
                            for j in 0..<dim {
                                let x = Double(p[o + j]), y = Double(t[o + j])
                                xx += x * x; yy += y * y; xy += x * y
                            }
                            let nx = xx.squareRoot(), ny = yy.squareRoot()
                            let n1 = Swift.max(nx, eps), n2 = Swift.max(ny, eps)
                            let c = xy / (n1 * n2)
                            total += 1 - c
                            // d cos / dx = y/(n1 n2) − cos·x/n1² (the norm's clamp carries no gradient)
                            let a = 1 / (n1 * n2), b = nx > eps ? c / (n1 * n1) : 0
                            for j in 0..<dim {
                                g[o + j] = Float(scale * (Double(t[o + j]) * a - Double(p[o + j]) * b))
                            }
                        }
                        total /= Double(m)
                    case .demeanedCosine:
                        break  // handled above
                    case .l1, .mse:
                        let n = Double(m) * Double(dim)
                        let l1 = kind == .l1
                        for r in 0..<rows where mask == nil || mask![r] != 0 {
                            let o = r * dim
                            for j in 0..<dim {
                                let d = Double(p[o + j]) - Double(t[o + j])
                                if l1 {
                                    total += Swift.abs(d)
                                    g[o + j] = Float(w * (d > 0 ? 1 : d < 0 ? -1 : 0) / n)
                                } else {
                                    total += d * d
                                    g[o + j] = Float(w * 2 * d / n)
                                }
                            }
                        }
                        total /= n
                    }
                }
            }
        }
        return (total, grad)
    }
}
