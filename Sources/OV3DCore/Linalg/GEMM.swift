import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// Single-precision matrix products (row-major): ov3d's vector kernels for the plain
/// `C = A·B (+ C)` case where the CPU runs them (see `ComputeKernels`), OpenBLAS otherwise.
///
/// Deterministic bit for bit whatever the thread count and whatever other threads do: the rows
/// of C are cut into fixed blocks of `rowBlock` rows (a function of the shape only), each block
/// is one single-threaded product, and the blocks are spread over the calling thread's count
/// (`Threads.setBLASThreads`, per thread). OpenBLAS is pinned to one thread once
/// (`pinOpenBLAS`): its own threading is process-wide, so one session's count would otherwise
/// change another's, and `openblas_set_num_threads` during another thread's call is a race.
public enum GEMM {
    /// OpenBLAS set to one thread, once per process, before ov3d's first OpenBLAS call.
    static let pinOpenBLAS: Void = { openblas_set_num_threads(1) }()

    /// OpenBLAS's own (process-wide) thread count: 1 once ov3d has run a product.
    static var openBLASThreadCount: Int { Int(openblas_get_num_threads()) }

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
        blasBlocked(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                    beta: beta, c: c, ldc: ldc)
    }

    /// Rows per block (both paths): a block of A (and of C) stays in L2 while every column panel
    /// of B passes over it. A multiple of every micro-kernel's row count.
    static let rowBlock = 256

    /// Threads for `blocks` blocks of an m×n×k product: 1 for small products, else the calling
    /// thread's count.
    static func threads(blocks: Int, m: Int, n: Int, k: Int) -> Int {
        Double(m) * Double(n) * Double(k) < 4e6 ? 1 : min(blocks, Threads.blasThreads)
    }

    /// One single-threaded OpenBLAS call per fixed block of rows.
    static func blasBlocked(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        _ = pinOpenBLAS
        let blocks = (m + rowBlock - 1) / rowBlock
        let p = UncheckedSendable((a, b, c))
        parallelFor(blocks, threads: threads(blocks: blocks, m: m, n: n, k: k)) { range in
            let (a, b, c) = p.value
            for blk in range {
                let r0 = blk * rowBlock, rows = min(rowBlock, m - r0)
                // op(A)'s rows r0...: rows of A, or columns of A when transposed.
                let ab = transA ? a + r0 : a + r0 * lda
                cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                            Int32(rows), Int32(n), Int32(k), alpha, ab, Int32(lda), b, Int32(ldb), beta,
                            c + r0 * ldc, Int32(ldc))
            }
        }
    }

    /// `C (+)= A·B` on the vector kernels: B packed once, fixed row blocks spread over the
    /// calling thread's count.
    static func rowBlocked(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard let packed = Scratch(floats: RowGEMM.packedFloats(n: n, k: k)) else {
            // No memory for the packed copy of B: OpenBLAS needs none.
            blasBlocked(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
                        beta: accumulate ? 1 : 0, c: c, ldc: ldc)
            return
        }
        RowGEMM.pack(n: n, k: k, b: b, ldb: ldb, into: packed.pointer)
        let blocks = (m + rowBlock - 1) / rowBlock
        let p = UncheckedSendable((a, UnsafePointer(packed.pointer), c))
        parallelFor(blocks, threads: threads(blocks: blocks, m: m, n: n, k: k)) { range in
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
