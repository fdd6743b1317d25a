/// Reports progress of a long operation and lets the host cancel it.
///
/// The C ABI wraps an `ov3d_progress_callback`; Swift callers pass a closure. `report` throws
/// `OV3DError.cancelled` when the callback asks to stop.
public struct Progress: Sendable {
    /// Returns `false` to cancel.
    public typealias Handler = @Sendable (_ fraction: Float, _ stage: String) -> Bool
    private let handler: Handler?

    public init(_ handler: Handler? = nil) { self.handler = handler }

    /// No reporting, never cancels.
    public static let none = Progress()

    /// Reports `fraction` (0...1) of `stage`; throws `.cancelled` if the host asked to stop.
    public func report(_ fraction: Float, _ stage: String) throws {
        guard let handler else { return }
        if !handler(min(max(fraction, 0), 1), stage) { throw OV3DError.cancelled }
    }
}
