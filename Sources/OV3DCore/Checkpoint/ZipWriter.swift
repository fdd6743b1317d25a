/// A minimal zip writer: stored (uncompressed) entries with CRC-32, each entry's data aligned
/// to `alignment` bytes through padding in the local header's extra field (as torch's
/// `PyTorchStreamWriter` aligns storages to 64). No zip64: the archive must stay below 4 GiB.
/// The reader is `ZipArchive`.
public struct ZipWriter {
    public private(set) var bytes: [UInt8] = []
    public let alignment: Int
    private var central: [UInt8] = []
    private var count = 0
    static let limit = Int(UInt32.max) - 1

    public init(alignment: Int = 64) { self.alignment = max(1, alignment) }

    /// Appends a stored entry named `name` holding `data`.
    public mutating func add(_ name: String, _ data: UnsafeRawBufferPointer) throws {
        let nameBytes = Array(name.utf8)
        try require(!nameBytes.isEmpty && nameBytes.count <= 0xFFFF, "zip: invalid entry name '\(name.prefix(64))'")
        try require(count < 0xFFFF, "zip: more than 65535 entries need zip64 (not supported)")
        let crc = ZipArchive.crc32(data)
        let offset = bytes.count
        var pad = 0
        let dataStart = offset + 30 + nameBytes.count
        if alignment > 1 {
            pad = (alignment - (dataStart + 4) % alignment) % alignment
        }
        let extra: [UInt8] = alignment > 1 ? Self.le16(0x4246) + Self.le16(UInt16(pad)) + [UInt8](repeating: 0x5A, count: pad) : []
        try require(offset + 30 + nameBytes.count + extra.count + data.count <= Self.limit,
                    "zip: the archive would exceed 4 GiB (zip64 is not supported)")
        // Local file header.
        bytes += Self.le32(0x0403_4B50) + Self.le16(20) + Self.le16(0) + Self.le16(0) + Self.le16(0) + Self.le16(0x21)
        bytes += Self.le32(crc) + Self.le32(UInt32(data.count)) + Self.le32(UInt32(data.count))
        bytes += Self.le16(UInt16(nameBytes.count)) + Self.le16(UInt16(extra.count))
        bytes += nameBytes + extra
        bytes += data
        // Central directory record.
        central += Self.le32(0x0201_4B50) + Self.le16(20) + Self.le16(20) + Self.le16(0) + Self.le16(0) + Self.le16(0) + Self.le16(0x21)
        central += Self.le32(crc) + Self.le32(UInt32(data.count)) + Self.le32(UInt32(data.count))
        central += Self.le16(UInt16(nameBytes.count)) + Self.le16(0) + Self.le16(0) + Self.le16(0) + Self.le16(0) + Self.le32(0)
        central += Self.le32(UInt32(offset)) + nameBytes
        count += 1
    }

    public mutating func add(_ name: String, _ data: [UInt8]) throws {
        try data.withUnsafeBytes { try add(name, $0) }
    }

    /// The complete archive (central directory and end record appended).
    public func finish() throws -> [UInt8] {
        try require(bytes.count + central.count + 22 <= Self.limit, "zip: the archive would exceed 4 GiB (zip64 is not supported)")
        var out = bytes
        out += central
        out += Self.le32(0x0605_4B50) + Self.le16(0) + Self.le16(0) + Self.le16(UInt16(count)) + Self.le16(UInt16(count))
        out += Self.le32(UInt32(central.count)) + Self.le32(UInt32(bytes.count)) + Self.le16(0)
        return out
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * UInt32($0))) & 0xFF) } }
}
