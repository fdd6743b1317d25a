#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import COpenBLAS

/// Thread count policy of the library. `0` means "all cores".
public enum Threads {
    /// Number of online cores.
    public static var hardwareConcurrency: Int {
        let n = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return max(1, n)
    }

    /// Resolves a requested thread count (0 or negative = all cores), clamped to 1...256.
    public static func resolve(_ requested: Int) -> Int {
        let n = requested <= 0 ? hardwareConcurrency : requested
        return min(max(n, 1), 256)
    }

    /// Sets the number of threads the matrix products (`GEMM`) started from the calling thread
    /// may use. Per thread, not process-wide: two sessions on two threads each keep their own
    /// count, and a product's bits never depend on it (fixed row blocks, see `GEMM`). OpenBLAS
    /// itself always runs single-threaded inside ov3d (`GEMM.pinOpenBLAS`): its thread count is
    /// process-wide and changing it while another thread is inside a call is a race.
    public static func setBLASThreads(_ n: Int) {
        GEMMThreads.set(resolve(n))
    }

    /// The calling thread's GEMM thread count: the last `setBLASThreads` on this thread, else 1
    /// (threads of `parallelFor` and host threads that never set one run their products alone).
    public static var blasThreads: Int { GEMMThreads.get() }

    /// Runs `body` with the calling thread's GEMM count set to `n` (resolved), then restores it.
    public static func withBLASThreads<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
        let saved = GEMMThreads.get()
        GEMMThreads.set(resolve(n))
        defer { GEMMThreads.set(saved) }
        return try body()
    }
}

/// The per-thread GEMM thread count behind `Threads.setBLASThreads` (a pthread key holding the
/// count; 0 = never set).
enum GEMMThreads {
    static let key: pthread_key_t = {
        var k = pthread_key_t()
        let rc = pthread_key_create(&k, nil)
        precondition(rc == 0, "pthread_key_create failed")   // only at process start-up, on exhaustion of keys
        return k
    }()

    static func set(_ n: Int) {
        _ = pthread_setspecific(key, UnsafeRawPointer(bitPattern: UInt(max(0, n))))
    }

    static func get() -> Int {
        guard let p = pthread_getspecific(key) else { return 1 }
        return max(1, Int(UInt(bitPattern: p)))
    }
}

/// Runs `body` over `0..<count` split into contiguous chunks on up to `threads` threads.
/// `body` receives a half-open range. Runs inline when one thread or one chunk suffices.
public func parallelFor(_ count: Int, threads: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let t = min(Threads.resolve(threads), max(1, count / max(1, minChunk)))
    if t <= 1 { body(0..<count); return }
    let chunks = t
    withoutActuallyEscaping(body) { body in
        let box = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = count * c / chunks
            let hi = count * (c + 1) / chunks
            if lo < hi { box.value(lo..<hi) }
        }
    }
}

/// Wraps a value that the caller guarantees is used safely across threads (disjoint writes).
public struct UncheckedSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
