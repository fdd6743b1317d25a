/// LZF (liblzf's format, used by PCD binary_compressed): decompression, bounds-checked (a
/// malformed stream is a format error, never an out-of-bounds access), and compression.
///
/// The stream is a sequence of
///   - literal runs: a byte `L - 1` (L = 1...32), then L bytes;
///   - back references: a byte `(M - 2) << 5 | D >> 8` (M - 2 = 1...6), or `7 << 5 | D >> 8`
///     followed by `M - 9`, for a match of M = 3...264 bytes; then the byte `D & 0xFF`, where the
///     match starts D + 1 = 1...8192 bytes before the current output position (it may overlap
///     the bytes it produces).
enum LZF {
    static let maxDistance = 8192
    static let maxMatch = 264
    static let hashBits = 14

    /// Compresses `input` greedily: each position's 3-byte prefix is looked up in a hash table of
    /// the last position with that hash; a candidate within reach that matches is extended as far
    /// as it goes (up to 264 bytes), else the byte becomes a literal. Deterministic. The output
    /// is at most `input.count + input.count / 32 + 1` bytes.
    static func compress(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        let n = input.count
        var out: [UInt8] = []
        guard n > 0, let src = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return out }
        out.reserveCapacity(n + n / 32 + 1)
        var table = [Int32](repeating: -1, count: 1 << hashBits)
        @inline(__always) func hash(_ p: Int) -> Int {
            let v = UInt32(src[p]) << 16 | UInt32(src[p + 1]) << 8 | UInt32(src[p + 2])
            return Int((v &* 2_654_435_761) >> UInt32(32 - hashBits))
        }
        var literalStart = 0
        @inline(__always) func flushLiterals(_ end: Int) {
            var s = literalStart
            while s < end {
                let k = min(32, end - s)
                out.append(UInt8(k - 1))
                out.append(contentsOf: UnsafeBufferPointer(start: src + s, count: k))
                s += k
            }
        }
        table.withUnsafeMutableBufferPointer { t in
            var ip = 0
            while ip + 2 < n {
                let h = hash(ip)
                let cand = Int(t[h])
                t[h] = Int32(ip)
                if cand >= 0 && ip - cand <= maxDistance && src[cand] == src[ip] && src[cand + 1] == src[ip + 1]
                    && src[cand + 2] == src[ip + 2] {
                    var len = 3
                    let limit = min(maxMatch, n - ip)
                    while len < limit && src[cand + len] == src[ip + len] { len += 1 }
                    flushLiterals(ip)
                    let d = ip - cand - 1, m = len - 2
                    if m < 7 {
                        out.append(UInt8(m << 5 | d >> 8))
                    } else {
                        out.append(UInt8(7 << 5 | d >> 8))
                        out.append(UInt8(m - 7))
                    }
                    out.append(UInt8(d & 0xFF))
                    var p = ip + 1
                    while p < ip + len && p + 2 < n { t[hash(p)] = Int32(p); p += 1 }
                    ip += len
                    literalStart = ip
                } else {
                    ip += 1
                }
            }
        }
        flushLiterals(n)
        return out
    }

    static func decompress(_ input: UnsafeRawBufferPointer, outputSize: Int) throws -> [UInt8] {
        try requireFormat(outputSize >= 0, "lzf: negative output size")
        var out = [UInt8](repeating: 0, count: outputSize)
        var ip = 0, op = 0
        let n = input.count
        try out.withUnsafeMutableBufferPointer { o in
            while ip < n {
                let ctrl = Int(input[ip]); ip += 1
                if ctrl < 32 {
                    let len = ctrl + 1
                    try requireFormat(ip + len <= n, "lzf: literal run past the end of the input")
                    try requireFormat(op + len <= outputSize, "lzf: output larger than declared")
                    for k in 0..<len { o[op + k] = input[ip + k] }
                    ip += len; op += len
                } else {
                    var len = ctrl >> 5
                    var ref = op - ((ctrl & 0x1F) << 8) - 1
                    if len == 7 {
                        try requireFormat(ip < n, "lzf: truncated back reference")
                        len += Int(input[ip]); ip += 1
                    }
                    try requireFormat(ip < n, "lzf: truncated back reference")
                    ref -= Int(input[ip]); ip += 1
                    len += 2
                    try requireFormat(ref >= 0, "lzf: back reference before the start")
                    try requireFormat(op + len <= outputSize, "lzf: output larger than declared")
                    for _ in 0..<len { o[op] = o[ref]; op += 1; ref += 1 }
                }
            }
        }
        try requireFormat(op == outputSize, "lzf: decompressed \(op) bytes, expected \(outputSize)")
        return out
    }
}
