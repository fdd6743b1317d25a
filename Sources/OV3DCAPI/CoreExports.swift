import COpenBLAS
import CSupport
import OV3DCore

// ov3d.h section "Core": version, errors, logging, threads.

@_cdecl("ov3d_version")
public func ov3d_version() -> UnsafePointer<CChar> { OV3DVersion.text.cPointer }

@_cdecl("ov3d_version_numbers")
public func ov3d_version_numbers(_ major: UnsafeMutablePointer<Int32>?, _ minor: UnsafeMutablePointer<Int32>?,
                                 _ patch: UnsafeMutablePointer<Int32>?) {
    major?.pointee = Int32(OV3DVersion.major)
    minor?.pointee = Int32(OV3DVersion.minor)
    patch?.pointee = Int32(OV3DVersion.patch)
}

@_cdecl("ov3d_abi_version")
public func ov3d_abi_version() -> UInt32 { UInt32(OV3DVersion.abi) }

@_cdecl("ov3d_check_abi")
public func ov3d_check_abi(_ headerABI: UInt32) -> Int32 {
    capi {
        guard headerABI == UInt32(OV3DVersion.abi) else {
            throw OV3DError.unsupported("ov3d.h declares ABI \(headerABI) but libov3d \(OV3DVersion.string) implements ABI \(OV3DVersion.abi): rebuild against the matching header")
        }
    }
}

@_cdecl("ov3d_last_error")
public func ov3d_last_error() -> UnsafePointer<CChar> { ov3d_support_last_error() }

@_cdecl("ov3d_last_status")
public func ov3d_last_status() -> Int32 { ov3d_support_last_status() }

@_cdecl("ov3d_status_string")
public func ov3d_status_string(_ status: Int32) -> UnsafePointer<CChar> {
    switch Status(rawValue: status) {
    case .ok: return ("ok" as StaticString).cPointer
    case .invalidArgument: return ("invalid argument" as StaticString).cPointer
    case .io: return ("I/O error" as StaticString).cPointer
    case .format: return ("format error" as StaticString).cPointer
    case .unsupported: return ("unsupported" as StaticString).cPointer
    case .outOfMemory: return ("out of memory" as StaticString).cPointer
    case .cancelled: return ("cancelled" as StaticString).cPointer
    case .internal: return ("internal error" as StaticString).cPointer
    case nil: return ("unknown status" as StaticString).cPointer
    }
}

public typealias ov3d_log_callback = @convention(c) (Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void

@_cdecl("ov3d_set_log_callback")
public func ov3d_set_log_callback(_ cb: ov3d_log_callback?, _ user: UnsafeMutableRawPointer?, _ minLevel: Int32) -> Int32 {
    capi {
        try require((0...4).contains(minLevel), "min_level must be an ov3d_log_level (0...4), got \(minLevel)")
        ov3d_support_set_log(cb, user, minLevel)
    }
}

/// Process-wide default thread count (0 = all cores) used when a params struct says 0.
nonisolated(unsafe) var defaultThreadCount: Int32 = 0

@_cdecl("ov3d_set_num_threads")
public func ov3d_set_num_threads(_ n: Int32) -> Int32 {
    capi {
        try require(n >= 0 && n <= 256, "thread count must be 0 (all cores) to 256, got \(n)")
        defaultThreadCount = n
        Threads.setBLASThreads(Int(n))
    }
}

@_cdecl("ov3d_get_num_threads")
public func ov3d_get_num_threads() -> Int32 { Int32(Threads.resolve(Int(defaultThreadCount))) }

/// Resolves a thread count from a params struct (0 = the process default) and applies it to OpenBLAS.
func applyThreads(_ requested: Int32) -> Int {
    let n = Threads.resolve(Int(requested != 0 ? requested : defaultThreadCount))
    Threads.setBLASThreads(n)
    return n
}

extension StaticString {
    var cPointer: UnsafePointer<CChar> { UnsafeRawPointer(utf8Start).assumingMemoryBound(to: CChar.self) }
}
