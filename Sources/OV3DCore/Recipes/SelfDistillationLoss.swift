/// SAS stage 2, temporal-ensembling self-distillation (`run/distill_EMA.py:333-423`,
/// sas-and-superpoints.md §6): pseudo-labels from the EMA history of the network's own outputs
/// (`TemporalEnsemble`), at superpoint and point level, and cross-entropy on raw dot products
/// with the text embeddings (no temperature, no logit scale):
///
///     h̄ⱼ = mean EMA state of superpoint j,   yⱼ = argmax h̄ⱼ·Tᵀ,   yᵢ = y_{sp(i)}
///     loss₁ = CE(oᵢ·Tᵀ, yᵢ) over rows,   loss₂ = CE(ōⱼ·Tᵀ, yⱼ) over superpoints,   loss = loss₁ + loss₂
///
/// All rows with a superpoint take part (no 2D-visibility mask in stage 2; `mask` may still
/// exclude rows, as an ignore), at most `maxRows` (20,000) of them (`RowSubsample`). Ties in the
/// argmax go to the lower class. The gradient is with respect to the predictions `o`.
public struct SelfDistillationLoss: Sendable {
    public var maxRows: Int? = 20_000

    public init(maxRows: Int? = 20_000) { self.maxRows = maxRows }

    public struct Result {
        public var loss: Double
        public var pointLoss: Double
        public var superpointLoss: Double
        public var gradient: [Float]
        /// Pseudo-label per superpoint (dense order of the selected rows' ids) and per selected row.
        public var superpointLabels: [Int32]
        public var rowsUsed: Int
    }

    /// `prediction` and `history` are rows × `text.dimension` (history = EMA state at each row's
    /// representative point); `text` holds the class embeddings (rows of T).
    public func evaluate(prediction: [Float], history: [Float], segments: [Int32], mask: [UInt8]? = nil,
                         text: Vocabulary, rng: inout SplitMix64) throws -> Result {
        let d = text.dimension, k = text.count
        try require(prediction.count == segments.count * d && history.count == prediction.count,
                    "self-distillation: prediction (\(prediction.count)) and history (\(history.count)) must be \(segments.count) rows × \(d)")
        let sel = try RowSubsample(segments: segments, mask: mask, maxRows: maxRows, rng: &rng)
        let n = sel.rows.count, m = sel.segmentCount
        var grad = [Float](repeating: 0, count: prediction.count)
        guard n > 0 else { return Result(loss: 0, pointLoss: 0, superpointLoss: 0, gradient: grad, superpointLabels: [], rowsUsed: 0) }
        // Pseudo-labels from the superpoint means of the history.
        let hMean = history.withUnsafeBufferPointer { sel.segmentMeans($0, dim: d) }
        let hScores = GEMM.multiply(hMean.map { Float($0) }, text.embeddings, m: m, k: d, n: k, transB: true)
        var yS = [Int32](repeating: 0, count: m)
        for s in 0..<m {
            var b = 0
            for c in 1..<k where hScores[s * k + c] > hScores[s * k + b] { b = c }
            yS[s] = Int32(b)
        }
        let yRows = sel.segment.map { yS[$0] }
        // Point level: logits of the selected rows.
        var oSel = [Float](repeating: 0, count: n * d)
        for (q, r) in sel.rows.enumerated() {
            for j in 0..<d { oSel[q * d + j] = prediction[r * d + j] }
        }
        let z = GEMM.multiply(oSel, text.embeddings, m: n, k: d, n: k, transB: true)
        let ce1 = try CrossEntropyLoss.evaluate(logits: z, labels: yRows, classes: k, ignore: nil) as (Double, [Float])
        // Superpoint level.
        let oMean = oSel.withUnsafeBufferPointer { op -> [Double] in
            // segmentMeans indexes by original rows; here rows are 0..<n in selection order.
            var mm = [Double](repeating: 0, count: m * d)
            for q in 0..<n {
                let s = sel.segment[q] * d
                for j in 0..<d { mm[s + j] += Double(op[q * d + j]) }
            }
            for s in 0..<m { for j in 0..<d { mm[s * d + j] /= Double(sel.segmentSizes[s]) } }
            return mm
        }
        let zS = GEMM.multiply(oMean.map { Float($0) }, text.embeddings, m: m, k: d, n: k, transB: true)
        let ce2 = try CrossEntropyLoss.evaluate(logits: zS, labels: yS, classes: k, ignore: nil) as (Double, [Float])
        // ∂/∂o: dz · T, and dz̄ · T / |S|.
        let gRows = GEMM.multiply(ce1.1, text.embeddings, m: n, k: k, n: d)
        let gSeg = GEMM.multiply(ce2.1, text.embeddings, m: m, k: k, n: d)
        for (q, r) in sel.rows.enumerated() {
            let s = sel.segment[q], inv = 1 / Float(sel.segmentSizes[s])
            for j in 0..<d { grad[r * d + j] = gRows[q * d + j] + gSeg[s * d + j] * inv }
        }
        return Result(loss: ce1.0 + ce2.0, pointLoss: ce1.0, superpointLoss: ce2.0, gradient: grad,
                      superpointLabels: yS, rowsUsed: n)
    }
}
