import COpenBLAS

/// Single-precision matrix products on OpenBLAS (row-major).
public enum GEMM {
    /// C[m×n] = alpha · op(A) · op(B) + beta · C, row-major, with leading dimensions.
    @inlinable
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
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
