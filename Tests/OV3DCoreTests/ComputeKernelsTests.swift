import Testing
@testable import OV3DCore

/// ov3d's vector kernels (`RowGEMM`, and `GEMM.sgemm` on them) against a float64 product, over
/// shapes that hit every code path: partial row blocks, partial and masked column vectors
/// (n = 1…17, 33, 48, 96, 513), depth beyond one packed panel (k > 128), k = 0, gathered and
/// scattered rows with strides, overwrite and accumulate. The end-to-end check of the same
/// kernels is the MinkUNet fixture suite (spconv references).
@Suite(.enabled(if: ComputeKernels.vectorKernelsAvailable, "this CPU has no AVX-512F: OpenBLAS runs instead"))
struct ComputeKernelsTests {
    /// Deterministic values in [-1, 1).
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var g = SplitMix64(seed: seed)
        return (0..<count).map { _ in Float(Double(g.next() >> 11) / Double(1 << 53) * 2 - 1) }
    }

    func check(m: Int, n: Int, k: Int, gathered: Bool, accumulate: Bool, seed: UInt64) {
        let lda = k + 3, ldc = n + 5, inRows = gathered ? 2 * m + 1 : m, outRows = gathered ? 2 * m + 2 : m
        let a = Self.values(inRows * lda, seed: seed)
        let b = Self.values(max(1, k) * n, seed: seed &+ 1)
        var c = Self.values(outRows * ldc, seed: seed &+ 2)
        let c0 = c
        // Gathered: input rows 2p or 2p+1 (pseudo-random), outputs a permutation of odd rows.
        var g = SplitMix64(seed: seed &+ 3)
        let aRows: [Int32] = (0..<m).map { Int32(2 * $0 + Int(g.next() & 1)) }
        var perm = Array(0..<m)
        for i in stride(from: m - 1, to: 0, by: -1) { perm.swapAt(i, Int(g.next() % UInt64(i + 1))) }
        let cRows: [Int32] = perm.map { Int32(2 * $0 + 1) }
        let pk = Scratch(floats: RowGEMM.packedFloats(n: n, k: k))!
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                RowGEMM.pack(n: n, k: k, b: bp.baseAddress!, ldb: n, into: pk.pointer)
                c.withUnsafeMutableBufferPointer { cp in
                    aRows.withUnsafeBufferPointer { ar in
                        cRows.withUnsafeBufferPointer { cr in
                            RowGEMM.run(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, aRows: gathered ? ar.baseAddress : nil,
                                        packed: pk.pointer, c: cp.baseAddress!, ldc: ldc,
                                        cRows: gathered ? cr.baseAddress : nil, accumulate: accumulate)
                        }
                    }
                }
            }
        }
        var worst = 0.0
        var written = Set<Int>()
        for p in 0..<m {
            let ar = gathered ? Int(aRows[p]) : p, cr = gathered ? Int(cRows[p]) : p
            written.insert(cr)
            for j in 0..<n {
                var s = accumulate ? Double(c0[cr * ldc + j]) : 0
                for kk in 0..<k { s += Double(a[ar * lda + kk]) * Double(b[kk * n + j]) }
                worst = max(worst, abs(s - Double(c[cr * ldc + j])) / max(1, abs(s)))
            }
            // Padding columns of the row are untouched.
            for j in n..<ldc { #expect(c[cr * ldc + j] == c0[cr * ldc + j], "padding written m\(m) n\(n) k\(k)") }
        }
        // Rows not in the output list are untouched.
        for r in 0..<outRows where !written.contains(r) {
            #expect(Array(c[(r * ldc)..<((r + 1) * ldc)]) == Array(c0[(r * ldc)..<((r + 1) * ldc)]), "row \(r) written")
        }
        #expect(worst < 1e-5, "m\(m) n\(n) k\(k) gathered \(gathered) accumulate \(accumulate): relative error \(worst)")
    }

    @Test(arguments: [(1, 1, 1), (7, 13, 3), (13, 16, 5), (25, 17, 32), (11, 33, 7), (19, 48, 64), (50, 96, 96),
                      (37, 64, 300), (20, 512, 96), (6, 513, 129), (9, 20, 0), (100, 32, 3), (61, 128, 384)])
    func rowGEMMMatchesFloat64(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        for gathered in [false, true] {
            for accumulate in [false, true] {
                check(m: m, n: n, k: k, gathered: gathered, accumulate: accumulate, seed: UInt64(m * 1000 + n * 10 + k))
            }
        }
    }

    @Test func sgemmOnKernelsEqualsOpenBLAS() {
        let (m, n, k) = (1031, 96, 80)   // several row blocks, a partial last one
        let a = Self.values(m * k, seed: 1), b = Self.values(k * n, seed: 2)
        for beta: Float in [0, 1] {
            var c1 = Self.values(m * n, seed: 3), c2 = c1
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c1.withUnsafeMutableBufferPointer { cp in
                        GEMM.sgemm(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n,
                                   beta: beta, c: cp.baseAddress!, ldc: n, kernels: .automatic)
                    }
                    c2.withUnsafeMutableBufferPointer { cp in
                        GEMM.sgemm(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n,
                                   beta: beta, c: cp.baseAddress!, ldc: n, kernels: .blas)
                    }
                }
            }
            let worst = zip(c1, c2).map { Double(abs($0 - $1)) / max(1, Double(abs($1))) }.max()!
            #expect(worst < 1e-5, "beta \(beta): \(worst)")
        }
    }
}
