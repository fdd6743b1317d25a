import CZlib

/// gzip (RFC 1952) decompression through zlib, bounded: hostile input yields an error, never an
/// unbounded allocation.
public enum Gzip {
    /// True if the bytes start with the gzip magic 1f 8b.
    public static func sniff(_ b: [UInt8]) -> Bool { b.count >= 2 && b[0] == 0x1F && b[1] == 0x8B }

    /// Inflates a whole gzip stream (concatenated members are accepted). Throws `.format` on a
    /// corrupt or truncated stream and `.outOfMemory` past `maxOutput` bytes.
    public static func decompress(_ input: [UInt8], maxOutput: Int = 256 << 20) throws -> [UInt8] {
        try requireFormat(sniff(input), "not a gzip stream (bad magic)")
        var out = [UInt8]()
        var strm = z_stream()
        guard inflateInit2_(&strm, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw OV3DError.internal("zlib inflateInit2 failed")
        }
        defer { inflateEnd(&strm) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        try input.withUnsafeBufferPointer { inp in
            strm.next_in = UnsafeMutablePointer(mutating: inp.baseAddress!)
            strm.avail_in = UInt32(inp.count)
            while true {
                let r: Int32 = chunk.withUnsafeMutableBufferPointer { c in
                    strm.next_out = c.baseAddress!
                    strm.avail_out = UInt32(c.count)
                    return inflate(&strm, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(strm.avail_out)
                if out.count + produced > maxOutput {
                    throw OV3DError.outOfMemory("gzip stream inflates to more than \(maxOutput) bytes")
                }
                out += chunk[0..<produced]
                if r == Z_STREAM_END {
                    if strm.avail_in == 0 { return }
                    // another member follows
                    guard inflateReset(&strm) == Z_OK else { throw OV3DError.format("gzip: cannot read the next member") }
                    continue
                }
                guard r == Z_OK else {
                    let msg = strm.msg.map { String(cString: $0) } ?? "error \(r)"
                    throw OV3DError.format("gzip: corrupt stream (\(msg))")
                }
                if produced == 0 && strm.avail_in == 0 { throw OV3DError.format("gzip: truncated stream") }
            }
        }
        return out
    }
}
