import CKernels

/// Row-indexed matrix product with accumulation on ov3d's vector kernels:
/// `C[cRow(p)] (+)= A[aRow(p)] · B` for `p` in `0..<m`, where `aRow(p)` is `aRows[p]` (or `p`
/// without a list), likewise `cRow`; `B` is `k × n` row-major, packed once by `pack`.
///
/// With both lists absent it is a plain GEMM; with them it is one kernel offset of a sparse
/// convolution, gathered and scattered in place. Only for callers that have checked
/// `ComputeKernels.vectorKernelsAvailable` and every index: nothing is validated here.
enum RowGEMM {
    /// Floats that a `k × n` B takes packed.
    static func packedFloats(n: Int, k: Int) -> Int { Int(ov3d_gemm_packed_floats(Int64(n), Int64(k))) }

    /// Packs B (`k × n`, row stride `ldb`) into `packed` (`packedFloats` floats, 64-byte aligned),
    /// which any number of `run` calls and threads then read.
    static func pack(n: Int, k: Int, b: UnsafePointer<Float>, ldb: Int, into packed: UnsafeMutablePointer<Float>) {
        ov3d_gemm_pack_b_avx512(Int64(n), Int64(k), b, Int64(ldb), packed)
    }

    @inline(__always)
    static func run(m: Int, n: Int, k: Int,
                    a: UnsafePointer<Float>, lda: Int, aRows: UnsafePointer<Int32>?,
                    packed: UnsafePointer<Float>,
                    c: UnsafeMutablePointer<Float>, ldc: Int, cRows: UnsafePointer<Int32>?, accumulate: Bool) {
        ov3d_gemm_rows_packed_avx512(Int64(m), Int64(n), Int64(k), a, Int64(lda), aRows, packed,
                                     c, Int64(ldc), cRows, accumulate ? 1 : 0)
    }
}
