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
    static let checkpoint: UInt32 = 0x434B_5054 // "CKPT"

    /// The C type name of a kind, for messages.
    static func name(_ kind: UInt32) -> String {
        switch kind {
        case cloud: return "ov3d_cloud"
        case model: return "ov3d_model"
        case session: return "ov3d_session"
        case result: return "ov3d_result"
        case textEncoder: return "ov3d_text_encoder"
        case vocabulary: return "ov3d_vocabulary"
        case fusion: return "ov3d_fusion"
        case superpoints: return "ov3d_superpoints"
        case checkpoint: return "ov3d_checkpoint"
        default: return "handle kind \(kind)"
        }
    }
}

/// The live handles (address -> kind), so that a handle is checked *before* it is dereferenced:
/// a freed handle, a handle of another type or a pointer ov3d never returned is an error, not a
/// read of freed memory (issue 17). Every borrow and free takes the lock once (tens of
/// nanoseconds; handles are borrowed once per call, never per point). The limit, documented in
/// docs/robustness.md: once an address is freed, the allocator may give it to a new handle; a
/// stale pointer to a *new handle of the same type* is then indistinguishable from it.
final class HandleRegistry: @unchecked Sendable {
    static let shared = HandleRegistry()
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private var live: [UInt: UInt32] = [:]

    private init() {
        lock = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
    }

    func insert(_ address: UInt, kind: UInt32) {
        pthread_mutex_lock(lock); defer { pthread_mutex_unlock(lock) }
        live[address] = kind
    }

    /// The box behind `h`, retained by the returned reference, if `h` is live and of `kind`;
    /// otherwise the kind it has (nil: not a live handle). The retain happens under the lock,
    /// so a concurrent free cannot deallocate the box between the check and the retain.
    func lookup(_ h: OpaquePointer, kind: UInt32) -> (box: HandleBox?, actual: UInt32?) {
        pthread_mutex_lock(lock); defer { pthread_mutex_unlock(lock) }
        guard let k = live[UInt(bitPattern: UnsafeRawPointer(h))] else { return (nil, nil) }
        guard k == kind else { return (nil, k) }
        return (Unmanaged<HandleBox>.fromOpaque(UnsafeRawPointer(h)).takeUnretainedValue(), k)
    }

    /// Removes `h` if it is live and of `kind` (true), else leaves everything alone (false).
    func remove(_ h: OpaquePointer, kind: UInt32) -> Bool {
        pthread_mutex_lock(lock); defer { pthread_mutex_unlock(lock) }
        let a = UInt(bitPattern: UnsafeRawPointer(h))
        guard live[a] == kind else { return false }
        live[a] = nil
        return true
    }

    /// Number of live handles (tests).
    var count: Int {
        pthread_mutex_lock(lock); defer { pthread_mutex_unlock(lock) }
        return live.count
    }
}

/// Retains `box`, registers it as live and returns it as an opaque handle.
func makeHandle(_ box: HandleBox) -> OpaquePointer {
    let p = Unmanaged.passRetained(box).toOpaque()
    HandleRegistry.shared.insert(UInt(bitPattern: p), kind: box.kind)
    return OpaquePointer(p)
}

/// Borrows the box behind a handle, checking null, liveness and kind against the registry before
/// anything is dereferenced. Throws invalidArgument on a NULL, freed, foreign or wrong-type
/// handle.
func borrow<T: HandleBox>(_ h: OpaquePointer?, as: T.Type, kind: UInt32, name: String) throws -> T {
    guard let h else { throw OV3DError.invalidArgument("\(name) is NULL") }
    let (box, actual) = HandleRegistry.shared.lookup(h, kind: kind)
    guard let actual else {
        throw OV3DError.invalidArgument("\(name) is not a live \(HandleKind.name(kind)) (already freed, or not a handle ov3d returned)")
    }
    guard let t = box as? T else {
        throw OV3DError.invalidArgument("\(name) is an \(HandleKind.name(actual)), not an \(HandleKind.name(kind))")
    }
    return t
}

/// `p` itself, or invalidArgument "<name> is NULL" (output pointers and required buffers).
func nonNull<P>(_ p: P?, _ name: String) throws -> P {
    guard let p else { throw OV3DError.invalidArgument("\(name) is NULL") }
    return p
}

/// Releases a handle of `kind` (NULL is a no-op). A pointer that is not a live handle of that
/// kind (freed twice, another type, garbage) is left alone and reported through the last error
/// (the free functions return void): OV3D_ERR_INVALID_ARGUMENT in ov3d_last_status().
func releaseHandle(_ h: OpaquePointer?, kind: UInt32, function: String) {
    guard let h else { ov3d_support_clear_error(); return }
    guard HandleRegistry.shared.remove(h, kind: kind) else {
        ov3d_support_set_error(Status.invalidArgument.rawValue,
                               "\(function): the argument is not a live \(HandleKind.name(kind)) (already freed, another type, or not a handle ov3d returned); nothing was freed")
        return
    }
    ov3d_support_clear_error()
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
