/// Element-wise layers on feature matrices, parallel over rows.
public enum Elementwise {
    /// `x = max(x, 0)` in place.
    public static func relu(_ x: FeatureMatrix, threads: Int) {
        let p = UncheckedSendable(x.data)
        parallelFor(x.count, threads: threads, minChunk: 1 << 16) { r in
            let d = p.value
            for i in r { d[i] = max(d[i], 0) }
        }
    }

    /// `x = max(x + residual, 0)` in place (the end of a residual block).
    public static func addRelu(_ x: FeatureMatrix, _ residual: FeatureMatrix, threads: Int) throws {
        guard x.rows == residual.rows, x.cols == residual.cols else {
            throw OV3DError.internal("residual shape \(residual.rows)×\(residual.cols) differs from \(x.rows)×\(x.cols)")
        }
        let p = UncheckedSendable((x.data, residual.data))
        parallelFor(x.count, threads: threads, minChunk: 1 << 16) { r in
            let (d, s) = p.value
            for i in r { d[i] = max(d[i] + s[i], 0) }
        }
    }

    /// `[a | b]` along channels (a's channels first), written into `out` (rows × (ca + cb)).
    public static func concat(_ a: FeatureMatrix, _ b: FeatureMatrix, into out: FeatureMatrix, threads: Int) throws {
        guard a.rows == b.rows, out.rows == a.rows, out.cols == a.cols + b.cols else {
            throw OV3DError.internal("concat shapes disagree: \(a.rows)×\(a.cols) + \(b.rows)×\(b.cols) -> \(out.rows)×\(out.cols)")
        }
        let ca = a.cols, cb = b.cols, co = out.cols
        let p = UncheckedSendable((a.data, b.data, out.data))
        parallelFor(a.rows, threads: threads, minChunk: 4096) { r in
            let (ap, bp, op) = p.value
            for i in r {
                (op + i * co).update(from: ap + i * ca, count: ca)
                (op + i * co + ca).update(from: bp + i * cb, count: cb)
            }
        }
    }

    /// Rows of `source` (`cols` wide) picked by `index`: row `i` of the result is row `index[i]`
    /// (per-point features from per-voxel ones through the inverse map). Indices must be in range.
    public static func gatherRows(_ source: [Float], cols: Int, index: [Int32]) -> [Float] {
        var out = [Float](repeating: 0, count: index.count * cols)
        source.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                for (p, r) in index.enumerated() {
                    (o.baseAddress! + p * cols).update(from: s.baseAddress! + Int(r) * cols, count: cols)
                }
            }
        }
        return out
    }

    /// Scales every row to unit L2 norm (rows of norm 0 stay 0), in place on a plain array.
    public static func l2NormalizeRows(_ x: inout [Float], cols: Int, threads: Int) {
        guard cols > 0, !x.isEmpty else { return }
        let rows = x.count / cols
        x.withUnsafeMutableBufferPointer { bp in
            let p = UncheckedSendable(bp.baseAddress!)
            parallelFor(rows, threads: threads, minChunk: 1024) { r in
                let d = p.value
                for i in r {
                    let row = d + i * cols
                    var s: Float = 0
                    for c in 0..<cols { s += row[c] * row[c] }
                    if s > 0 {
                        let inv = 1 / s.squareRoot()
                        for c in 0..<cols { row[c] *= inv }
                    }
                }
            }
        }
    }
}
