/// Sparse convolution as gather → GEMM → scatter-add per kernel offset (MinkowskiEngine's CPU
/// algorithm): for every offset `k` with pairs `(i, o)`, `out[o] += in[i] · W[k]`.
///
/// Output-stationary tiling: the output rows are processed in tiles sized to stay in cache; for
/// each tile, every offset's pairs that land in the tile (a contiguous range, since pairs are
/// sorted by output row within an offset) are gathered into a contiguous block, multiplied by
/// `W[k]` with one `cblas_sgemm`, and added into the cache-resident output tile. The identity
/// offset of a stride-1 odd kernel (the centre) is a dense GEMM straight into the tile. With rows
/// in spatial (Morton) order, the gathered inputs of a tile are cache-resident too.
public enum SparseConvolution {
    /// Output rows per tile: keeps the output tile near 2 MiB.
    static func tileRows(cout: Int) -> Int { max(256, (1 << 19) / max(1, cout)) }

    /// First index in `rows[lo..<hi]` (sorted ascending) whose value is >= `v`.
    @inline(__always)
    static func lowerBound(_ rows: UnsafeBufferPointer<Int32>, _ lo: Int, _ hi: Int, _ v: Int32) -> Int {
        var a = lo, b = hi
        while a < b {
            let m = (a + b) >> 1
            if rows[m] < v { a = m + 1 } else { b = m }
        }
        return a
    }

    /// `out = conv(input, weights) + bias`, with `out` of shape `map.outCount × weights.cout`.
    public static func forward(_ input: FeatureMatrix, weights w: ConvWeights, map: KernelMap,
                               into out: FeatureMatrix, workspace: Workspace, threads: Int) throws {
        guard input.cols == w.cin, input.rows == map.inCount, out.rows == map.outCount, out.cols == w.cout,
              map.volume == w.volume, w.bias.isEmpty || w.bias.count == w.cout else {
            throw OV3DError.internal("convolution shapes disagree: input \(input.rows)×\(input.cols), output \(out.rows)×\(out.cols), weights k\(w.kernelSize) \(w.cin)->\(w.cout), map \(map.inCount)->\(map.outCount) volume \(map.volume)")
        }
        let cin = w.cin, cout = w.cout, nOut = out.rows
        guard nOut > 0 else { return }
        let identity: Int? = (map.identityOffset.map { map.pairCount($0) == nOut && input.rows == nOut } ?? false)
            ? map.identityOffset : nil
        let tile = tileRows(cout: cout)
        let gbuf = try workspace.buffer(capacity: min(tile, nOut) * cin)
        let sbuf = try workspace.buffer(capacity: min(tile, nOut) * cout)
        defer { workspace.recycle(gbuf); workspace.recycle(sbuf) }
        let box = UncheckedSendable((input.data, out.data, gbuf.pointer, sbuf.pointer))
        w.weights.withUnsafeBufferPointer { wp in
            w.bias.withUnsafeBufferPointer { bp in
                map.inRows.withUnsafeBufferPointer { inRows in
                    map.outRows.withUnsafeBufferPointer { outRows in
                        let rows = UncheckedSendable((inRows, outRows, bp))
                        let wbase = wp.baseAddress!
                        let (inp, outp, g, s) = box.value
                        var t0 = 0
                        while t0 < nOut {
                            let t1 = min(nOut, t0 + tile)
                            // 1. bias (or zero) in the tile's rows.
                            parallelFor(t1 - t0, threads: threads, minChunk: 1024) { r in
                                let (_, _, b) = rows.value
                                let o = box.value.1
                                if b.isEmpty {
                                    (o + (t0 + r.lowerBound) * cout).initialize(repeating: 0, count: r.count * cout)
                                } else {
                                    for row in r { (o + (t0 + row) * cout).update(from: b.baseAddress!, count: cout) }
                                }
                            }
                            // 2. identity offset: dense GEMM on the tile.
                            if let k0 = identity {
                                GEMM.sgemm(m: t1 - t0, n: cout, k: cin, a: inp + t0 * cin, lda: cin,
                                           b: wbase + k0 * cin * cout, ldb: cout, beta: 1, c: outp + t0 * cout, ldc: cout)
                            }
                            // 3. other offsets: gather the tile's pairs, GEMM, add into the tile.
                            for k in 0..<map.volume where k != identity {
                                let seg0 = map.start[k], seg1 = map.start[k + 1]
                                if seg0 == seg1 { continue }
                                let lo = lowerBound(outRows, seg0, seg1, Int32(t0))
                                let hi = lowerBound(outRows, lo, seg1, Int32(t1))
                                let m = hi - lo
                                if m == 0 { continue }
                                parallelFor(m, threads: threads, minChunk: 512) { r in
                                    let (ir, _, _) = rows.value
                                    let (src, _, g, _) = box.value
                                    for p in r {
                                        (g + p * cin).update(from: src + Int(ir[lo + p]) * cin, count: cin)
                                    }
                                }
                                GEMM.sgemm(m: m, n: cout, k: cin, a: g, lda: cin, b: wbase + k * cin * cout, ldb: cout,
                                           beta: 0, c: s, ldc: cout)
                                parallelFor(m, threads: threads, minChunk: 512) { r in
                                    let (_, orows, _) = rows.value
                                    let (_, dst, _, s) = box.value
                                    for p in r {
                                        addRow(dst + Int(orows[lo + p]) * cout, s + p * cout, cout)
                                    }
                                }
                            }
                            t0 = t1
                        }
                    }
                }
            }
        }
    }

    /// `dst[0..<n] += src[0..<n]`, vectorised 8 lanes at a time.
    @inline(__always)
    static func addRow(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
        var c = 0
        let rawD = UnsafeMutableRawPointer(dst), rawS = UnsafeRawPointer(src)
        while c + 8 <= n {
            let a = rawD.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self)
            let b = rawS.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self)
            rawD.storeBytes(of: a + b, toByteOffset: 4 * c, as: SIMD8<Float>.self)
            c += 8
        }
        while c < n { dst[c] += src[c]; c += 1 }
    }
}
