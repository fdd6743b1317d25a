#if canImport(Glibc)
import Glibc
#endif

/// The one allocation path for large buffers (voxel features, kernel maps, GEMM workspaces,
/// point arrays, inflated archive entries) and the optional memory limit (issue 17).
///
/// A Swift array whose allocation fails traps, killing the host process. Large buffers are
/// therefore either allocated here directly (`allocate`, used by `WorkBuffer`), or, when they
/// must be Swift arrays, created by `array(...)`/`reserve(...)`, which first allocates the same
/// number of bytes with `malloc` and frees them: a failure becomes `OV3DError.outOfMemory`
/// naming what was wanted and its size. Glibc serves blocks this large with `mmap` and returns
/// them to the system on `free`, so the array allocation that follows gets the same space;
/// only another thread allocating in between can still take it (the limits below are the
/// defence that does not depend on timing).
///
/// Limits: work whose projected peak (estimated from point and voxel counts before running,
/// e.g. `MinkUNet.projectedPeak`) exceeds the explicit limit (session `max_memory_bytes`,
/// `ov3d --max-memory`, `OV3D_MAX_MEMORY`) or the address space left under `RLIMIT_AS`
/// (`ulimit -v`) is refused up front by `checkProjected`.
public enum Memory {
    /// Allocates `bytes` (at least 1) aligned to `alignment` (a power of two ≥ pointer size),
    /// or throws outOfMemory naming `what` and the size. Free with `free()`.
    public static func allocate(bytes: Int, alignment: Int = 64, what: String) throws -> UnsafeMutableRawPointer {
        guard bytes >= 0 else { throw OV3DError.outOfMemory("\(what): negative size \(bytes)") }
        var raw: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&raw, alignment, max(bytes, 1)) == 0, let raw else {
            throw OV3DError.outOfMemory("cannot allocate \(describe(bytes)) for \(what)")
        }
        return raw
    }

    /// Frees what `allocate` returned (nil is a no-op).
    public static func deallocate(_ p: UnsafeMutableRawPointer?) { free(p) }

    /// Bytes of `count` values of `T`, or outOfMemory when the product overflows.
    public static func bytes<T>(_ type: T.Type, count: Int, what: String) throws -> Int {
        let (b, o) = count.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        guard count >= 0, !o else { throw OV3DError.outOfMemory("\(what): \(count) elements overflow the address space") }
        return b
    }

    /// Below this many bytes allocations are not probed (small arrays cannot meaningfully fail
    /// before the process is dead anyway, and probing costs a malloc).
    public static let probeThreshold = 1 << 20

    /// Checks that `count` values of `T` can be allocated now (see the type's comment) and
    /// returns their size in bytes; throws outOfMemory naming `what` otherwise.
    @discardableResult
    public static func reserve<T>(_ type: T.Type, count: Int, what: String) throws -> Int {
        let b = try bytes(type, count: count, what: what)
        if b >= probeThreshold {
            guard let p = malloc(b) else { throw OV3DError.outOfMemory("cannot allocate \(describe(b)) for \(what)") }
            free(p)
        }
        return b
    }

    /// `[T](repeating: value, count: count)` that reports failure instead of trapping.
    public static func array<T>(repeating value: T, count: Int, what: String) throws -> [T] {
        try reserve(T.self, count: count, what: what)
        return [T](repeating: value, count: count)
    }

    /// `bytes` in readable units ("512 MiB", "1.71 GiB", "900 bytes").
    public static func describe(_ bytes: Int) -> String {
        let b = Double(bytes)
        if bytes < 1 << 10 { return "\(bytes) bytes" }
        if bytes < 1 << 20 { return format(b / 1024, "KiB") }
        if bytes < 1 << 30 { return format(b / 1048576, "MiB") }
        return format(b / 1073741824, "GiB")
    }

    private static func format(_ v: Double, _ unit: String) -> String {
        let r = (v * 100).rounded() / 100
        let s = r == r.rounded() ? String(Int(r)) : String(r)
        return "\(s) \(unit)"
    }

    /// Parses a size: bytes ("1073741824") or a number with a binary suffix K, M, G, T
    /// (optionally followed by "B" or "iB": "512M", "1.5G", "2GiB"). nil when malformed,
    /// not positive or beyond 2^62.
    public static func parse(_ text: String) -> Int? {
        var s = Substring(text.uppercased())
        for suffix in ["IB", "B"] where s.hasSuffix(suffix) && s.count > suffix.count {
            s = s.dropLast(suffix.count); break
        }
        var scale = 1.0
        if let last = s.last, let i = "KMGT".firstIndex(of: last) {
            scale = Double(1 << (10 * ("KMGT".distance(from: "KMGT".startIndex, to: i) + 1)))
            s = s.dropLast()
        }
        guard !s.isEmpty, s.allSatisfy({ $0.isNumber || $0 == "." }), let v = Double(s), v.isFinite, v > 0 else { return nil }
        let b = v * scale
        guard b >= 1, b < 4.6e18 else { return nil }
        return Int(b)
    }

    /// `OV3D_MAX_MEMORY` (a size as `parse` reads it), nil when unset; an unparsable value is
    /// reported by `environmentLimit()`.
    public static func environmentLimit() throws -> Int? {
        guard let p = getenv("OV3D_MAX_MEMORY") else { return nil }
        let s = String(cString: p)
        if s.isEmpty { return nil }
        guard let v = parse(s) else {
            throw OV3DError.invalidArgument("OV3D_MAX_MEMORY=\(s) is not a size (bytes, or a number with K, M, G or T)")
        }
        return v
    }

    /// The limit a run uses: `explicit` (a session's `max_memory_bytes`, `--max-memory`), else
    /// `OV3D_MAX_MEMORY`, else nil (none; the address space under RLIMIT_AS is checked anyway).
    public static func limit(_ explicit: Int?) throws -> Int? {
        if let explicit { return explicit }
        return try environmentLimit()
    }

    /// The address space this process may still map under `RLIMIT_AS` (`ulimit -v`): the soft
    /// limit minus the current virtual size (/proc/self/statm). nil when unlimited or unknown.
    public static func addressSpaceLeft() -> Int? {
        var rl = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &rl) == 0, rl.rlim_cur != rlim_t.max else { return nil }
        guard let vm = virtualSize() else { return nil }
        let cap = rl.rlim_cur > UInt64(Int.max) ? Int.max : Int(rl.rlim_cur)
        return max(0, cap - vm)
    }

    /// The process's current virtual size in bytes (first field of /proc/self/statm × page size).
    static func virtualSize() -> Int? {
        guard let f = fopen("/proc/self/statm", "r") else { return nil }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 128)
        guard fgets(&buf, Int32(buf.count), f) != nil else { return nil }
        let line = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        guard let first = line.split(separator: " ").first, let pages = Int(first) else { return nil }
        return pages * sysconf(Int32(_SC_PAGESIZE))
    }

    /// Refuses work whose projected peak `bytes` exceeds `limit` (explicit; nil = none) or the
    /// address space left under RLIMIT_AS. `what` describes the work and its sizes.
    public static func checkProjected(_ bytes: Int, limit: Int?, what: String) throws {
        if let limit, bytes > limit {
            throw OV3DError.outOfMemory("out of memory: \(what) would need about \(describe(bytes)), more than the memory limit of \(describe(limit)) (max_memory_bytes / --max-memory / OV3D_MAX_MEMORY)")
        }
        if let left = addressSpaceLeft(), bytes > left {
            throw OV3DError.outOfMemory("out of memory: \(what) would need about \(describe(bytes)), more than the \(describe(left)) of address space this process has left under its limit (ulimit -v)")
        }
    }
}
