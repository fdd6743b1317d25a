#if canImport(Glibc)
import Glibc
#endif

/// Sparse convolution as gather → GEMM → scatter-add per kernel offset (MinkowskiEngine's CPU
/// algorithm): for every offset `k` with pairs `(i, o)`, `out[o] += in[i] · W[k]`.
///
/// Output-stationary tiling: the output rows are processed in tiles sized to stay in cache; for
/// each tile, every offset's pairs that land in the tile (a contiguous range, since pairs are
/// sorted by output row within an offset) are multiplied by `W[k]` and added into the
/// cache-resident output tile. The identity offset of a stride-1 odd kernel (the centre) is a
/// dense product straight into the tile. With rows in spatial (Morton) order, the inputs a tile
/// reads are cache-resident too.
///
/// Two compute paths share that schedule (`Workspace.kernels`): ov3d's vector kernels
/// (`RowGEMM`, weights packed once per call) read the input rows and add into the output rows in
/// place, one pass per offset;
/// the OpenBLAS path gathers the rows into a block, runs `cblas_sgemm`, and scatter-adds.
public enum SparseConvolution {
    /// What happens to each output tile once all offsets are summed (while it is in cache).
    public enum Epilogue {
        case none
        /// `max(x, 0)`
        case relu
        /// `max(x + residual, 0)` with a residual of the output's shape (a residual block's end).
        case addRelu(FeatureMatrix)
    }

    /// Floats per output tile (default 128 Ki = 512 KiB, so the tile, the gathered block and the
    /// product block stay in a 1 MiB L2); `OV3D_CONV_TILE_FLOATS` overrides it for tuning.
    nonisolated(unsafe) static var tileFloats: Int = {
        if let e = getenv("OV3D_CONV_TILE_FLOATS"), let v = Int(String(cString: e)), v >= 1024 { return v }
        return 1 << 17
    }()

    /// Output rows per tile.
    static func tileRows(cout: Int) -> Int { max(64, tileFloats / max(1, cout)) }

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
                               into out: FeatureMatrix, workspace: Workspace, threads: Int,
                               epilogue: Epilogue = .none) throws {
        guard w.bias.isEmpty || w.bias.count == w.cout else {
            throw OV3DError.internal("convolution bias holds \(w.bias.count) values, expected \(w.cout)")
        }
        try w.weights.withUnsafeBufferPointer { wp in
            try w.bias.withUnsafeBufferPointer { bp in
                try forward(input, volume: w.volume, cin: w.cin, cout: w.cout, weights: wp.baseAddress!, bias: bp,
                            map: map, into: out, workspace: workspace, threads: threads, epilogue: epilogue)
            }
        }
    }

    /// `out = conv(input, W) + bias` with the weights borrowed: `volume · cin · cout` floats in ME
    /// layout (offset `k`'s `cin × cout` matrix at `k · cin · cout`), `bias` empty or `cout` floats.
    /// The training engine calls it with weights that live in a `ParameterSet` (forward) or with
    /// transposed copies (the input gradient, `SparseConvolutionBackward`).
    static func forward(_ input: FeatureMatrix, volume: Int, cin: Int, cout: Int, weights wbase: UnsafePointer<Float>,
                        bias bp: UnsafeBufferPointer<Float>, map: KernelMap, into out: FeatureMatrix,
                        workspace: Workspace, threads: Int, epilogue: Epilogue = .none) throws {
        try ComputeKernels.checkEnvironment()
        guard input.cols == cin, input.rows == map.inCount, out.rows == map.outCount, out.cols == cout,
              map.volume == volume, bp.isEmpty || bp.count == cout else {
            throw OV3DError.internal("convolution shapes disagree: input \(input.rows)×\(input.cols), output \(out.rows)×\(out.cols), weights volume \(volume) \(cin)->\(cout), map \(map.inCount)->\(map.outCount) volume \(map.volume)")
        }
        let nOut = out.rows
        guard nOut > 0 else { return }
        var mode = 0
        var residual: UnsafeMutablePointer<Float>? = nil
        switch epilogue {
        case .none: break
        case .relu: mode = 1
        case .addRelu(let r):
            guard r.rows == out.rows, r.cols == out.cols else {
                throw OV3DError.internal("residual \(r.rows)×\(r.cols) differs from the output \(out.rows)×\(out.cols)")
            }
            mode = 2
            residual = r.data
        }
        let epi = UncheckedSendable((mode, residual))
        let identity: Int? = (map.identityOffset.map { map.pairCount($0) == nOut && input.rows == nOut } ?? false)
            ? map.identityOffset : nil
        let tile = tileRows(cout: cout)
        let tiles = (nOut + tile - 1) / tile
        // Threads work on disjoint output tiles (on the OpenBLAS path each with its own gather and
        // product blocks and a single-threaded GEMM: OpenBLAS is set to 1 thread meanwhile).
        let workers = max(1, min(Threads.resolve(threads), tiles))
        let rowsPerBuffer = min(tile, nOut)
        let vector = workspace.kernels.usesVectorKernels
        // Vector path: every offset's weights packed once into the kernel's panel layout, shared
        // read-only by all tiles. OpenBLAS path: a gather block and a product block per worker.
        let packedStride = vector ? RowGEMM.packedFloats(n: cout, k: cin) : 0
        let packed = vector ? try workspace.buffer(capacity: max(1, map.volume * packedStride)) : nil
        var blocks = [WorkBuffer]()
        if let packed {
            for k in 0..<map.volume where map.pairCount(k) > 0 {
                RowGEMM.pack(n: cout, k: cin, b: wbase + k * cin * cout, ldb: cout, into: packed.pointer + k * packedStride)
            }
        } else {
            for _ in 0..<workers {
                blocks.append(try workspace.buffer(capacity: rowsPerBuffer * cin))
                blocks.append(try workspace.buffer(capacity: rowsPerBuffer * cout))
            }
        }
        defer {
            if let packed { workspace.recycle(packed) }
            for b in blocks { workspace.recycle(b) }
        }
        // The tiles' products run alone (the calling thread runs tiles too): restored after.
        let callerBLAS = Threads.blasThreads
        if workers > 1, !vector { Threads.setBLASThreads(1) }
        defer { if workers > 1, !vector { Threads.setBLASThreads(callerBLAS) } }
        let ptrs = UncheckedSendable((input.data, out.data, packed?.pointer, blocks.map { $0.pointer }))
        do {
            do {
                map.inRows.withUnsafeBufferPointer { inRows in
                    map.outRows.withUnsafeBufferPointer { outRows in
                        let ctx = UncheckedSendable((wbase, bp, inRows, outRows))
                        parallelFor(workers, threads: workers) { wr in
                            let (inp, outp, packed, blocks) = ptrs.value
                            let (wbase, bias, ir, orows) = ctx.value
                            for worker in wr {
                                var t = worker
                                while t < tiles {
                                    let t0 = t * tile, t1 = min(nOut, t0 + tile)
                                    if let packed {
                                        convTileVector(t0: t0, t1: t1, inp: inp, outp: outp, packed: packed, packedStride: packedStride,
                                                       bias: bias, inRows: ir, outRows: orows, map: map, identity: identity,
                                                       cin: cin, cout: cout)
                                    } else {
                                        convTile(t0: t0, t1: t1, inp: inp, outp: outp, g: blocks[2 * worker], s: blocks[2 * worker + 1],
                                                 wbase: wbase, bias: bias, inRows: ir, outRows: orows, map: map,
                                                 identity: identity, cin: cin, cout: cout)
                                    }
                                    let (mode, res) = epi.value
                                    if mode == 1 {
                                        let o = outp + t0 * cout
                                        for i in 0..<((t1 - t0) * cout) { o[i] = max(o[i], 0) }
                                    } else if mode == 2, let res {
                                        let o = outp + t0 * cout, r = res + t0 * cout
                                        for i in 0..<((t1 - t0) * cout) { o[i] = max(o[i] + r[i], 0) }
                                    }
                                    t += workers
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `bias` (or zero) in the output rows `[t0, t1)`.
    @inline(__always)
    static func initTile(_ outp: UnsafeMutablePointer<Float>, _ t0: Int, _ t1: Int, _ bias: UnsafeBufferPointer<Float>, _ cout: Int) {
        if bias.isEmpty {
            (outp + t0 * cout).initialize(repeating: 0, count: (t1 - t0) * cout)
        } else {
            for row in t0..<t1 { (outp + row * cout).update(from: bias.baseAddress!, count: cout) }
        }
    }

    /// One output tile `[t0, t1)` on the vector kernels: bias, the identity offset as a dense
    /// product, then each offset's pairs read from the input rows and added into the output rows.
    @inline(__always)
    static func convTileVector(t0: Int, t1: Int, inp: UnsafeMutablePointer<Float>, outp: UnsafeMutablePointer<Float>,
                               packed: UnsafeMutablePointer<Float>, packedStride: Int,
                               bias: UnsafeBufferPointer<Float>, inRows: UnsafeBufferPointer<Int32>, outRows: UnsafeBufferPointer<Int32>,
                               map: KernelMap, identity: Int?, cin: Int, cout: Int) {
        initTile(outp, t0, t1, bias, cout)
        if let k0 = identity {
            RowGEMM.run(m: t1 - t0, n: cout, k: cin, a: inp + t0 * cin, lda: cin, aRows: nil,
                        packed: packed + k0 * packedStride, c: outp + t0 * cout, ldc: cout, cRows: nil,
                        accumulate: true)
        }
        for k in 0..<map.volume where k != identity {
            let seg0 = map.start[k], seg1 = map.start[k + 1]
            if seg0 == seg1 { continue }
            let lo = lowerBound(outRows, seg0, seg1, Int32(t0))
            let hi = lowerBound(outRows, lo, seg1, Int32(t1))
            if hi == lo { continue }
            RowGEMM.run(m: hi - lo, n: cout, k: cin, a: inp, lda: cin, aRows: inRows.baseAddress! + lo,
                        packed: packed + k * packedStride, c: outp, ldc: cout, cRows: outRows.baseAddress! + lo,
                        accumulate: true)
        }
    }

    /// One output tile `[t0, t1)` on OpenBLAS: bias, identity GEMM, then gather–GEMM–add per offset.
    @inline(__always)
    static func convTile(t0: Int, t1: Int, inp: UnsafeMutablePointer<Float>, outp: UnsafeMutablePointer<Float>,
                         g: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>, wbase: UnsafePointer<Float>,
                         bias: UnsafeBufferPointer<Float>, inRows: UnsafeBufferPointer<Int32>, outRows: UnsafeBufferPointer<Int32>,
                         map: KernelMap, identity: Int?, cin: Int, cout: Int) {
        // 1. bias (or zero) in the tile's rows.
        initTile(outp, t0, t1, bias, cout)
        // 2. identity offset: dense GEMM on the tile.
        if let k0 = identity {
            GEMM.sgemm(m: t1 - t0, n: cout, k: cin, a: inp + t0 * cin, lda: cin,
                       b: wbase + k0 * cin * cout, ldb: cout, beta: 1, c: outp + t0 * cout, ldc: cout, kernels: .blas)
        }
        // 3. other offsets: the tile's pairs are one contiguous range per offset.
        for k in 0..<map.volume where k != identity {
            let seg0 = map.start[k], seg1 = map.start[k + 1]
            if seg0 == seg1 { continue }
            let lo = lowerBound(outRows, seg0, seg1, Int32(t0))
            let hi = lowerBound(outRows, lo, seg1, Int32(t1))
            let m = hi - lo
            if m == 0 { continue }
            if cin <= smallInput {
                // Few input channels (the 5³ stem): accumulate directly, no GEMM.
                let wk = wbase + k * cin * cout
                for p in lo..<hi {
                    axpyRows(outp + Int(outRows[p]) * cout, inp + Int(inRows[p]) * cin, wk, cin, cout)
                }
                continue
            }
            for p in 0..<m { copyRow(g + p * cin, inp + Int(inRows[lo + p]) * cin, cin) }
            GEMM.sgemm(m: m, n: cout, k: cin, a: g, lda: cin, b: wbase + k * cin * cout, ldb: cout,
                       beta: 0, c: s, ldc: cout, kernels: .blas)
            for p in 0..<m { addRow(outp + Int(outRows[lo + p]) * cout, s + p * cout, cout) }
        }
    }

    /// Input widths up to this use the direct (GEMM-free) accumulation.
    static let smallInput = 4

    /// `dst[0..<n] = src[0..<n]`, 8 lanes at a time (rows are short: a call to memmove costs more).
    @inline(__always)
    static func copyRow(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
        var c = 0
        let rawD = UnsafeMutableRawPointer(dst), rawS = UnsafeRawPointer(src)
        while c + 8 <= n {
            rawD.storeBytes(of: rawS.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self), toByteOffset: 4 * c, as: SIMD8<Float>.self)
            c += 8
        }
        while c < n { dst[c] = src[c]; c += 1 }
    }

    /// `dst[0..<cout] += Σ_a x[a] · w[a][0..<cout]` (one input row times a cin × cout matrix).
    @inline(__always)
    static func axpyRows(_ dst: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                         _ cin: Int, _ cout: Int) {
        let rawD = UnsafeMutableRawPointer(dst), rawW = UnsafeRawPointer(w)
        var c = 0
        while c + 8 <= cout {
            var acc = rawD.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self)
            for a in 0..<cin {
                acc += SIMD8<Float>(repeating: x[a]) * rawW.loadUnaligned(fromByteOffset: 4 * (a * cout + c), as: SIMD8<Float>.self)
            }
            rawD.storeBytes(of: acc, toByteOffset: 4 * c, as: SIMD8<Float>.self)
            c += 8
        }
        while c < cout {
            var acc = dst[c]
            for a in 0..<cin { acc += x[a] * w[a * cout + c] }
            dst[c] = acc
            c += 1
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
