import CSupport

/// Log levels, matching `ov3d_log_level`.
public enum LogLevel: Int32, Sendable {
    case debug = 0, info = 1, warn = 2, error = 3, none = 4
}

/// The library's logger: forwards to the host's callback (`ov3d_set_log_callback`) or stderr.
public enum Log {
    @inlinable public static func debug(_ m: @autoclosure () -> String) { emit(.debug, m) }
    @inlinable public static func info(_ m: @autoclosure () -> String) { emit(.info, m) }
    @inlinable public static func warn(_ m: @autoclosure () -> String) { emit(.warn, m) }
    @inlinable public static func error(_ m: @autoclosure () -> String) { emit(.error, m) }

    @usableFromInline
    static func emit(_ level: LogLevel, _ m: () -> String) {
        guard level.rawValue >= ov3d_support_log_min_level() else { return }
        ov3d_support_log(level.rawValue, m())
    }
}
