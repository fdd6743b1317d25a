/// BatchNorm1d over the rows of a feature matrix, unfolded (for training), fused with what follows
/// it in a MinkUNet: an optional residual add and an optional ReLU,
/// `A = relu?( BN(Z) + residual )`, and the matching backward.
///
/// torch's semantics (`torch.nn.BatchNorm1d`, eps 1e-5, momentum 0.1): in training mode the
/// batch statistics over every row normalise (biased variance), `running_mean` and
/// `running_var` (unbiased variance) move by the momentum; in evaluation mode the running
/// statistics normalise. Channel sums run over fixed chunks of `chunkRows` rows (Float within a
/// chunk, Double across chunks in chunk order), two passes for the variance: the same result for
/// every thread count.
public enum BatchNormTraining {
    public static let eps: Double = 1e-5
    public static let momentum: Float = 0.1
    static let chunkRows = 128

    /// Per-channel statistics of a batch: mean and biased variance (Double).
    struct Statistics {
        var mean: [Double]
        var variance: [Double]
    }

    /// Per chunk of rows, `f` accumulates into a Float row of `cols` sums; the chunk sums are
    /// added in chunk order in Double.
    static func channelSums(rows: Int, cols: Int, threads: Int,
                            _ f: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) -> [Double] {
        let chunks = (rows + chunkRows - 1) / chunkRows
        var partial = [Float](repeating: 0, count: max(1, chunks * cols))
        partial.withUnsafeMutableBufferPointer { pp in
            let box = UncheckedSendable(pp.baseAddress!)
            parallelFor(chunks, threads: threads, minChunk: 16) { cr in
                for c in cr {
                    f((c * chunkRows)..<min(rows, (c + 1) * chunkRows), box.value + c * cols)
                }
            }
        }
        var out = [Double](repeating: 0, count: cols)
        for c in 0..<chunks { for j in 0..<cols { out[j] += Double(partial[c * cols + j]) } }
        return out
    }

    /// Batch mean and biased variance of every column of `z`.
    static func statistics(_ z: FeatureMatrix, threads: Int) -> Statistics {
        let n = z.rows, c = z.cols
        let zp = UncheckedSendable(z.data)
        let sum = channelSums(rows: n, cols: c, threads: threads) { r, acc in
            for i in r { let row = zp.value + i * c; for j in 0..<c { acc[j] += row[j] } }
        }
        let mean = sum.map { $0 / Double(max(1, n)) }
        let meanF = mean.map { Float($0) }
        let mp = UncheckedSendable(meanF)
        let sq = channelSums(rows: n, cols: c, threads: threads) { r, acc in
            mp.value.withUnsafeBufferPointer { m in
                for i in r {
                    let row = zp.value + i * c
                    for j in 0..<c { let d = row[j] - m[j]; acc[j] += d * d }
                }
            }
        }
        // Σ(z − m̃)² with m̃ the rounded mean: correct by n·(m − m̃)² for the exact mean.
        var variance = [Double](repeating: 0, count: c)
        for j in 0..<c {
            let d = mean[j] - Double(meanF[j])
            variance[j] = max(0, sq[j] / Double(max(1, n)) - d * d)
        }
        return Statistics(mean: mean, variance: variance)
    }

    /// `A = relu?( Z·scale + shift + residual )` per row (`scale`, `shift` per channel).
    static func apply(_ z: FeatureMatrix, scale: [Float], shift: [Float], residual: FeatureMatrix?, relu: Bool,
                      into a: FeatureMatrix, threads: Int) {
        let c = z.cols
        let p = UncheckedSendable((z.data, a.data, residual?.data, scale, shift))
        parallelFor(z.rows, threads: threads, minChunk: 1024) { r in
            let (zp, ap, rp, scale, shift) = p.value
            scale.withUnsafeBufferPointer { s in
                shift.withUnsafeBufferPointer { b in
                    for i in r {
                        let zr = zp + i * c, ar = ap + i * c
                        if let rp {
                            let rr = rp + i * c
                            if relu { for j in 0..<c { ar[j] = max(zr[j] * s[j] + b[j] + rr[j], 0) } }
                            else { for j in 0..<c { ar[j] = zr[j] * s[j] + b[j] + rr[j] } }
                        } else {
                            if relu { for j in 0..<c { ar[j] = max(zr[j] * s[j] + b[j], 0) } }
                            else { for j in 0..<c { ar[j] = zr[j] * s[j] + b[j] } }
                        }
                    }
                }
            }
        }
    }

    /// Zeroes `dA` where the ReLU output `a` is not positive (in place).
    static func maskRelu(_ dA: FeatureMatrix, output a: FeatureMatrix, threads: Int) {
        let p = UncheckedSendable((dA.data, a.data))
        parallelFor(dA.count, threads: threads, minChunk: 1 << 16) { r in
            let (g, o) = p.value
            for i in r where !(o[i] > 0) { g[i] = 0 }
        }
    }

    /// The BN backward: `dY` = gradient of the BN output, `z` its input, `mean`/`invStd` the
    /// normalising statistics (batch ones in training mode, running ones in evaluation mode).
    /// Adds Σ dY·x̂ into `dGamma` and Σ dY into `dBeta`; writes `dZ` (may alias `dY`).
    /// Training: `dZ = γ·invStd·(dY − mean(dY) − x̂·mean(dY·x̂))`; evaluation: `dZ = γ·invStd·dY`.
    static func backward(_ dY: FeatureMatrix, input z: FeatureMatrix, mean: [Float], invStd: [Float], gamma: UnsafePointer<Float>,
                         training: Bool, dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
                         into dZ: FeatureMatrix, threads: Int) {
        let n = z.rows, c = z.cols
        let p = UncheckedSendable((dY.data, z.data, mean, invStd))
        let sumDy = channelSums(rows: n, cols: c, threads: threads) { r, acc in
            let (g, _, _, _) = p.value
            for i in r { let row = g + i * c; for j in 0..<c { acc[j] += row[j] } }
        }
        let sumDyX = channelSums(rows: n, cols: c, threads: threads) { r, acc in
            let (g, zp, mean, inv) = p.value
            mean.withUnsafeBufferPointer { m in
                inv.withUnsafeBufferPointer { s in
                    for i in r {
                        let gr = g + i * c, zr = zp + i * c
                        for j in 0..<c { acc[j] += gr[j] * ((zr[j] - m[j]) * s[j]) }
                    }
                }
            }
        }
        for j in 0..<c {
            dGamma[j] += Float(sumDyX[j])
            dBeta[j] += Float(sumDy[j])
        }
        var k1 = [Float](repeating: 0, count: c), k2 = [Float](repeating: 0, count: c), k0 = [Float](repeating: 0, count: c)
        for j in 0..<c {
            let g = Double(gamma[j]) * Double(invStd[j])
            k0[j] = Float(g)
            k1[j] = training ? Float(g * sumDy[j] / Double(n)) : 0
            k2[j] = training ? Float(g * sumDyX[j] / Double(n)) : 0
        }
        let q = UncheckedSendable((dY.data, z.data, dZ.data, mean, invStd, k0, k1, k2))
        parallelFor(n, threads: threads, minChunk: 1024) { r in
            let (g, zp, out, mean, inv, k0, k1, k2) = q.value
            mean.withUnsafeBufferPointer { m in inv.withUnsafeBufferPointer { s in
                k0.withUnsafeBufferPointer { a in k1.withUnsafeBufferPointer { b in k2.withUnsafeBufferPointer { e in
                    for i in r {
                        let gr = g + i * c, zr = zp + i * c, o = out + i * c
                        for j in 0..<c { o[j] = a[j] * gr[j] - b[j] - e[j] * ((zr[j] - m[j]) * s[j]) }
                    }
                } } }
            } }
        }
    }
}
