/// The status codes of the C ABI (`ov3d_status` in include/ov3d.h). Values are fixed by the ABI.
public enum Status: Int32, Sendable, CaseIterable {
    case ok = 0
    case invalidArgument = -1
    case io = -2
    case format = -3
    case unsupported = -4
    case outOfMemory = -5
    case cancelled = -6
    case `internal` = -7

    /// A short constant description, as `ov3d_status_string` returns it.
    public var name: String {
        switch self {
        case .ok: return "ok"
        case .invalidArgument: return "invalid argument"
        case .io: return "I/O error"
        case .format: return "format error"
        case .unsupported: return "unsupported"
        case .outOfMemory: return "out of memory"
        case .cancelled: return "cancelled"
        case .internal: return "internal error"
        }
    }
}

/// The one error type of the core. Every failure that can reach the C ABI is an `OV3DError`,
/// carrying the status code the ABI returns and a message for `ov3d_last_error()`.
public struct OV3DError: Error, CustomStringConvertible, Sendable, Equatable {
    public var status: Status
    public var message: String

    public init(_ status: Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }

    public static func invalidArgument(_ m: String) -> OV3DError { OV3DError(.invalidArgument, m) }
    public static func io(_ m: String) -> OV3DError { OV3DError(.io, m) }
    public static func format(_ m: String) -> OV3DError { OV3DError(.format, m) }
    public static func unsupported(_ m: String) -> OV3DError { OV3DError(.unsupported, m) }
    public static func outOfMemory(_ m: String) -> OV3DError { OV3DError(.outOfMemory, m) }
    public static let cancelled = OV3DError(.cancelled, "cancelled by the progress callback")
    public static func `internal`(_ m: String) -> OV3DError { OV3DError(.internal, m) }

    /// Prefixes the message with context ("while reading x.ply: ...").
    public func context(_ prefix: String) -> OV3DError { OV3DError(status, "\(prefix): \(message)") }
}

/// Throws `invalidArgument(message())` unless `condition` holds.
@inlinable
public func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw OV3DError.invalidArgument(message()) }
}

/// Throws `format(message())` unless `condition` holds (for file parsers).
@inlinable
public func requireFormat(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw OV3DError.format(message()) }
}
