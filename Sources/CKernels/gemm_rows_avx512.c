/* Row-indexed GEMM with accumulation on AVX-512 (see include/ov3d_kernels.h).
 *
 * Blocking, as in GotoBLAS/BLIS but with the A side indexed by row lists:
 *   - B is packed once (ov3d_gemm_pack_b_avx512) into panels, one per (column block of
 *     NR = 16·NV floats, depth block of KC rows): contiguous KC × NR, zero-padded past n, that
 *     stay in L1 (≤ 32 KiB);
 *   - a register-blocked micro-kernel computes MR rows × NR columns of C: MR·NV accumulators
 *     (up to 24 of the 32 zmm registers), one broadcast of A(r, kk) per row and NV loads of the
 *     panel per depth step, then adds the block into (or writes it to) the MR scattered C rows,
 *     with a lane mask on the last partial vector;
 *   - A is read in place through the row list (no gathered copy): for a sparse convolution the
 *     input rows of nearby outputs are nearby in memory (spatial order), so they are cache hits.
 */
#include "ov3d_kernels.h"

#define PANEL_FLOATS 8192 /* KC · NR ≤ 8192 floats = 32 KiB: one packed panel stays in L1 */

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))
#define INLINE __attribute__((always_inline)) inline
#define MRMAX 12
#define NVMAX 4

int ov3d_kernel_isa(void) {
    static int isa = -1;
    int v = __atomic_load_n(&isa, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx512f") ? OV3D_KERNEL_ISA_AVX512 : OV3D_KERNEL_ISA_NONE;
        __atomic_store_n(&isa, v, __ATOMIC_RELAXED);
    }
    return v;
}

/* MR × (16·NV) block: C rows cp[0..MR) (+)= Σ_kk A(r, kk) · panel[kk][0..16·NV). */
static INLINE AVX512 void micro(const int MR, const int NV, int64_t kc, const float *const *ap,
                                 const float *panel, float *const *cp, __mmask16 last, int accumulate) {
    __m512 acc[MRMAX][NVMAX];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
    const float *a[MRMAX];
    for (int r = 0; r < MR; r++) a[r] = ap[r];
    for (int64_t kk = 0; kk < kc; kk++) {
        __m512 b[NVMAX];
        for (int v = 0; v < NV; v++) b[v] = _mm512_load_ps(panel + kk * 16 * NV + 16 * v);
        for (int r = 0; r < MR; r++) {
            const __m512 x = _mm512_set1_ps(a[r][kk]);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(x, b[v], acc[r][v]);
        }
    }
    for (int r = 0; r < MR; r++) {
        float *c = cp[r];
        for (int v = 0; v < NV; v++) {
            const __mmask16 mk = (v == NV - 1) ? last : (__mmask16)0xFFFF;
            __m512 y = acc[r][v];
            if (accumulate) y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(mk, c + 16 * v));
            _mm512_mask_storeu_ps(c + 16 * v, mk, y);
        }
    }
}

typedef void (*micro_fn)(int64_t, const float *const *, const float *, float *const *, __mmask16, int);

#define MICRO(MR, NV)                                                                              \
    static __attribute__((noinline)) AVX512 void micro_##MR##x##NV(                                \
        int64_t kc, const float *const *ap, const float *panel, float *const *cp, __mmask16 last,  \
        int accumulate) {                                                                          \
        micro(MR, NV, kc, ap, panel, cp, last, accumulate);                                        \
    }
#define MICRO_ROWS_8(NV) MICRO(1, NV) MICRO(2, NV) MICRO(3, NV) MICRO(4, NV) MICRO(5, NV) MICRO(6, NV) MICRO(7, NV) MICRO(8, NV)
MICRO_ROWS_8(1)
MICRO_ROWS_8(2) MICRO(9, 2) MICRO(10, 2) MICRO(11, 2) MICRO(12, 2)
MICRO_ROWS_8(3)
MICRO(1, 4) MICRO(2, 4) MICRO(3, 4) MICRO(4, 4) MICRO(5, 4) MICRO(6, 4)

/* Rows per micro-kernel call for NV vectors per row (≤ 24 accumulators). */
static const int rows_for_nv[NVMAX + 1] = {0, 8, 12, 8, 6};
static const micro_fn kernels[NVMAX + 1][MRMAX + 1] = {
    {0},
    {0, micro_1x1, micro_2x1, micro_3x1, micro_4x1, micro_5x1, micro_6x1, micro_7x1, micro_8x1},
    {0, micro_1x2, micro_2x2, micro_3x2, micro_4x2, micro_5x2, micro_6x2, micro_7x2, micro_8x2,
     micro_9x2, micro_10x2, micro_11x2, micro_12x2},
    {0, micro_1x3, micro_2x3, micro_3x3, micro_4x3, micro_5x3, micro_6x3, micro_7x3, micro_8x3},
    {0, micro_1x4, micro_2x4, micro_3x4, micro_4x4, micro_5x4, micro_6x4},
};

/* panel[kk][0..nr) = B[kk][0..width), zero past width. */
static AVX512 void pack_panel(const float *b, int64_t ldb, int64_t kc, int64_t width, int nv, float *panel) {
    const int nr = 16 * nv;
    for (int64_t kk = 0; kk < kc; kk++) {
        const float *src = b + kk * ldb;
        float *dst = panel + kk * nr;
        for (int v = 0; v < nv; v++) {
            const int64_t lo = 16 * v;
            const int64_t left = width - lo;
            const __mmask16 mk = left >= 16 ? (__mmask16)0xFFFF : (left <= 0 ? 0 : (__mmask16)((1u << left) - 1));
            _mm512_store_ps(dst + lo, _mm512_maskz_loadu_ps(mk, src + lo));
        }
    }
}

/* Column blocking: blocks of equal vector counts (n = 96 → 2 × 48 rather than 64 + 32: the wider
 * micro-kernels need fewer loads per FMA); only the last block may be narrower. */
struct blocking { int64_t blocks, block_vecs; };
static struct blocking blocking_for(int64_t n) {
    const int64_t vecs = (n + 15) / 16;
    const int64_t blocks = (vecs + NVMAX - 1) / NVMAX;
    return (struct blocking){blocks, (vecs + blocks - 1) / blocks};
}

AVX512 void ov3d_gemm_rows_packed_avx512(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                                         const int32_t *a_rows, const float *packed, float *c, int64_t ldc,
                                         const int32_t *c_rows, int accumulate) {
    if (m <= 0 || n <= 0) return;
    const struct blocking g = blocking_for(n);
    for (int64_t j = 0, j0 = 0; j0 < n; j++, j0 += 16 * g.block_vecs) {
        const int64_t width = (n - j0) < 16 * g.block_vecs ? (n - j0) : 16 * g.block_vecs;
        const int nv = (int)((width + 15) / 16);
        const int rem = (int)(width - 16 * (nv - 1));
        const __mmask16 last = rem == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << rem) - 1);
        const int mr = rows_for_nv[nv];
        const int64_t kcmax = PANEL_FLOATS / (16 * nv);
        if (k <= 0) {
            /* C = 0 (or unchanged when accumulating): an empty sum. */
            if (!accumulate) {
                for (int64_t p = 0; p < m; p++) {
                    float *cr = c + (c_rows ? (int64_t)c_rows[p] : p) * ldc + j0;
                    for (int64_t q = 0; q < width; q++) cr[q] = 0;
                }
            }
            continue;
        }
        for (int64_t k0 = 0; k0 < k; k0 += kcmax) {
            const int64_t kc = (k - k0) < kcmax ? (k - k0) : kcmax;
            const float *panel = packed + j * k * 16 * g.block_vecs + k0 * 16 * nv;
            const int acc = k0 > 0 ? 1 : accumulate;
            for (int64_t p0 = 0; p0 < m; p0 += mr) {
                const int rows = (m - p0) < mr ? (int)(m - p0) : mr;
                const float *ap[MRMAX];
                float *cp[MRMAX];
                for (int r = 0; r < rows; r++) {
                    const int64_t p = p0 + r;
                    ap[r] = a + (a_rows ? (int64_t)a_rows[p] : p) * lda + k0;
                    cp[r] = c + (c_rows ? (int64_t)c_rows[p] : p) * ldc + j0;
                }
                kernels[nv][rows](kc, ap, panel, cp, last, acc);
            }
        }
    }
}

int64_t ov3d_gemm_packed_floats(int64_t n, int64_t k) {
    if (n <= 0 || k <= 0) return 0;
    const struct blocking g = blocking_for(n);
    return k * 16 * g.block_vecs * g.blocks;
}

AVX512 void ov3d_gemm_pack_b_avx512(int64_t n, int64_t k, const float *b, int64_t ldb, float *packed) {
    if (n <= 0 || k <= 0) return;
    const struct blocking g = blocking_for(n);
    for (int64_t j = 0, j0 = 0; j0 < n; j++, j0 += 16 * g.block_vecs) {
        const int64_t width = (n - j0) < 16 * g.block_vecs ? (n - j0) : 16 * g.block_vecs;
        const int nv = (int)((width + 15) / 16);
        const int64_t kcmax = PANEL_FLOATS / (16 * nv);
        for (int64_t k0 = 0; k0 < k; k0 += kcmax) {
            const int64_t kc = (k - k0) < kcmax ? (k - k0) : kcmax;
            pack_panel(b + k0 * ldb + j0, ldb, kc, width, nv, packed + j * k * 16 * g.block_vecs + k0 * 16 * nv);
        }
    }
}


#else /* not x86-64: no vector kernel; callers use BLAS. Portable reference loops, never the hot path. */

int ov3d_kernel_isa(void) { return OV3D_KERNEL_ISA_NONE; }

int64_t ov3d_gemm_packed_floats(int64_t n, int64_t k) { return n > 0 && k > 0 ? n * k : 0; }

void ov3d_gemm_pack_b_avx512(int64_t n, int64_t k, const float *b, int64_t ldb, float *packed) {
    for (int64_t kk = 0; kk < k; kk++)
        for (int64_t j = 0; j < n; j++) packed[kk * n + j] = b[kk * ldb + j];
}

void ov3d_gemm_rows_packed_avx512(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                                  const int32_t *a_rows, const float *packed, float *c, int64_t ldc,
                                  const int32_t *c_rows, int accumulate) {
    for (int64_t p = 0; p < m; p++) {
        const float *ar = a + (a_rows ? (int64_t)a_rows[p] : p) * lda;
        float *cr = c + (c_rows ? (int64_t)c_rows[p] : p) * ldc;
        for (int64_t j = 0; j < n; j++) {
            float s = accumulate ? cr[j] : 0.0f;
            for (int64_t kk = 0; kk < k; kk++) s += ar[kk] * packed[kk * n + j];
            cr[j] = s;
        }
    }
}
#endif
