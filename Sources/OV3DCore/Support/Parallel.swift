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

    /// Sets OpenBLAS's thread count (process-wide). The library calls this before GEMM-heavy work
    /// so that the thread count in the params also governs OpenBLAS.
    public static func setBLASThreads(_ n: Int) {
        openblas_set_num_threads(Int32(resolve(n)))
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
