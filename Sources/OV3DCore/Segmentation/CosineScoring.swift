#if canImport(Glibc)
import Glibc
#endif

/// The scoring kernels of a segmentation: rows of features against a vocabulary's unit
/// embeddings, in fixed blocks of rows (the same blocks whatever the thread count, so results
/// are identical bit for bit), without ever holding more than one block's `rows × words` scores.
enum CosineScoring {
    /// Rows per block.
    static let block = 2048

    /// Per row of `features` (`rows × d`, any norm): the best word (ties: the lowest index), its
    /// cosine similarity (0 for an all-zero row), and optionally softmax(cosine / temperature)
    /// over the words into `probabilities` (`rows × k`). `fixedLabels`: score these words
    /// instead of the best ones.
    static func classify(features: UnsafePointer<Float>, rows: Int, vocabulary v: Vocabulary,
                         fixedLabels: UnsafePointer<Int32>? = nil,
                         labels: UnsafeMutablePointer<Int32>, scores: UnsafeMutablePointer<Float>,
                         probabilities: UnsafeMutablePointer<Float>? = nil, temperature: Float = 0.01,
                         threads: Int) {
        let d = v.dimension, k = v.count
        let blocks = (rows + block - 1) / block
        v.embeddings.withUnsafeBufferPointer { eb in
            let e = UncheckedSendable((eb.baseAddress!, labels, scores, probabilities, fixedLabels))
            // Blocks run one after another; the GEMM inside each spreads over the BLAS threads.
            for b in 0..<blocks {
                let r0 = b * block, m = min(block, rows - r0)
                var s = [Float](repeating: 0, count: m * k)
                s.withUnsafeMutableBufferPointer { sp in
                    GEMM.sgemm(transB: true, m: m, n: k, k: d, a: features + r0 * d, lda: d,
                               b: e.value.0, ldb: d, beta: 0, c: sp.baseAddress!, ldc: k)
                    let sv = UncheckedSendable(sp.baseAddress!)
                    parallelFor(m, threads: threads, minChunk: 512) { range in
                        let (_, labels, scores, probs, fixed) = e.value
                        let s = sv.value
                        var norms = [Float](repeating: 0, count: range.count)
                        norms.withUnsafeMutableBufferPointer { nb in
                            Elementwise.squaredNorms(features + (r0 + range.lowerBound) * d, rows: range.count, cols: d,
                                                     into: nb.baseAddress!)
                        }
                        for i in range {
                            let nrm = norms[i - range.lowerBound]
                            let inv: Float = nrm > 0 ? 1 / nrm.squareRoot() : 0
                            let si = s + i * k
                            var best = 0
                            if let fixed {
                                best = Int(fixed[r0 + i])
                            } else {
                                var bv = si[0]
                                for c in 1..<max(1, k) where si[c] > bv { bv = si[c]; best = c }
                            }
                            labels[r0 + i] = Int32(best)
                            scores[r0 + i] = best >= 0 && best < k ? si[best] * inv : .nan
                            if let probs {
                                let p = probs + (r0 + i) * k
                                var mx = -Float.infinity
                                for c in 0..<k { mx = max(mx, si[c] * inv) }
                                var z: Float = 0
                                for c in 0..<k { let x = expf((si[c] * inv - mx) / temperature); p[c] = x; z += x }
                                for c in 0..<k { p[c] /= z }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Cosine similarity of every row (`rows × d`) with one unit vector `q` (`d`).
    static func similarity(features: UnsafePointer<Float>, rows: Int, dim d: Int, query q: UnsafePointer<Float>,
                           out: UnsafeMutablePointer<Float>, threads: Int) {
        let p = UncheckedSendable((features, q, out))
        parallelFor(rows, threads: threads, minChunk: 4096) { range in
            let (f, q, o) = p.value
            for i in range {
                let row = f + i * d
                var dot: Float = 0, nrm: Float = 0
                for j in 0..<d { dot += row[j] * q[j]; nrm += row[j] * row[j] }
                o[i] = nrm > 0 ? dot / nrm.squareRoot() : 0
            }
        }
    }
}
