/// Sizes read from files (counts, lengths, offsets, shapes, strides): the one place where they
/// are combined, always overflow-checked and capped, so no parser can trap on a hostile header
/// or allocate what a header merely claims (issue 17).
///
/// Every function throws `OV3DError.format` naming `what` (the file and field) instead of
/// trapping. `cap` bounds the result (default `CheckedSize.cap`, 2^40: more elements or bytes
/// than any file ov3d reads can hold); callers compare byte counts against the bytes actually
/// present before allocating.
public enum CheckedSize {
    /// Default upper bound on any size computed from a file (2^40).
    public static let cap = 1 << 40

    /// `a × b`, both ≥ 0, at most `cap`.
    @inline(__always)
    public static func product(_ a: Int, _ b: Int, cap: Int = cap, _ what: @autoclosure () -> String) throws -> Int {
        let (m, o) = a.multipliedReportingOverflow(by: b)
        guard a >= 0, b >= 0, !o, m <= cap else { throw tooLarge("\(a) × \(b)", cap, what()) }
        return m
    }

    /// The product of `factors` (a shape), each ≥ 0, at most `cap`. A zero factor does not hide
    /// an overflow of the others: every partial product of the non-zero factors is checked too.
    public static func product(_ factors: [Int], cap: Int = cap, _ what: @autoclosure () -> String) throws -> Int {
        var n = 1
        var nonZero = 1
        for d in factors {
            guard d >= 0 else { throw OV3DError.format("\(what()): negative size \(d) in \(factors)") }
            if d == 0 { n = 0; continue }
            let (m, o) = nonZero.multipliedReportingOverflow(by: d)
            guard !o, m <= cap else { throw tooLarge(factors.map(String.init).joined(separator: " × "), cap, what()) }
            nonZero = m
            n = n == 0 ? 0 : m
        }
        return n
    }

    /// `a + b`, both ≥ 0, at most `cap`.
    @inline(__always)
    public static func sum(_ a: Int, _ b: Int, cap: Int = cap, _ what: @autoclosure () -> String) throws -> Int {
        let (s, o) = a.addingReportingOverflow(b)
        guard a >= 0, b >= 0, !o, s <= cap else { throw tooLarge("\(a) + \(b)", cap, what()) }
        return s
    }

    /// An unsigned size field as Int, at most `cap`.
    @inline(__always)
    public static func int(_ v: UInt64, cap: Int = cap, _ what: @autoclosure () -> String) throws -> Int {
        guard v <= UInt64(cap) else { throw tooLarge(String(v), cap, what()) }
        return Int(v)
    }

    /// A signed size field as Int, in 0...cap.
    @inline(__always)
    public static func int(_ v: Int64, cap: Int = cap, _ what: @autoclosure () -> String) throws -> Int {
        guard v >= 0 else { throw OV3DError.format("\(what()): negative size \(v)") }
        guard v <= Int64(cap) else { throw tooLarge(String(v), cap, what()) }
        return Int(v)
    }

    /// A floating-point value that must be an integral size in 0...cap (JSON numbers, ASCII headers).
    public static func int(_ d: Double, cap: Int = cap, _ what: @autoclosure () -> String) throws -> Int {
        guard d.isFinite, d == d.rounded(), d >= 0 else { throw OV3DError.format("\(what()): \(d) is not a size") }
        guard d <= Double(cap) else { throw tooLarge(String(d), cap, what()) }
        return Int(d)
    }

    /// Throws unless `[offset, offset + length)` lies inside `0..<total` (all ≥ 0, no overflow).
    @inline(__always)
    public static func range(offset: Int, length: Int, within total: Int, _ what: @autoclosure () -> String) throws {
        let (end, o) = offset.addingReportingOverflow(length)
        guard offset >= 0, length >= 0, !o, end <= total else {
            throw OV3DError.format("\(what()): \(length) bytes at offset \(offset) run past the \(total) bytes present")
        }
    }

    private static func tooLarge(_ expr: String, _ cap: Int, _ what: String) -> OV3DError {
        OV3DError.format("\(what): size \(expr) overflows or exceeds the limit of \(cap)")
    }
}
