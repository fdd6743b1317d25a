import Dispatch
import Foundation
import Testing
@testable import OV3DCore

/// `GEMM.sgemm` is the same bit for bit whatever the calling thread's count and whatever other
/// threads run or set at the same time (issue 14: OpenBLAS's thread count is process-wide, so
/// one session's count used to change another's results). Also checks the fixed-row-block
/// OpenBLAS path against a float64 product for every transpose case (op(A)'s rows are columns of
/// A when transposed).
@Suite struct GEMMDeterminismTests {
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var g = SplitMix64(seed: seed)
        return (0..<count).map { _ in Float(Double(g.next() >> 11) / Double(1 << 53) * 2 - 1) }
    }

    struct Case: Sendable {
        var m: Int, n: Int, k: Int, transA: Bool, transB: Bool, alpha: Float, beta: Float
    }

    static let cases = [
        Case(m: 1000, n: 96, k: 96, transA: false, transB: false, alpha: 1, beta: 0),
        Case(m: 777, n: 20, k: 512, transA: false, transB: true, alpha: 1, beta: 0),
        Case(m: 600, n: 33, k: 300, transA: true, transB: false, alpha: 0.5, beta: 1),
        Case(m: 513, n: 64, k: 129, transA: true, transB: true, alpha: 1, beta: 1),
        Case(m: 3, n: 5, k: 7, transA: false, transB: false, alpha: 2, beta: 0),
    ]

    /// C = alpha op(A) op(B) + beta C with the calling thread's GEMM count set to `threads`.
    static func run(_ c: Case, threads: Int, kernels: ComputeKernels) -> [Float] {
        let a = values(c.m * c.k, seed: 1), b = values(c.k * c.n, seed: 2)
        var out = values(c.m * c.n, seed: 3)
        Threads.withBLASThreads(threads) {
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    out.withUnsafeMutableBufferPointer { cp in
                        GEMM.sgemm(transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, alpha: c.alpha,
                                   a: ap.baseAddress!, lda: c.transA ? c.m : c.k, b: bp.baseAddress!, ldb: c.transB ? c.k : c.n,
                                   beta: c.beta, c: cp.baseAddress!, ldc: c.n, kernels: kernels)
                    }
                }
            }
        }
        return out
    }

    static func reference(_ c: Case) -> [Double] {
        let a = values(c.m * c.k, seed: 1), b = values(c.k * c.n, seed: 2), c0 = values(c.m * c.n, seed: 3)
        var out = [Double](repeating: 0, count: c.m * c.n)
        for i in 0..<c.m {
            for j in 0..<c.n {
                var s = 0.0
                for p in 0..<c.k {
                    let x = c.transA ? a[p * c.m + i] : a[i * c.k + p]
                    let y = c.transB ? b[j * c.k + p] : b[p * c.n + j]
                    s += Double(x) * Double(y)
                }
                out[i * c.n + j] = Double(c.alpha) * s + Double(c.beta) * Double(c0[i * c.n + j])
            }
        }
        return out
    }

    @Test func blockedOpenBLASPathIsCorrectForEveryTranspose() {
        for c in Self.cases {
            let got = Self.run(c, threads: 2, kernels: .blas), ref = Self.reference(c)
            let worst = zip(got, ref).map { abs(Double($0) - $1) / max(1, abs($1)) }.max()!
            #expect(worst < 1e-4, "\(c): \(worst)")   // float32 sums of up to 512 terms; a wrong block offset gives O(1)
        }
    }

    @Test func sameBitsWhateverTheThreadCountAndTheNeighbours() async {
        for kernels in [ComputeKernels.blas, .automatic] {
            for c in Self.cases {
                let alone = Self.run(c, threads: 1, kernels: kernels)
                // Three threads at once with 1, 2 and 3 threads each, while a fourth keeps setting
                // its own count and OpenBLAS's process-wide one (as a host could).
                let results = await withTaskGroup(of: (Int, [Float]).self) { group in
                    for t in 1...3 {
                        group.addTask { (t, (0..<3).map { _ in Self.run(c, threads: t, kernels: kernels) }.last!) }
                    }
                    group.addTask {
                        for i in 0..<50 { Threads.setBLASThreads(i % 3 + 1) }
                        return (0, alone)
                    }
                    var all: [(Int, [Float])] = []
                    for await r in group { all.append(r) }
                    return all
                }
                for (t, r) in results {
                    #expect(r.map(\.bitPattern) == alone.map(\.bitPattern), "\(c) \(kernels) threads \(t)")
                }
            }
        }
        // ov3d never lets OpenBLAS thread on its own (its count is process-wide).
        #expect(GEMM.openBLASThreadCount == 1)
    }

    @Test func threadCountIsPerThread() {
        let before = Threads.blasThreads
        Threads.setBLASThreads(3)
        final class Box: @unchecked Sendable { var value = 0 }
        let seen = Box(), done = DispatchSemaphore(value: 0)
        let t = Thread { seen.value = Threads.blasThreads; done.signal() }
        t.start()
        done.wait()
        #expect(Threads.blasThreads == 3)
        #expect(seen.value == 1)        // a thread that never set one runs its products alone
        Threads.withBLASThreads(2) { #expect(Threads.blasThreads == 2) }
        #expect(Threads.blasThreads == 3)
        Threads.setBLASThreads(before)
    }
}
