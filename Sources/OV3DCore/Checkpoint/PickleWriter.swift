/// Emits pickle protocol 2 opcodes for plain data (what `torch.save` writes for a state dict):
/// globals by name, tuples, unicode strings, ints, booleans, persistent ids, REDUCE, dict items.
/// It writes only what the caller asks; nothing here executes or serialises code. The reader is
/// `PickleMachine`.
public struct PickleWriter {
    public private(set) var bytes: [UInt8] = [0x80, 2]  // PROTO 2

    public init() {}

    public mutating func global(_ module: String, _ name: String) {
        bytes.append(UInt8(ascii: "c"))
        bytes += Array(module.utf8); bytes.append(0x0A)
        bytes += Array(name.utf8); bytes.append(0x0A)
    }
    public mutating func mark() { bytes.append(UInt8(ascii: "(")) }
    /// TUPLE: the items since the last mark.
    public mutating func tuple() { bytes.append(UInt8(ascii: "t")) }
    public mutating func emptyTuple() { bytes.append(UInt8(ascii: ")")) }
    public mutating func reduce() { bytes.append(UInt8(ascii: "R")) }
    public mutating func binPersId() { bytes.append(UInt8(ascii: "Q")) }
    /// SETITEMS: key/value pairs since the last mark into the dict below the mark.
    public mutating func setItems() { bytes.append(UInt8(ascii: "u")) }
    public mutating func bool(_ b: Bool) { bytes.append(b ? 0x88 : 0x89) }
    public mutating func stop() { bytes.append(UInt8(ascii: ".")) }

    public mutating func string(_ s: String) {
        let u = Array(s.utf8)
        bytes.append(UInt8(ascii: "X"))
        withUnsafeBytes(of: UInt32(u.count).littleEndian) { bytes += $0 }
        bytes += u
    }

    public mutating func int(_ v: Int64) {
        if v >= 0 && v < 256 {
            bytes += [UInt8(ascii: "K"), UInt8(v)]
        } else if v >= 0 && v < 65536 {
            bytes += [UInt8(ascii: "M"), UInt8(v & 0xFF), UInt8(v >> 8)]
        } else if v >= Int64(Int32.min) && v <= Int64(Int32.max) {
            bytes.append(UInt8(ascii: "J"))
            withUnsafeBytes(of: Int32(v).littleEndian) { bytes += $0 }
        } else {
            // LONG1: 8 little-endian two's-complement bytes.
            bytes += [0x8A, 8]
            withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
        }
    }

    /// A tuple of ints (EMPTY_TUPLE for none).
    public mutating func intTuple(_ a: [Int]) {
        if a.isEmpty { emptyTuple(); return }
        mark()
        for x in a { int(Int64(x)) }
        tuple()
    }
}
