import CKernels
import COpenBLAS

/// The weight-gradient reduction of one kernel offset of a sparse convolution:
/// `W[0..<k][0..<n] += Σ_p A[aRow(p)]ᵀ · B[bRow(p)]` (A = the layer's input rows, `k` = cin;
/// B = the gradient of its output rows, `n` = cout; row lists = one offset's pairs, nil = row p).
///
/// ov3d's AVX-512 kernel (`ov3d_gemm_atb_rows_avx512`: pairs in chunks of 64, gathered, register-
/// blocked) where the CPU runs it; otherwise (or `kernels: .blas`) OpenBLAS on gathered chunks of
/// `blasChunk` pairs (`cblas_sgemm` with Aᵀ, β = 1). Both sum in a fixed order, so a result does
/// not depend on the thread count; callers split work by offsets and column blocks (disjoint
/// parts of W), never by pairs. Nothing is validated here: callers check shapes and indices.
enum WeightGradientGEMM {
    /// Pairs per gathered chunk on the OpenBLAS path.
    static let blasChunk = 512

    static func accumulate(m: Int, k: Int, n: Int, a: UnsafePointer<Float>, lda: Int, aRows: UnsafePointer<Int32>?,
                           b: UnsafePointer<Float>, ldb: Int, bRows: UnsafePointer<Int32>?,
                           w: UnsafeMutablePointer<Float>, ldw: Int, kernels: ComputeKernels) {
        guard m > 0, k > 0, n > 0 else { return }
        // (No memory for the few-KiB scratch: the OpenBLAS path below, which falls back further.)
        if kernels.usesVectorKernels, let scratch = Scratch(floats: Int(ov3d_gemm_atb_scratch_floats(Int64(k), Int64(n)))) {
            ov3d_gemm_atb_rows_avx512(Int64(m), Int64(k), Int64(n), a, Int64(lda), aRows, b, Int64(ldb), bRows,
                                      w, Int64(ldw), scratch.pointer)
            return
        }
        _ = GEMM.pinOpenBLAS
        let chunk = blasChunk
        guard let ga = Scratch(floats: chunk * k), let gb = Scratch(floats: chunk * n) else {
            // No memory for the gathered blocks: the plain loop.
            for p in 0..<m {
                let ar = a + (aRows.map { Int($0[p]) } ?? p) * lda, br = b + (bRows.map { Int($0[p]) } ?? p) * ldb
                for r in 0..<k { for j in 0..<n { w[r * ldw + j] += ar[r] * br[j] } }
            }
            return
        }
        var p0 = 0
        while p0 < m {
            let pc = min(chunk, m - p0)
            for p in 0..<pc {
                let ia = aRows.map { Int($0[p0 + p]) } ?? (p0 + p), ib = bRows.map { Int($0[p0 + p]) } ?? (p0 + p)
                (ga.pointer + p * k).update(from: a + ia * lda, count: k)
                (gb.pointer + p * n).update(from: b + ib * ldb, count: n)
            }
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(n), Int32(pc), 1,
                        ga.pointer, Int32(k), gb.pointer, Int32(n), 1, w, Int32(ldw))
            p0 += pc
        }
    }
}
