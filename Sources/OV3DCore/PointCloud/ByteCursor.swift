/// A bounds-checked reader over a byte buffer, for the hostile-input file parsers.
/// Every read checks the remaining length and throws `OV3DError.format` instead of trapping.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    var offset: Int
    let what: String

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, what: String) {
        self.bytes = bytes
        self.offset = offset
        self.what = what
    }

    var remaining: Int { bytes.count - offset }

    /// Throws unless `n` more bytes are available.
    func need(_ n: Int) throws {
        guard n >= 0, n <= remaining else {
            throw OV3DError.format("\(what): truncated (need \(n) bytes at offset \(offset), \(max(0, remaining)) left)")
        }
    }

    mutating func skip(_ n: Int) throws { try need(n); offset += n }

    /// Reads a scalar of `size` bytes and converts it to Double.
    @inline(__always)
    mutating func scalar(_ type: ScalarType, bigEndian: Bool) throws -> Double {
        try need(type.size)
        let v = type.load(bytes.baseAddress! + offset, bigEndian: bigEndian)
        offset += type.size
        return v
    }

    /// Reads the next text line (without the line break); nil at the end of the buffer.
    mutating func line(maxLength: Int = 1 << 16) throws -> Substring? {
        guard offset < bytes.count else { return nil }
        var end = offset
        while end < bytes.count && bytes[end] != 0x0A {
            end += 1
            if end - offset > maxLength { throw OV3DError.format("\(what): line longer than \(maxLength) bytes") }
        }
        var stop = end
        if stop > offset && bytes[stop - 1] == 0x0D { stop -= 1 }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<stop]), as: UTF8.self)
        offset = min(end + 1, bytes.count)
        return Substring(s)
    }
}

/// Numeric element types of the point cloud file formats (PLY and PCD names map here).
enum ScalarType: Equatable, Sendable {
    case int8, uint8, int16, uint16, int32, uint32, float32, float64

    var size: Int {
        switch self {
        case .int8, .uint8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float32: return 4
        case .float64: return 8
        }
    }

    var isFloat: Bool { self == .float32 || self == .float64 }

    /// PLY type names (both the classic and the sized spellings).
    init?(ply name: Substring) {
        switch name {
        case "char", "int8": self = .int8
        case "uchar", "uint8": self = .uint8
        case "short", "int16": self = .int16
        case "ushort", "uint16": self = .uint16
        case "int", "int32": self = .int32
        case "uint", "uint32": self = .uint32
        case "float", "float32": self = .float32
        case "double", "float64": self = .float64
        default: return nil
        }
    }

    /// PCD TYPE letter + SIZE.
    init?(pcdType t: Substring, size: Int) {
        switch (t, size) {
        case ("I", 1): self = .int8
        case ("U", 1): self = .uint8
        case ("I", 2): self = .int16
        case ("U", 2): self = .uint16
        case ("I", 4): self = .int32
        case ("U", 4): self = .uint32
        case ("F", 4): self = .float32
        case ("F", 8): self = .float64
        default: return nil
        }
    }

    @inline(__always)
    func load(_ p: UnsafeRawPointer, bigEndian: Bool) -> Double {
        switch self {
        case .int8: return Double(p.load(as: Int8.self))
        case .uint8: return Double(p.load(as: UInt8.self))
        case .int16:
            let v = p.loadUnaligned(as: UInt16.self)
            return Double(Int16(bitPattern: bigEndian ? v.byteSwapped : v))
        case .uint16:
            let v = p.loadUnaligned(as: UInt16.self)
            return Double(bigEndian ? v.byteSwapped : v)
        case .int32:
            let v = p.loadUnaligned(as: UInt32.self)
            return Double(Int32(bitPattern: bigEndian ? v.byteSwapped : v))
        case .uint32:
            let v = p.loadUnaligned(as: UInt32.self)
            return Double(bigEndian ? v.byteSwapped : v)
        case .float32:
            let v = p.loadUnaligned(as: UInt32.self)
            return Double(Float(bitPattern: bigEndian ? v.byteSwapped : v))
        case .float64:
            let v = p.loadUnaligned(as: UInt64.self)
            return Double(bitPattern: bigEndian ? v.byteSwapped : v)
        }
    }

    /// Parses an ASCII token of this type. Integers must be integral and in range.
    func parse(_ t: Substring) -> Double? {
        guard let d = Double(t) else { return nil }
        if isFloat { return d }
        guard d.isFinite, d == d.rounded() else { return nil }
        switch self {
        case .int8: return d >= -128 && d <= 127 ? d : nil
        case .uint8: return d >= 0 && d <= 255 ? d : nil
        case .int16: return d >= -32768 && d <= 32767 ? d : nil
        case .uint16: return d >= 0 && d <= 65535 ? d : nil
        case .int32: return d >= -2147483648 && d <= 2147483647 ? d : nil
        case .uint32: return d >= 0 && d <= 4294967295 ? d : nil
        default: return d
        }
    }
}

/// Splits on ASCII whitespace.
@inline(__always)
func asciiTokens(_ s: Substring) -> [Substring] {
    s.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
}

/// Clamped, rounded conversion to Int32 for label fields (NaN -> 0).
@inline(__always)
func clampInt32(_ d: Double) -> Int32 {
    guard d.isFinite else { return 0 }
    return Int32(max(-2147483648, min(2147483647, d.rounded())))
}

/// Colour channel from a file value: integer types are clamped to 0...255, float types are
/// taken as 0...1 and scaled.
@inline(__always)
func colorByte(_ d: Double, _ t: ScalarType) -> UInt8 {
    let v = t.isFloat ? d * 255 : (t == .uint16 ? d / 257 : d)
    guard v.isFinite else { return 0 }
    return UInt8(max(0, min(255, v.rounded())))
}
