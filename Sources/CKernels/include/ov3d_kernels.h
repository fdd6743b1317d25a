/* ov3d compute kernels: the hot inner loops of sparse convolution, in C with explicit SIMD and
 * runtime CPU dispatch. Internal to libov3d (not part of the public ABI, include/ov3d.h).
 *
 * The one operation is a row-indexed matrix product with accumulation,
 *
 *     for p in [0, m):  C[orow(p)][0:n] (+)= A[irow(p)][0:k] · B        (B is k × n, row-major)
 *
 * where irow(p) = a_rows ? a_rows[p] : p and orow(p) = c_rows ? c_rows[p] : p. With both row lists
 * NULL it is a plain GEMM; with them it is one kernel offset of a sparse convolution (gather from
 * the input rows, scatter-add into the output rows) without materialising the gathered block.
 * The caller guarantees that the output rows of one call are distinct (a kernel map's pairs of one
 * offset are) and that every index is in bounds: these functions do not validate.
 */
#ifndef OV3D_KERNELS_H
#define OV3D_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Instruction sets the kernels can use on this CPU. */
enum ov3d_kernel_isa {
    OV3D_KERNEL_ISA_NONE = 0,   /**< no vector kernel: callers use BLAS */
    OV3D_KERNEL_ISA_AVX512 = 1, /**< AVX-512F (x86-64) */
};

/** The best instruction set this CPU and build support (cached after the first call). */
int ov3d_kernel_isa(void);

/** Floats that B (k × n) takes packed (ov3d_gemm_pack_b_avx512). */
int64_t ov3d_gemm_packed_floats(int64_t n, int64_t k);

/** Packs B (k × n, row stride ldb) into `packed` (ov3d_gemm_packed_floats(n, k) floats, 64-byte
 *  aligned): the kernel's panel layout, packed once and then shared read-only by any number of
 *  calls and threads. */
void ov3d_gemm_pack_b_avx512(int64_t n, int64_t k, const float *b, int64_t ldb, float *packed);

/** C[orow(p)] (+)= A[irow(p)] · B for p in [0, m) (see the top of this file), B packed by
 *  ov3d_gemm_pack_b_avx512. `lda`, `ldc` are row strides in floats; `accumulate` 0 overwrites C,
 *  1 adds to it. Requires ov3d_kernel_isa() >= OV3D_KERNEL_ISA_AVX512. */
void ov3d_gemm_rows_packed_avx512(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                                  const int32_t *a_rows, const float *packed, float *c, int64_t ldc,
                                  const int32_t *c_rows, int accumulate);

/** Pairs per chunk of the weight-gradient reduction (ov3d_gemm_atb_rows*): the gathered rows of
 *  one chunk stay in L1 while every register block of the result passes over them. */
#define OV3D_ATB_CHUNK 64

/** Floats of scratch that ov3d_gemm_atb_rows_avx512 needs for k × n (64-byte aligned). */
int64_t ov3d_gemm_atb_scratch_floats(int64_t k, int64_t n);

/** The weight-gradient reduction of one kernel offset of a sparse convolution:
 *
 *      W[0:k][0:n] += Σ_{p in [0, m)} A[irow(p)][0:k]ᵀ · B[orow(p)][0:n]
 *
 *  (A = the layer's input rows, k = cin; B = the gradient of its output rows, n = cout; the row
 *  lists are one offset's pairs; NULL lists = rows p). `ldw` is W's row stride. Pairs are taken in
 *  chunks of OV3D_ATB_CHUNK in order and each chunk's rows gathered into `scratch`; the sum order
 *  is fixed (p ascending per result element), so the result is deterministic. Register-blocked
 *  MR × 16·NV micro-kernels, like ov3d_gemm_rows_packed_avx512. Requires AVX-512F. */
void ov3d_gemm_atb_rows_avx512(int64_t m, int64_t k, int64_t n, const float *a, int64_t lda,
                               const int32_t *a_rows, const float *b, int64_t ldb,
                               const int32_t *b_rows, float *w, int64_t ldw, float *scratch);

#ifdef __cplusplus
}
#endif
#endif
