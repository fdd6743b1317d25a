/* Weight-gradient reduction of a sparse convolution on AVX-512 (see include/ov3d_kernels.h):
 *
 *     W[0:k][0:n] += Σ_p A[irow(p)][0:k]ᵀ · B[orow(p)][0:n]
 *
 * Pairs are cut into chunks of OV3D_ATB_CHUNK; a chunk's A rows and B rows are gathered into
 * contiguous blocks (B padded with zeros to whole vectors), then register-blocked micro-kernels
 * compute MR rows × 16·NV columns of W: the block of W is loaded into MR·NV accumulators, every
 * pair of the chunk adds A(p, r) · B(p, 0:16·NV) (one broadcast per row, NV loads per pair), and
 * the block is stored back. The gathered chunk (≤ 64 · (k + n) floats) stays in L1/L2 while every
 * block of W passes over it. Each element of W is one sequential sum over p ascending: the result
 * does not depend on how a caller splits the columns or offsets over threads.
 */
#include "ov3d_kernels.h"
/* no <string.h>: the aarch64 syntax check builds these sources freestanding */

static int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }

int64_t ov3d_gemm_atb_scratch_floats(int64_t k, int64_t n) {
    if (k <= 0 || n <= 0) return 0;
    return OV3D_ATB_CHUNK * (k + round16(n)) + 16;
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))
#define INLINE __attribute__((always_inline)) inline
#define MRMAX 12
#define NVMAX 4

/* W block (MR rows of stride ldw, 16·NV columns, last vector masked) += Σ_p ag[p][0:MR]ᵀ · bg[p][0:16·NV]. */
static INLINE AVX512 void atb_micro(const int MR, const int NV, int64_t pc, const float *ag, int64_t ldag,
                                    const float *bg, int64_t ldbg, float *w, int64_t ldw, __mmask16 last) {
    __m512 acc[MRMAX][NVMAX];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++)
            acc[r][v] = _mm512_maskz_loadu_ps(v == NV - 1 ? last : (__mmask16)0xFFFF, w + r * ldw + 16 * v);
    for (int64_t p = 0; p < pc; p++) {
        __m512 b[NVMAX];
        for (int v = 0; v < NV; v++) b[v] = _mm512_load_ps(bg + p * ldbg + 16 * v);
        const float *ar = ag + p * ldag;
        for (int r = 0; r < MR; r++) {
            const __m512 x = _mm512_set1_ps(ar[r]);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(x, b[v], acc[r][v]);
        }
    }
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++)
            _mm512_mask_storeu_ps(w + r * ldw + 16 * v, v == NV - 1 ? last : (__mmask16)0xFFFF, acc[r][v]);
}

typedef void (*atb_fn)(int64_t, const float *, int64_t, const float *, int64_t, float *, int64_t, __mmask16);

#define ATB(MR, NV)                                                                                \
    static __attribute__((noinline)) AVX512 void atb_##MR##x##NV(                                  \
        int64_t pc, const float *ag, int64_t ldag, const float *bg, int64_t ldbg, float *w,        \
        int64_t ldw, __mmask16 last) {                                                             \
        atb_micro(MR, NV, pc, ag, ldag, bg, ldbg, w, ldw, last);                                   \
    }
#define ATB_ROWS_8(NV) ATB(1, NV) ATB(2, NV) ATB(3, NV) ATB(4, NV) ATB(5, NV) ATB(6, NV) ATB(7, NV) ATB(8, NV)
ATB_ROWS_8(1)
ATB_ROWS_8(2) ATB(9, 2) ATB(10, 2) ATB(11, 2) ATB(12, 2)
ATB_ROWS_8(3)
ATB(1, 4) ATB(2, 4) ATB(3, 4) ATB(4, 4) ATB(5, 4) ATB(6, 4)

static const int atb_rows_for_nv[NVMAX + 1] = {0, 8, 12, 8, 6};
static const atb_fn atb_kernels[NVMAX + 1][MRMAX + 1] = {
    {0},
    {0, atb_1x1, atb_2x1, atb_3x1, atb_4x1, atb_5x1, atb_6x1, atb_7x1, atb_8x1},
    {0, atb_1x2, atb_2x2, atb_3x2, atb_4x2, atb_5x2, atb_6x2, atb_7x2, atb_8x2,
     atb_9x2, atb_10x2, atb_11x2, atb_12x2},
    {0, atb_1x3, atb_2x3, atb_3x3, atb_4x3, atb_5x3, atb_6x3, atb_7x3, atb_8x3},
    {0, atb_1x4, atb_2x4, atb_3x4, atb_4x4, atb_5x4, atb_6x4},
};

/* dst[0:padded) = src[0:count), zero past count. */
static INLINE AVX512 void copy_padded(float *dst, const float *src, int64_t count, int64_t padded) {
    int64_t c = 0;
    for (; c + 16 <= count; c += 16) _mm512_storeu_ps(dst + c, _mm512_loadu_ps(src + c));
    for (; c < padded; c += 16) {
        const int64_t left = count - c;
        const __mmask16 mk = left >= 16 ? (__mmask16)0xFFFF : (left <= 0 ? 0 : (__mmask16)((1u << left) - 1));
        _mm512_storeu_ps(dst + c, _mm512_maskz_loadu_ps(mk, src + c));
    }
}

AVX512 void ov3d_gemm_atb_rows_avx512(int64_t m, int64_t k, int64_t n, const float *a, int64_t lda,
                                      const int32_t *a_rows, const float *b, int64_t ldb,
                                      const int32_t *b_rows, float *w, int64_t ldw, float *scratch) {
    if (m <= 0 || k <= 0 || n <= 0) return;
    const int64_t nb = round16(n);
    /* 64-byte aligned blocks inside the scratch. */
    float *bg = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    float *ag = bg + OV3D_ATB_CHUNK * nb;
    /* Column blocks of equal vector counts (as the forward kernel's blocking). */
    const int64_t vecs = nb / 16;
    const int64_t blocks = (vecs + NVMAX - 1) / NVMAX;
    const int64_t block_vecs = (vecs + blocks - 1) / blocks;
    for (int64_t p0 = 0; p0 < m; p0 += OV3D_ATB_CHUNK) {
        const int64_t pc = (m - p0) < OV3D_ATB_CHUNK ? (m - p0) : OV3D_ATB_CHUNK;
        for (int64_t p = 0; p < pc; p++) {
            const int64_t ia = a_rows ? (int64_t)a_rows[p0 + p] : p0 + p;
            const int64_t ib = b_rows ? (int64_t)b_rows[p0 + p] : p0 + p;
            __builtin_memcpy(ag + p * k, a + ia * lda, (size_t)k * sizeof(float));
            copy_padded(bg + p * nb, b + ib * ldb, n, nb);
        }
        for (int64_t j0 = 0; j0 < n; j0 += 16 * block_vecs) {
            const int64_t width = (n - j0) < 16 * block_vecs ? (n - j0) : 16 * block_vecs;
            const int nv = (int)((width + 15) / 16);
            const int rem = (int)(width - 16 * (nv - 1));
            const __mmask16 last = rem == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << rem) - 1);
            const int mr = atb_rows_for_nv[nv];
            for (int64_t r0 = 0; r0 < k; r0 += mr) {
                const int rows = (k - r0) < mr ? (int)(k - r0) : mr;
                atb_kernels[nv][rows](pc, ag + r0, k, bg + j0, nb, w + r0 * ldw + j0, ldw, last);
            }
        }
    }
}

#else /* not x86-64: portable reference loops (callers use BLAS there). */

void ov3d_gemm_atb_rows_avx512(int64_t m, int64_t k, int64_t n, const float *a, int64_t lda,
                               const int32_t *a_rows, const float *b, int64_t ldb,
                               const int32_t *b_rows, float *w, int64_t ldw, float *scratch) {
    (void)scratch;
    for (int64_t p = 0; p < m; p++) {
        const float *ar = a + (a_rows ? (int64_t)a_rows[p] : p) * lda;
        const float *br = b + (b_rows ? (int64_t)b_rows[p] : p) * ldb;
        for (int64_t r = 0; r < k; r++)
            for (int64_t j = 0; j < n; j++) w[r * ldw + j] += ar[r] * br[j];
    }
}
#endif
