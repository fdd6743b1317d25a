import CKernels

/// Row-indexed matrix product with accumulation on ov3d's vector kernels:
/// `C[cRow(p)] (+)= A[aRow(p)] · B` for `p` in `0..<m`, where `aRow(p)` is `aRows[p]` (or `p`
/// without a list), likewise `cRow`; `B` is `k × n` row-major.
///
/// With both lists absent it is a plain GEMM; with them it is one kernel offset of a sparse
/// convolution, gathered and scattered in place. Only for callers that have checked
/// `ComputeKernels.vectorKernelsAvailable` and every index: nothing is validated here.
enum RowGEMM {
    /// Floats of per-thread scratch one call needs (packed weight panels; 64-byte aligned).
    static let scratchFloats = Int(ov3d_gemm_rows_scratch_floats())

    @inline(__always)
    static func run(m: Int, n: Int, k: Int,
                    a: UnsafePointer<Float>, lda: Int, aRows: UnsafePointer<Int32>?,
                    b: UnsafePointer<Float>, ldb: Int,
                    c: UnsafeMutablePointer<Float>, ldc: Int, cRows: UnsafePointer<Int32>?,
                    accumulate: Bool, scratch: UnsafeMutablePointer<Float>) {
        ov3d_gemm_rows_avx512(Int64(m), Int64(n), Int64(k), a, Int64(lda), aRows, b, Int64(ldb),
                              c, Int64(ldc), cRows, accumulate ? 1 : 0, scratch)
    }
}
