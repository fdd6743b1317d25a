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
                var norms = [Float](repeating: 0, count: min(r.count, normBlock))
                var i0 = r.lowerBound
                while i0 < r.upperBound {
                    let m = min(normBlock, r.upperBound - i0)
                    norms.withUnsafeMutableBufferPointer { nb in
                        squaredNorms(d + i0 * cols, rows: m, cols: cols, into: nb.baseAddress!)
                        for i in 0..<m where nb[i] > 0 {
                            let row = d + (i0 + i) * cols
                            let inv = 1 / nb[i].squareRoot()
                            for c in 0..<cols { row[c] *= inv }
                        }
                    }
                    i0 += m
                }
            }
        }
    }

    /// Rows per call of `squaredNorms` in `l2NormalizeRows`.
    static let normBlock = 256

    /// `out[i] = Σ_c x[i][c]²` for `rows` consecutive rows of `cols` floats, each sum taken left to
    /// right (c = 0, 1, ...) exactly as a scalar loop takes it, so bit for bit the same; eight rows
    /// at a time, so that the additions of different rows overlap instead of waiting on each other.
    @inlinable
    public static func squaredNorms(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
        var r = 0
        while r + 8 <= rows {
            let p0 = x + r * cols, p1 = p0 + cols, p2 = p1 + cols, p3 = p2 + cols
            let p4 = p3 + cols, p5 = p4 + cols, p6 = p5 + cols, p7 = p6 + cols
            var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
            var s4: Float = 0, s5: Float = 0, s6: Float = 0, s7: Float = 0
            for c in 0..<cols {
                s0 += p0[c] * p0[c]; s1 += p1[c] * p1[c]; s2 += p2[c] * p2[c]; s3 += p3[c] * p3[c]
                s4 += p4[c] * p4[c]; s5 += p5[c] * p5[c]; s6 += p6[c] * p6[c]; s7 += p7[c] * p7[c]
            }
            out[r] = s0; out[r + 1] = s1; out[r + 2] = s2; out[r + 3] = s3
            out[r + 4] = s4; out[r + 5] = s5; out[r + 6] = s6; out[r + 7] = s7
            r += 8
        }
        while r < rows {
            let p = x + r * cols
            var s: Float = 0
            for c in 0..<cols { s += p[c] * p[c] }
            out[r] = s
            r += 1
        }
    }
}
