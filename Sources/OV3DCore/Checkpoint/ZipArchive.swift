import CZlib

/// A read-only ZIP archive over a byte buffer (typically a memory-mapped torch checkpoint).
///
/// Reads the central directory (zip64 when the classic fields overflow), validates every entry
/// against the file bounds and its local header, and hands out entry contents: STORED entries as
/// zero-copy views of the buffer, DEFLATED ones inflated by zlib into owned memory. Contents are
/// checked against the CRC-32 of the central directory when first read. Encrypted entries,
/// multi-disk archives and other compression methods are refused.
public struct ZipArchive: Sendable {
    /// One central-directory entry.
    public struct Entry: Sendable {
        public let name: String
        public let method: UInt16
        public let crc32: UInt32
        public let compressedSize: Int
        public let uncompressedSize: Int
        /// Offset of the entry's data (after its local header) in the archive.
        public let dataOffset: Int
    }

    /// Limits applied while reading (hostile input): entry count, name length, inflated size.
    public struct Limits: Sendable {
        public var maxEntries = 1 << 20
        public var maxNameBytes = 4096
        public var maxInflatedBytes = 1 << 32
        /// All deflated entries together may declare at most this many times the archive's
        /// size plus `inflatedSlack` (and never more than `maxInflatedBytes`): a zip bomb
        /// (entries of zeros inflating 1000:1) is refused before anything is inflated.
        public var maxInflationRatio = 32
        public var inflatedSlack = 64 << 20
        public init() {}
    }

    public let storage: ByteStorage
    public let entries: [Entry]
    private let index: [String: Int]
    /// When false, entry contents are not CRC-checked (the structure still is).
    public var verifyCRC = true

    static let eocdSig: UInt32 = 0x0605_4b50
    static let zip64LocatorSig: UInt32 = 0x0706_4b50
    static let zip64EOCDSig: UInt32 = 0x0606_4b50
    static let centralSig: UInt32 = 0x0201_4b50
    static let localSig: UInt32 = 0x0403_4b50

    /// True if the buffer starts like a ZIP file (a local header, or an empty archive's EOCD).
    public static func sniff(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= 4 else { return false }
        let s = b.loadUnaligned(as: UInt32.self).littleEndian
        return s == localSig || s == eocdSig
    }

    public init(storage: ByteStorage, limits: Limits = Limits()) throws {
        self.storage = storage
        let b = storage.bytes
        let r = Reader(b)
        // 1. End of central directory: the last signature within the final 64 KiB + 22 bytes.
        try requireFormat(b.count >= 22, "zip: file too short (\(b.count) bytes) for an end-of-central-directory record")
        var eocd = -1
        var i = b.count - 22
        let lowest = max(0, b.count - 22 - 0xFFFF)
        while i >= lowest {
            if r.u32(i) == ZipArchive.eocdSig, i + 22 + Int(r.u16(i + 20)) == b.count { eocd = i; break }
            i -= 1
        }
        if eocd < 0 {
            i = b.count - 22
            while i >= lowest { if r.u32(i) == ZipArchive.eocdSig { eocd = i; break }; i -= 1 }
        }
        try requireFormat(eocd >= 0, "zip: no end-of-central-directory record (truncated or not a zip file)")
        try requireFormat(r.u16(eocd + 4) == 0 || r.u16(eocd + 4) == 0xFFFF, "zip: multi-disk archives are not supported")
        var count = Int(r.u16(eocd + 10))
        var cdSize = Int(r.u32(eocd + 12))
        var cdOffset = Int(r.u32(eocd + 16))
        var cdEnd = eocd
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            // 2. zip64: locator right before the EOCD points at the zip64 EOCD record.
            let loc = eocd - 20
            try requireFormat(loc >= 0 && r.u32(loc) == ZipArchive.zip64LocatorSig, "zip: zip64 fields without a zip64 locator")
            let rec64 = r.u64(loc + 8)
            try requireFormat(loc >= 56 && rec64 <= UInt64(loc - 56), "zip: zip64 record offset \(rec64) out of bounds")
            let z = Int(rec64)
            try requireFormat(r.u32(z) == ZipArchive.zip64EOCDSig, "zip: bad zip64 end-of-central-directory signature")
            let n64 = r.u64(z + 32), size64 = r.u64(z + 40), off64 = r.u64(z + 48)
            try requireFormat(n64 <= UInt64(limits.maxEntries) && size64 <= UInt64(b.count) && off64 <= UInt64(b.count),
                              "zip: zip64 directory fields out of range (entries \(n64), size \(size64), offset \(off64))")
            count = Int(n64); cdSize = Int(size64); cdOffset = Int(off64)
            cdEnd = z
        }
        try requireFormat(count <= limits.maxEntries, "zip: \(count) entries exceed the limit of \(limits.maxEntries)")
        try requireFormat(cdOffset <= cdEnd && cdSize <= cdEnd - cdOffset,
                          "zip: central directory (offset \(cdOffset), size \(cdSize)) lies outside the file")
        try requireFormat(count * 46 <= cdSize, "zip: central directory of \(cdSize) bytes cannot hold \(count) entries")

        // 3. Central directory entries.
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        var index: [String: Int] = [:]
        var p = cdOffset
        let cdLimit = cdOffset + cdSize
        var spans: [(start: Int, end: Int, name: String)] = []
        spans.reserveCapacity(count)
        var declaredInflated = 0
        let inflateBudget = min(limits.maxInflatedBytes,
                                (try? CheckedSize.sum(try CheckedSize.product(b.count, limits.maxInflationRatio, ""), limits.inflatedSlack, "")) ?? Int.max)
        for e in 0..<count {
            try requireFormat(p + 46 <= cdLimit && r.u32(p) == ZipArchive.centralSig, "zip: central directory entry \(e) is malformed")
            let flags = r.u16(p + 8)
            let method = r.u16(p + 10)
            let crc = r.u32(p + 16)
            var csize = UInt64(r.u32(p + 20))
            var usize = UInt64(r.u32(p + 24))
            let nameLen = Int(r.u16(p + 28)), extraLen = Int(r.u16(p + 30)), commentLen = Int(r.u16(p + 32))
            var localOff = UInt64(r.u32(p + 42))
            let next = p + 46 + nameLen + extraLen + commentLen
            try requireFormat(next <= cdLimit, "zip: central directory entry \(e) runs past the directory")
            try requireFormat(nameLen > 0 && nameLen <= limits.maxNameBytes, "zip: entry \(e) has an invalid name length \(nameLen)")
            guard let name = String(validating: UnsafeRawBufferPointer(rebasing: b[(p + 46)..<(p + 46 + nameLen)]).bindMemory(to: UInt8.self), as: UTF8.self) else {
                throw OV3DError.format("zip: entry \(e) name is not valid UTF-8")
            }
            try requireFormat(flags & 1 == 0, "zip: entry '\(name)' is encrypted")
            // zip64 extended information: present fields appear in the order usize, csize, offset.
            if usize == 0xFFFF_FFFF || csize == 0xFFFF_FFFF || localOff == 0xFFFF_FFFF {
                var q = p + 46 + nameLen
                let extraEnd = q + extraLen
                var found = false
                while q + 4 <= extraEnd {
                    let id = r.u16(q), len = Int(r.u16(q + 2))
                    try requireFormat(q + 4 + len <= extraEnd, "zip: entry '\(name)' has a malformed extra field")
                    if id == 1 {
                        var f = q + 4
                        func take() throws -> UInt64 {
                            try requireFormat(f + 8 <= q + 4 + len, "zip: entry '\(name)' has a short zip64 extra field")
                            defer { f += 8 }
                            return r.u64(f)
                        }
                        if usize == 0xFFFF_FFFF { usize = try take() }
                        if csize == 0xFFFF_FFFF { csize = try take() }
                        if localOff == 0xFFFF_FFFF { localOff = try take() }
                        found = true
                        break
                    }
                    q += 4 + len
                }
                try requireFormat(found, "zip: entry '\(name)' needs a zip64 extra field but has none")
            }
            try requireFormat(method == 0 || method == 8, "zip: entry '\(name)' uses compression method \(method) (only stored and deflated are supported)")
            try requireFormat(localOff <= UInt64(cdOffset) && csize <= UInt64(cdOffset) && usize <= UInt64(limits.maxInflatedBytes),
                              "zip: entry '\(name)' has out-of-range sizes or offset (offset \(localOff), compressed \(csize), size \(usize))")
            let lo = Int(localOff)
            try requireFormat(lo + 30 <= cdOffset && r.u32(lo) == ZipArchive.localSig, "zip: entry '\(name)' has no local header at offset \(lo)")
            let lNameLen = Int(r.u16(lo + 26)), lExtraLen = Int(r.u16(lo + 28))
            try requireFormat(lNameLen == nameLen, "zip: entry '\(name)': local header name length differs from the central directory")
            try requireFormat(r.u16(lo + 8) == method, "zip: entry '\(name)': local header method differs from the central directory")
            let dataOff = lo + 30 + lNameLen + lExtraLen
            try requireFormat(dataOff <= cdOffset && Int(csize) <= cdOffset - dataOff,
                              "zip: entry '\(name)' data (offset \(dataOff), \(csize) bytes) runs past the central directory")
            if method == 0 { try requireFormat(csize == usize, "zip: stored entry '\(name)' has compressed size \(csize) != size \(usize)") }
            // Deflate cannot expand more than ~1032:1: a larger declared size is a lie (and an allocation bomb).
            if method == 8 {
                try requireFormat(usize <= csize &* 1032 &+ 1024, "zip: deflated entry '\(name)' declares \(usize) bytes from \(csize) compressed bytes")
                declaredInflated = try CheckedSize.sum(declaredInflated, Int(usize), "zip: inflated sizes")
                try requireFormat(declaredInflated <= inflateBudget,
                                  "zip: deflated entries declare \(declaredInflated) bytes or more, over the limit of \(inflateBudget) for an archive of \(b.count) bytes (a zip bomb?)")
            }
            spans.append((lo, dataOff + Int(csize), name))
            try requireFormat(index[name] == nil, "zip: duplicate entry '\(name)'")
            index[name] = entries.count
            entries.append(Entry(name: name, method: method, crc32: crc, compressedSize: Int(csize), uncompressedSize: Int(usize), dataOffset: dataOff))
            p = next
        }
        // 4. Local entries may not overlap (several directory entries sharing one local entry are
        // the classic way to multiply a bomb).
        spans.sort { $0.start < $1.start }
        for k in spans.indices.dropFirst() where spans[k].start < spans[k - 1].end {
            throw OV3DError.format("zip: entries '\(spans[k - 1].name)' and '\(spans[k].name)' overlap in the file")
        }
        self.entries = entries
        self.index = index
    }

    public func entry(named name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The contents of an entry: a view of the archive for stored entries, inflated memory otherwise.
    /// Verifies the CRC-32 unless `verifyCRC` is false.
    public func contents(of e: Entry, threads: Int = 1) throws -> ByteStorage {
        let archive = storage
        let out: ByteStorage
        if e.method == 0 {
            out = ByteStorage(base: archive.base + e.dataOffset, count: e.uncompressedSize, release: { withExtendedLifetime(archive) {} })
        } else {
            out = try inflate(e)
        }
        if verifyCRC {
            let c = ZipArchive.crc32(out.bytes, threads: threads)
            try requireFormat(c == e.crc32, "zip: CRC-32 mismatch in entry '\(e.name)' (stored \(hex(e.crc32)), computed \(hex(c))): the file is corrupt")
        }
        return out
    }

    public func contents(named name: String) throws -> ByteStorage {
        guard let e = entry(named: name) else { throw OV3DError.format("zip: no entry '\(name)'") }
        return try contents(of: e)
    }

    private func inflate(_ e: Entry) throws -> ByteStorage {
        let src = UnsafeRawBufferPointer(rebasing: storage.bytes[e.dataOffset..<(e.dataOffset + e.compressedSize)])
        return try ByteStorage(count: e.uncompressedSize, what: "inflating zip entry '\(e.name)'") { dst in
            var zs = z_stream()
            guard inflateInit2_(&zs, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw OV3DError.internal("zlib: inflateInit2 failed")
            }
            defer { inflateEnd(&zs) }
            var inPos = 0, outPos = 0
            let chunk = Int(UInt32.max >> 1)
            while true {
                zs.next_in = UnsafeMutablePointer(mutating: src.baseAddress.map { $0.assumingMemoryBound(to: Bytef.self) + inPos })
                let inN = min(chunk, src.count - inPos)
                zs.avail_in = uInt(inN)
                let outN = min(chunk, dst.count - outPos)
                zs.next_out = dst.baseAddress.map { $0.assumingMemoryBound(to: Bytef.self) + outPos }
                zs.avail_out = uInt(outN)
                let rc = CZlib.inflate(&zs, Z_NO_FLUSH)
                inPos += inN - Int(zs.avail_in)
                outPos += outN - Int(zs.avail_out)
                if rc == Z_STREAM_END { break }
                if rc == Z_OK && (Int(zs.avail_in) < inN || Int(zs.avail_out) < outN) { continue }
                if rc == Z_BUF_ERROR || rc == Z_OK {
                    throw OV3DError.format("zip: deflated entry '\(e.name)' is truncated or larger than its declared size \(e.uncompressedSize)")
                }
                throw OV3DError.format("zip: deflated entry '\(e.name)' is corrupt (zlib status \(rc))")
            }
            try requireFormat(outPos == e.uncompressedSize, "zip: deflated entry '\(e.name)' inflates to \(outPos) bytes, declared \(e.uncompressedSize)")
        }
    }

    /// zlib's CRC-32 of a buffer; large buffers are split over threads and combined.
    public static func crc32(_ b: UnsafeRawBufferPointer, threads: Int = 1) -> UInt32 {
        guard let base = b.baseAddress, b.count > 0 else { return 0 }
        func run(_ p: UnsafeRawPointer, _ n: Int) -> UInt {
            var c: UInt = 0
            var off = 0
            while off < n {
                let m = min(n - off, 1 << 30)
                c = CZlib.crc32(c, p.assumingMemoryBound(to: Bytef.self) + off, uInt(m))
                off += m
            }
            return c
        }
        let parts = b.count >= (1 << 20) ? max(1, min(threads, b.count >> 19)) : 1
        if parts == 1 { return UInt32(truncatingIfNeeded: run(base, b.count)) }
        let step = (b.count + parts - 1) / parts
        var crcs = [UInt](repeating: 0, count: parts)
        crcs.withUnsafeMutableBufferPointer { out in
            let o = UncheckedSendable(out)
            let bp = UncheckedSendable(base)
            parallelFor(parts, threads: parts) { r in
                for i in r {
                    let lo = i * step, n = min(step, b.count - lo)
                    if n > 0 { o.value[i] = run(bp.value + lo, n) }
                }
            }
        }
        var c = crcs[0]
        for i in 1..<parts {
            let n = min(step, b.count - i * step)
            if n > 0 { c = UInt(crc32_combine(uLong(c), uLong(crcs[i]), off_t(n))) }
        }
        return UInt32(truncatingIfNeeded: c)
    }
}

private func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}

/// Bounds-unchecked little-endian loads; callers check offsets against the buffer first.
/// Every load here is additionally clamped: an out-of-range read returns 0 instead of trapping.
struct Reader {
    let b: UnsafeRawBufferPointer
    init(_ b: UnsafeRawBufferPointer) { self.b = b }
    func u16(_ o: Int) -> UInt16 { o >= 0 && o + 2 <= b.count ? b.loadUnaligned(fromByteOffset: o, as: UInt16.self).littleEndian : 0 }
    func u32(_ o: Int) -> UInt32 { o >= 0 && o + 4 <= b.count ? b.loadUnaligned(fromByteOffset: o, as: UInt32.self).littleEndian : 0 }
    func u64(_ o: Int) -> UInt64 { o >= 0 && o + 8 <= b.count ? b.loadUnaligned(fromByteOffset: o, as: UInt64.self).littleEndian : 0 }
}
