/// LZF decompression (liblzf's format, used by PCD binary_compressed). Bounds-checked: a
/// malformed stream is a format error, never an out-of-bounds access.
enum LZF {
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
