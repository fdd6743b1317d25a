import CSupport
import OV3DCore

// Shared machinery of the C exports: status/last-error handling, handles, params structs.
// Every export validates its arguments and returns an ov3d_status; nothing may trap.

/// Runs `body`, maps any thrown error to a status, records the message in the thread-local
/// last error, and returns the status (0 on success, which also clears the last error).
@inline(__always)
func capi(_ body: () throws -> Void) -> Int32 {
    do {
        try body()
        ov3d_support_clear_error()
        return Status.ok.rawValue
    } catch let e as OV3DError {
        ov3d_support_set_error(e.status.rawValue, e.message)
        return e.status.rawValue
    } catch {
        ov3d_support_set_error(Status.internal.rawValue, "\(error)")
        return Status.internal.rawValue
    }
}

/// Records an error without a status return (for functions returning handles or values).
func recordError(_ e: Error) {
    if let e = e as? OV3DError { ov3d_support_set_error(e.status.rawValue, e.message) }
    else { ov3d_support_set_error(Status.internal.rawValue, "\(e)") }
}

/// A reference-counted box that a handle points to. Handle kinds are told apart by `kind`
/// so that passing one handle type where another is expected is an error, not a crash.
open class HandleBox {
    public let kind: UInt32
    public init(kind: UInt32) { self.kind = kind }
}

/// Known handle kinds (four-character tags).
enum HandleKind {
    static let cloud: UInt32 = 0x434C_4F44 // "CLOD"
    static let model: UInt32 = 0x4D4F_444C // "MODL"
    static let session: UInt32 = 0x5345_5353 // "SESS"
    static let result: UInt32 = 0x5253_4C54 // "RSLT"
    static let textEncoder: UInt32 = 0x5445_5854 // "TEXT"
    static let vocabulary: UInt32 = 0x564F_4342 // "VOCB"
    static let fusion: UInt32 = 0x4655_5345 // "FUSE"
    static let superpoints: UInt32 = 0x5350_5453 // "SPTS"
}

/// Retains `box` and returns it as an opaque handle.
func makeHandle(_ box: HandleBox) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(box).toOpaque())
}

/// Borrows the box behind a handle, checking null and kind. Throws invalidArgument on a null or
/// foreign handle. (A freed or garbage pointer cannot be detected: that is the caller's contract.)
func borrow<T: HandleBox>(_ h: OpaquePointer?, as: T.Type, kind: UInt32, name: String) throws -> T {
    guard let h else { throw OV3DError.invalidArgument("\(name) is NULL") }
    let obj = Unmanaged<HandleBox>.fromOpaque(UnsafeRawPointer(h)).takeUnretainedValue()
    guard obj.kind == kind, let t = obj as? T else { throw OV3DError.invalidArgument("\(name) is not a handle of the expected type") }
    return t
}

/// `p` itself, or invalidArgument "<name> is NULL" (output pointers and required buffers).
func nonNull<P>(_ p: P?, _ name: String) throws -> P {
    guard let p else { throw OV3DError.invalidArgument("\(name) is NULL") }
    return p
}

/// Releases a handle (NULL is a no-op).
func releaseHandle(_ h: OpaquePointer?) {
    guard let h else { return }
    Unmanaged<HandleBox>.fromOpaque(UnsafeRawPointer(h)).release()
}

/// Validates a C string argument (non-NULL, valid UTF-8, bounded) and returns it.
func cString(_ p: UnsafePointer<CChar>?, name: String, maxBytes: Int = 1 << 20) throws -> String {
    guard let p else { throw OV3DError.invalidArgument("\(name) is NULL") }
    let n = strnlen(p, maxBytes + 1)
    guard n <= maxBytes else { throw OV3DError.invalidArgument("\(name) is longer than \(maxBytes) bytes") }
    let buf = UnsafeRawBufferPointer(start: p, count: n)
    guard let s = String(validating: buf.bindMemory(to: UInt8.self), as: UTF8.self) else {
        throw OV3DError.invalidArgument("\(name) is not valid UTF-8")
    }
    return s
}

/// Reads a params struct whose first field is its `uint32_t struct_size`. Accepts sizes from
/// `minSize` (the first ABI version's size) up to the current size; fields the caller's older
/// struct lacks keep their defaults. NULL yields the defaults.
func readParams<T>(_ p: UnsafeRawPointer?, defaults: T, minSize: Int, name: String) throws -> T {
    guard let p else { return defaults }
    let size = Int(p.loadUnaligned(as: UInt32.self))
    guard size >= minSize, size <= MemoryLayout<T>.size else {
        throw OV3DError.invalidArgument("\(name).struct_size is \(size); expected \(minSize)...\(MemoryLayout<T>.size) (use the *_default_params() function)")
    }
    var out = defaults
    withUnsafeMutableBytes(of: &out) { dst in
        dst.copyMemory(from: UnsafeRawBufferPointer(start: p, count: size))
    }
    return out
}

/// Checks a caller output buffer: non-NULL when `count > 0`.
func requireBuffer(_ p: UnsafeRawPointer?, count: Int, name: String) throws {
    try require(count >= 0, "\(name): negative count")
    if count > 0 { try require(p != nil, "\(name) is NULL") }
}

#if canImport(Glibc)
import Glibc
#endif
