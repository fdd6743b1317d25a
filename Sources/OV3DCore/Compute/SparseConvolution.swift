/// Sparse convolution as gather → GEMM → scatter-add per kernel offset (MinkowskiEngine's CPU
/// algorithm): for every offset `k` with pairs `(i, o)`, `out[o] += in[i] · W[k]`.
///
/// The identity offset of a stride-1 odd kernel (the centre) is one dense GEMM straight into the
/// output. Other offsets are processed in blocks of pairs sized to stay in cache: the block's
/// input rows are gathered into a contiguous buffer, multiplied by `W[k]` with `cblas_sgemm`,
/// and added to the output rows (race-free within one offset, so the scatter is parallel).
public enum SparseConvolution {
    /// Pairs per block: keeps the gathered and product blocks near 2 MiB.
    static func blockRows(cin: Int, cout: Int) -> Int { max(512, (1 << 19) / max(1, cin + cout)) }

    /// `out = conv(input, weights) + bias`, with `out` of shape `map.outCount × weights.cout`.
    public static func forward(_ input: FeatureMatrix, weights w: ConvWeights, map: KernelMap,
                               into out: FeatureMatrix, workspace: Workspace, threads: Int) throws {
        guard input.cols == w.cin, input.rows == map.inCount, out.rows == map.outCount, out.cols == w.cout,
              map.volume == w.volume else {
            throw OV3DError.internal("convolution shapes disagree: input \(input.rows)×\(input.cols), output \(out.rows)×\(out.cols), weights k\(w.kernelSize) \(w.cin)->\(w.cout), map \(map.inCount)->\(map.outCount) volume \(map.volume)")
        }
        let cin = w.cin, cout = w.cout
        let inp = input.data, outp = out.data
        let inBox = UncheckedSendable(inp), outBox = UncheckedSendable(outp)
        // 1. bias (or zero) in every output row.
        w.bias.withUnsafeBufferPointer { bp in
            let b = UncheckedSendable(bp)
            parallelFor(out.rows, threads: threads, minChunk: 4096) { r in
                let o = outBox.value
                if b.value.isEmpty {
                    (o + r.lowerBound * cout).initialize(repeating: 0, count: r.count * cout)
                } else {
                    for row in r { (o + row * cout).update(from: b.value.baseAddress!, count: cout) }
                }
            }
        }
        guard map.totalPairs > 0 else { return }
        try w.weights.withUnsafeBufferPointer { wp in
            let wbase = wp.baseAddress!
            // 2. the identity offset as one GEMM.
            if let k0 = map.identityOffset, map.pairCount(k0) == out.rows, input.rows == out.rows {
                GEMM.sgemm(m: out.rows, n: cout, k: cin, a: inp, lda: cin, b: wbase + k0 * cin * cout, ldb: cout,
                           beta: 1, c: outp, ldc: cout)
            }
            // 3. every other offset: gather, GEMM, scatter-add, block by block.
            let block = blockRows(cin: cin, cout: cout)
            let gbuf = try workspace.buffer(capacity: block * cin)
            let sbuf = try workspace.buffer(capacity: block * cout)
            defer { workspace.recycle(gbuf); workspace.recycle(sbuf) }
            let g = gbuf.pointer, s = sbuf.pointer
            let gBox = UncheckedSendable(g), sBox = UncheckedSendable(s)
            map.inRows.withUnsafeBufferPointer { inRows in
                map.outRows.withUnsafeBufferPointer { outRows in
                    let rowsBox = UncheckedSendable((inRows, outRows))
                    for k in 0..<map.volume where k != map.identityOffset || map.pairCount(k) != out.rows {
                        var lo = map.start[k]
                        let end = map.start[k + 1]
                        while lo < end {
                            let hi = min(end, lo + block)
                            let m = hi - lo
                            let base = lo
                            parallelFor(m, threads: threads, minChunk: 256) { r in
                                let (ir, _) = rowsBox.value
                                let g = gBox.value, src = inBox.value
                                for p in r {
                                    (g + p * cin).update(from: src + Int(ir[base + p]) * cin, count: cin)
                                }
                            }
                            GEMM.sgemm(m: m, n: cout, k: cin, a: g, lda: cin, b: wbase + k * cin * cout, ldb: cout,
                                       beta: 0, c: s, ldc: cout)
                            parallelFor(m, threads: threads, minChunk: 256) { r in
                                let (_, orows) = rowsBox.value
                                let s = sBox.value, dst = outBox.value
                                for p in r {
                                    let o = dst + Int(orows[base + p]) * cout
                                    let v = s + p * cout
                                    for c in 0..<cout { o[c] += v[c] }
                                }
                            }
                            lo = hi
                        }
                    }
                }
            }
        }
    }
}
