import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// Single-precision matrix products (row-major): ov3d's vector kernels for the plain
/// `C = A·B (+ C)` case where the CPU runs them (see `ComputeKernels`), OpenBLAS otherwise.
/// Both use the thread count last given to `Threads.setBLASThreads`.
public enum GEMM {
    /// C[m×n] = alpha · op(A) · op(B) + beta · C, row-major, with leading dimensions.
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                             kernels: ComputeKernels = .automatic) {
        guard m > 0, n > 0 else { return }
        if !transA, !transB, alpha == 1, beta == 0 || beta == 1, kernels.usesVectorKernels {
            rowBlocked(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, accumulate: beta == 1, c: c, ldc: ldc)
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Rows per block of the vector-kernel path: a block of A (and of C) stays in L2 while every
    /// column panel of B passes over it.
    static let rowBlock = 256

    /// `C (+)= A·B` on the vector kernels: B packed once, row blocks spread over the BLAS thread count.
    static func rowBlocked(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard let packed = Scratch(floats: RowGEMM.packedFloats(n: n, k: k)) else {
            // No memory for the packed copy of B: OpenBLAS needs none.
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                        a, Int32(lda), b, Int32(ldb), accumulate ? 1 : 0, c, Int32(ldc))
            return
        }
        RowGEMM.pack(n: n, k: k, b: b, ldb: ldb, into: packed.pointer)
        let blocks = (m + rowBlock - 1) / rowBlock
        let threads = Double(m) * Double(n) * Double(k) < 4e6 ? 1 : Int(openblas_get_num_threads())
        let p = UncheckedSendable((a, UnsafePointer(packed.pointer), c))
        parallelFor(blocks, threads: threads) { range in
            let (a, pb, c) = p.value
            for blk in range {
                let r0 = blk * rowBlock, rows = min(rowBlock, m - r0)
                RowGEMM.run(m: rows, n: n, k: k, a: a + r0 * lda, lda: lda, aRows: nil, packed: pb,
                            c: c + r0 * ldc, ldc: ldc, cRows: nil, accumulate: accumulate)
            }
        }
    }

    /// Convenience over arrays: returns A[m×k] · B[k×n] (or Bᵀ when `transB`, B then n×k).
    public static func multiply(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int, transB: Bool = false) -> [Float] {
        precondition(a.count == m * k && b.count == k * n, "GEMM.multiply: shape mismatch")
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    sgemm(transB: transB, m: m, n: n, k: k, a: ap.baseAddress!, lda: k,
                          b: bp.baseAddress!, ldb: transB ? k : n, c: cp.baseAddress!, ldc: n)
                }
            }
        }
        return c
    }
}

/// A 64-byte aligned, thread-private float buffer freed at the end of its scope.
struct Scratch: ~Copyable {
    let pointer: UnsafeMutablePointer<Float>

    init?(floats: Int) {
        var raw: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&raw, 64, max(1, floats) * 4) == 0, let raw else { return nil }
        pointer = raw.bindMemory(to: Float.self, capacity: max(1, floats))
    }

    deinit { free(pointer) }
}
