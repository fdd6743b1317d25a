import CKernels
import Testing
@testable import OV3DCore

/// The weight-gradient reduction `W += Σ_p A[aRow(p)]ᵀ · B[bRow(p)]` of sparse-convolution
/// backward (issue 11): ov3d's AVX-512 kernel (`ov3d_gemm_atb_rows_avx512`) against the OpenBLAS
/// path (`WeightGradientGEMM` with `.blas`) and a float64 sum, over shapes that reach every
/// micro-kernel (k = rows of W: partial MR blocks of 6, 8 and 12; n = columns: 1…17, 31…33, 48,
/// 63…65, 96, 97, 256, 512: masked last vectors, 1–4 vectors per block, several blocks), pair
/// counts around the 64-pair chunk (0, 1, 63, 64, 65, 200), gathered and plain rows, strides
/// beyond the widths, and W accumulated into (not overwritten).
///
/// The AVX-512 kernel is called directly whenever the CPU has AVX-512F, whatever `OV3D_KERNELS`
/// says, so the `OV3D_KERNELS=blas` run of the suite executes it too; each test prints which
/// kernel ran ("dW kernel: avx512 ..." or "... this CPU lacks AVX-512F").
@Suite struct WeightGradientKernelTests {
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var g = SplitMix64(seed: seed)
        return (0..<count).map { _ in Float(Double(g.next() >> 11) / Double(1 << 53) * 2 - 1) }
    }

    struct Case {
        let m: Int, k: Int, n: Int, gathered: Bool
        var lda: Int { k + 3 }
        var ldb: Int { n + 5 }
        var ldw: Int { n + 7 }
        var inRows: Int { gathered ? 2 * m + 3 : m }
        var outRows: Int { gathered ? 2 * m + 2 : m }
    }

    /// (W from the AVX-512 kernel or nil when the CPU lacks it, W from OpenBLAS, W0, the float64 result).
    static func run(_ c: Case, seed: UInt64) -> ([Float]?, [Float], [Float], [Double]) {
        let a = values(max(1, c.inRows) * c.lda, seed: seed), b = values(max(1, c.outRows) * c.ldb, seed: seed &+ 1)
        let w0 = values(c.k * c.ldw, seed: seed &+ 2)
        var g = SplitMix64(seed: seed &+ 3)
        // Gathered: input rows 2p or 2p+1, output rows a permutation of odd rows (as one offset's pairs).
        let aRows: [Int32] = (0..<c.m).map { Int32(2 * $0 + Int(g.next() & 1)) }
        var perm = Array(0..<c.m)
        for i in stride(from: c.m - 1, to: 0, by: -1) { perm.swapAt(i, Int(g.next() % UInt64(i + 1))) }
        let bRows: [Int32] = perm.map { Int32(2 * $0 + 1) }
        var ref = [Double](repeating: 0, count: c.k * c.ldw)
        for i in ref.indices { ref[i] = Double(w0[i]) }
        for p in 0..<c.m {
            let ia = c.gathered ? Int(aRows[p]) : p, ib = c.gathered ? Int(bRows[p]) : p
            for r in 0..<c.k { for j in 0..<c.n { ref[r * c.ldw + j] += Double(a[ia * c.lda + r]) * Double(b[ib * c.ldb + j]) } }
        }
        func call(_ body: (UnsafePointer<Float>, UnsafePointer<Int32>?, UnsafePointer<Float>, UnsafePointer<Int32>?, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
            var w = w0
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    aRows.withUnsafeBufferPointer { ar in
                        bRows.withUnsafeBufferPointer { br in
                            w.withUnsafeMutableBufferPointer { wp in
                                body(ap.baseAddress!, c.gathered ? ar.baseAddress : nil, bp.baseAddress!,
                                     c.gathered ? br.baseAddress : nil, wp.baseAddress!)
                            }
                        }
                    }
                }
            }
            return w
        }
        let blas = call { a, ar, b, br, w in
            WeightGradientGEMM.accumulate(m: c.m, k: c.k, n: c.n, a: a, lda: c.lda, aRows: ar, b: b, ldb: c.ldb, bRows: br,
                                          w: w, ldw: c.ldw, kernels: .blas)
        }
        var avx: [Float]? = nil
        if ComputeKernels.cpuHasVectorKernels {
            let floats = Int(ov3d_gemm_atb_scratch_floats(Int64(c.k), Int64(c.n)))
            let scratch = Scratch(floats: max(1, floats))!
            avx = call { a, ar, b, br, w in
                ov3d_gemm_atb_rows_avx512(Int64(c.m), Int64(c.k), Int64(c.n), a, Int64(c.lda), ar, b, Int64(c.ldb), br,
                                          w, Int64(c.ldw), scratch.pointer)
            }
        }
        return (avx, blas, w0, ref)
    }

    /// Max |a − ref| / max(1, |ref|) over W's n columns; padding columns must equal W0 exactly.
    static func check(_ w: [Float], _ c: Case, _ w0: [Float], _ ref: [Double], _ name: String) {
        var worst = 0.0
        for r in 0..<c.k {
            for j in 0..<c.n {
                let s = ref[r * c.ldw + j]
                worst = max(worst, abs(Double(w[r * c.ldw + j]) - s) / max(1, abs(s)))
            }
            for j in c.n..<c.ldw { #expect(w[r * c.ldw + j] == w0[r * c.ldw + j], "\(name): padding column \(j) of row \(r) written") }
        }
        #expect(worst < 2e-6 * Double(max(1, c.m)).squareRoot() + 1e-6, "\(name) m\(c.m) k\(c.k) n\(c.n) gathered \(c.gathered): error \(worst)")
    }

    static let kernelName = ComputeKernels.cpuHasVectorKernels
        ? "avx512 (ov3d_gemm_atb_rows_avx512, called directly) and openblas"
        : "openblas only: this CPU lacks AVX-512F, ov3d_gemm_atb_rows_avx512 cannot run here"

    @Test(arguments: [1, 3, 6, 8, 12, 13, 19, 64, 129])
    func reductionMatchesOpenBLASAndFloat64(k: Int) {
        print("dW kernel: \(Self.kernelName)")
        let ns = [1, 2, 7, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 96, 97, 256, 512]
        for (i, n) in ns.enumerated() {
            for m in [0, 1, 63, 64, 65, 200] where m * n * k <= 1_500_000 {
                for gathered in [false, true] {
                    let c = Case(m: m, k: k, n: n, gathered: gathered)
                    let (avx, blas, w0, ref) = Self.run(c, seed: UInt64(k * 100_000 + i * 1000 + m * 2 + (gathered ? 1 : 0)))
                    Self.check(blas, c, w0, ref, "openblas")
                    if let avx {
                        Self.check(avx, c, w0, ref, "avx512")
                        var diff = 0.0
                        for idx in avx.indices { diff = max(diff, Double(abs(avx[idx] - blas[idx]))) }
                        #expect(diff < 1e-4, "avx512 vs openblas m\(m) k\(k) n\(n): max |difference| \(diff)")
                    }
                    if m == 0 {
                        #expect(blas == w0 && (avx ?? w0) == w0, "no pairs: W unchanged")
                    }
                }
            }
        }
    }

    /// Each element of W is one sum over the pairs in order, so splitting the columns (what the
    /// thread split of `SparseConvolutionBackward.weightGradient` does) gives the same bits.
    @Test func columnSplitsGiveIdenticalBits() throws {
        try #require(ComputeKernels.cpuHasVectorKernels, "dW kernel: openblas only (this CPU lacks AVX-512F): nothing to check")
        print("dW kernel: avx512 (column-split determinism)")
        let m = 333, k = 40, n = 200
        let a = Self.values(m * k, seed: 91), b = Self.values(m * n, seed: 92)
        func run(_ splits: [Int]) -> [Float] {
            var w = [Float](repeating: 0.5, count: k * n)
            let floats = Int(ov3d_gemm_atb_scratch_floats(Int64(k), Int64(n)))
            let scratch = Scratch(floats: floats)!
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    w.withUnsafeMutableBufferPointer { wp in
                        var j0 = 0
                        for j1 in splits + [n] {
                            ov3d_gemm_atb_rows_avx512(Int64(m), Int64(k), Int64(j1 - j0), ap.baseAddress!, Int64(k), nil,
                                                      bp.baseAddress! + j0, Int64(n), nil, wp.baseAddress! + j0, Int64(n), scratch.pointer)
                            j0 = j1
                        }
                    }
                }
            }
            return w
        }
        let whole = run([])
        #expect(run([64]) == whole)
        #expect(run([16, 48, 112, 176]) == whole)
        #expect(run([80, 160]) == whole)
    }

    /// The kernel a default workspace uses is the AVX-512 one exactly when the CPU has it and
    /// `OV3D_KERNELS` does not ask for OpenBLAS (the engine cannot silently fall back).
    @Test func defaultTrainingKernelsFollowTheCPU() throws {
        let net = try TrainableMinkUNet(spec: TrainableMinkUNetTests.tinySpec, seed: 1)
        let forcedBLAS: Bool
        if case .success(.blas) = ComputeKernels.environment { forcedBLAS = true } else { forcedBLAS = false }
        print("training kernels: \(net.kernels.activeName) (\(ComputeKernels.description))")
        #expect(net.kernels.usesVectorKernels == (ComputeKernels.cpuHasVectorKernels && !forcedBLAS))
    }

    /// A whole forward + backward of a MinkUNet with widths past one vector block (3³ and 2³
    /// kernels, 1×1 head with bias, batch of 2) on the default kernels (AVX-512 here when the CPU
    /// has it) against the OpenBLAS path: outputs, every gradient and the running statistics agree.
    @Test func networkStepOnAVX512EqualsOpenBLAS() throws {
        print("network step: \(ComputeKernels.automatic.activeName) vs openblas")
        var rng = SplitMix64(seed: 31)
        let coords = TrainingOpsTests.cloud(&rng, scenes: 2, side: 12, fill: 0.15)
        let spec = MinkUNetSpec(inChannels: 3, initDim: 16, layers: [1, 1, 1, 1, 1, 1, 1, 1],
                                planes: [24, 32, 48, 64, 40, 33, 20, 17],
                                heads: [.init(name: "final", dim: 70, bias: true)])
        let b = TrainableMinkUNetTests.batch(coords, &rng, cin: 3)
        let g = (0..<(coords.count * 70)).map { _ in rng.uniform(-1...1) }
        func run(_ kernels: ComputeKernels, threads: Int) throws -> ([Float], [Float], StateDict) {
            let net = try TrainableMinkUNet(spec: spec, seed: 5)
            net.kernels = kernels
            let o = try net.forward(b, threads: threads)
            try net.backward([g], threads: threads)
            return (o[0], net.parameters.grads, try net.stateDict())
        }
        let fast = try run(.automatic, threads: 2), blas = try run(.blas, threads: 2)
        #expect(maxRelativeError(fast.0.map { Double($0) }, blas.0.map { Double($0) }) < 1e-5, "forward")
        let net = try TrainableMinkUNet(spec: spec, seed: 5)
        var worst = (0.0, "")
        for e in net.parameters.entries {
            let err = maxRelativeError(fast.1[e.range].map { Double($0) }, blas.1[e.range].map { Double($0) })
            if err > worst.0 { worst = (err, e.name) }
        }
        #expect(worst.0 < 1e-4, "gradient of \(worst.1): \(worst.0) of its largest value")
        for k in fast.2.keys where k.hasSuffix("running_var") {
            #expect(maxRelativeError(try fast.2.tensor(k).floats().map { Double($0) }, try blas.2.tensor(k).floats().map { Double($0) }) < 1e-5, Comment(rawValue: k))
        }
        // The AVX-512 step is deterministic and thread-count independent in its dW sums.
        let again = try run(.automatic, threads: 2), one = try run(.automatic, threads: 1)
        #expect(again.1 == fast.1, "same threads: identical gradients")
        #expect(maxRelativeError(one.1.map { Double($0) }, fast.1.map { Double($0) }) < 1e-4)
    }
}
