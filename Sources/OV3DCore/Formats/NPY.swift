/// NumPy `.npy` files (format versions 1.0, 2.0 and 3.0), read and write.
///
/// Reading accepts little-endian and big-endian numeric dtypes and C or Fortran order, and
/// returns a C-order little-endian `Tensor`. The header is parsed as the Python-literal dict
/// NumPy writes, with bounds on every length. Object arrays (pickles) are refused.
public enum NPY {
    /// Largest accepted header.
    static let maxHeader = 1 << 20

    public static func read(path: String) throws -> Tensor {
        do { return try decode(try FileIO.read(path)) } catch let e as OV3DError {
            throw e.status == .io ? e : e.context(path)
        }
    }

    public static func decode(_ data: [UInt8]) throws -> Tensor {
        try data.withUnsafeBytes { try decode(bytes: $0) }
    }

    public static func decode(bytes b: UnsafeRawBufferPointer) throws -> Tensor {
        try requireFormat(b.count >= 10, "npy: file too short (\(b.count) bytes)")
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        try requireFormat(Array(b[0..<6]) == magic, "npy: bad magic (not a .npy file)")
        let major = b[6]
        let headerLen: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLen = Int(b[8]) | Int(b[9]) << 8
            headerStart = 10
        case 2, 3:
            try requireFormat(b.count >= 12, "npy: truncated header length")
            headerLen = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
            headerStart = 12
        default:
            throw OV3DError.format("npy: unsupported format version \(major).\(b[7])")
        }
        try requireFormat(headerLen <= maxHeader, "npy: header of \(headerLen) bytes is too large")
        try requireFormat(headerStart + headerLen <= b.count, "npy: truncated header")
        let header = String(decoding: UnsafeRawBufferPointer(rebasing: b[headerStart..<(headerStart + headerLen)]), as: UTF8.self)
        let h = try parseHeader(header)
        let (dtype, bigEndian) = try parseDescr(h.descr)
        let n = try CheckedSize.product(h.shape, "npy: shape \(h.shape)")
        let dataStart = headerStart + headerLen
        let need = try CheckedSize.product(n, dtype.size, "npy: data of shape \(h.shape)")
        try requireFormat(b.count - dataStart >= need, "npy: data truncated: need \(need) bytes for shape \(h.shape), have \(b.count - dataStart)")
        let raw = UnsafeRawBufferPointer(rebasing: b[dataStart..<(dataStart + need)])
        let storage = try ByteStorage(count: need, what: "npy data of shape \(h.shape)") { out in
            out.copyMemory(from: raw)
            if bigEndian && dtype.size > 1 { byteSwap(out, elementSize: dtype.size) }
            if h.fortran && h.shape.count > 1 { transposeFortranToC(out, shape: h.shape, elementSize: dtype.size) }
        }
        return try Tensor(dtype: dtype, shape: h.shape, storage: storage)
    }

    /// Encodes a tensor as .npy version 1.0 (2.0 if the header does not fit).
    public static func encode(_ t: Tensor) throws -> [UInt8] {
        guard let descr = t.dtype.numpyDescr else {
            throw OV3DError.unsupported("npy has no \(t.dtype.rawValue) dtype")
        }
        let shapeText = t.shape.isEmpty ? "()" : (t.shape.count == 1 ? "(\(t.shape[0]),)" : "(" + t.shape.map(String.init).joined(separator: ", ") + ")")
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let v1 = header.utf8.count + 10 + 1 < 65536
        let pre = v1 ? 10 : 12
        let total = ((pre + header.utf8.count + 1 + 63) / 64) * 64
        header += String(repeating: " ", count: total - pre - header.utf8.count - 1) + "\n"
        var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, v1 ? 1 : 2, 0]
        let hl = header.utf8.count
        if v1 { out += [UInt8(hl & 0xFF), UInt8(hl >> 8)] } else {
            out += [UInt8(hl & 0xFF), UInt8((hl >> 8) & 0xFF), UInt8((hl >> 16) & 0xFF), UInt8(hl >> 24)]
        }
        out += Array(header.utf8)
        out += Array(t.bytes)
        return out
    }

    public static func write(_ t: Tensor, path: String) throws {
        try FileIO.write(path, try encode(t))
    }

    /// Convenience: writes a float32 matrix or vector.
    public static func write(_ values: [Float], shape: [Int], path: String) throws {
        try write(try Tensor(values, shape: shape), path: path)
    }

    // MARK: header

    struct Header { var descr: String; var fortran: Bool; var shape: [Int] }

    /// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
    static func parseHeader(_ s: String) throws -> Header {
        var descr: String?
        var fortran: Bool?
        var shape: [Int]?
        var it = Array(s.utf8)[...]
        func skip() { while let c = it.first, c == 0x20 || c == 0x0A || c == 0x09 || c == 0x0D { it = it.dropFirst() } }
        func expect(_ c: UInt8) throws {
            skip()
            guard it.first == c else { throw OV3DError.format("npy: malformed header near '\(String(decoding: it.prefix(20), as: UTF8.self))'") }
            it = it.dropFirst()
        }
        func quoted() throws -> String {
            skip()
            guard let q = it.first, q == 0x27 || q == 0x22 else { throw OV3DError.format("npy: expected a quoted string in header") }
            it = it.dropFirst()
            guard let end = it.firstIndex(of: q) else { throw OV3DError.format("npy: unterminated string in header") }
            let r = String(decoding: it[..<end], as: UTF8.self)
            it = it[(end + 1)...]
            return r
        }
        try expect(UInt8(ascii: "{"))
        while true {
            skip()
            if it.first == UInt8(ascii: "}") { it = it.dropFirst(); break }
            let key = try quoted()
            try expect(UInt8(ascii: ":"))
            skip()
            switch key {
            case "descr":
                descr = try quoted()
            case "fortran_order":
                if it.starts(with: "True".utf8) { fortran = true; it = it.dropFirst(4) }
                else if it.starts(with: "False".utf8) { fortran = false; it = it.dropFirst(5) }
                else { throw OV3DError.format("npy: fortran_order must be True or False") }
            case "shape":
                try expect(UInt8(ascii: "("))
                var dims: [Int] = []
                while true {
                    skip()
                    if it.first == UInt8(ascii: ")") { it = it.dropFirst(); break }
                    var v = 0
                    var digits = 0
                    while let c = it.first, (48...57).contains(c) {
                        v = v * 10 + Int(c - 48)
                        digits += 1
                        it = it.dropFirst()
                        guard digits <= 15 else { throw OV3DError.format("npy: dimension too large") }
                    }
                    if let c = it.first, c == UInt8(ascii: "L") { it = it.dropFirst() }
                    guard digits > 0 else { throw OV3DError.format("npy: malformed shape") }
                    dims.append(v)
                    guard dims.count <= 32 else { throw OV3DError.format("npy: too many dimensions") }
                    skip()
                    if it.first == UInt8(ascii: ",") { it = it.dropFirst() }
                }
                shape = dims
            default:
                throw OV3DError.format("npy: unknown header key '\(key)'")
            }
            skip()
            if it.first == UInt8(ascii: ",") { it = it.dropFirst() }
        }
        guard let d = descr, let f = fortran, let sh = shape else {
            throw OV3DError.format("npy: header lacks descr, fortran_order or shape")
        }
        return Header(descr: d, fortran: f, shape: sh)
    }

    static func parseDescr(_ d: String) throws -> (DType, Bool) {
        let table: [String: DType] = ["f4": .float32, "f2": .float16, "f8": .float64, "i8": .int64, "i4": .int32,
                                      "i2": .int16, "i1": .int8, "u1": .uint8, "u2": .uint16, "u4": .uint32,
                                      "u8": .uint64, "b1": .bool]
        guard d.count >= 2 else { throw OV3DError.format("npy: unsupported dtype '\(d)'") }
        var s = Substring(d)
        var big = false
        if let f = s.first, "<>|=".contains(f) { big = (f == ">"); s = s.dropFirst() }
        guard let t = table[String(s)] else { throw OV3DError.unsupported("npy: unsupported dtype '\(d)' (numeric dtypes only)") }
        return (t, big)
    }

    static func byteSwap(_ b: UnsafeMutableRawBufferPointer, elementSize: Int) {
        var i = 0
        while i + elementSize <= b.count {
            var lo = i, hi = i + elementSize - 1
            while lo < hi { b.swapAt(lo, hi); lo += 1; hi -= 1 }
            i += elementSize
        }
    }

    static func transposeFortranToC(_ b: UnsafeMutableRawBufferPointer, shape: [Int], elementSize: Int) {
        let n = shape.reduce(1, *)
        guard n > 1 else { return }
        let copy = [UInt8](b)
        // Fortran strides (in elements): s[0] = 1, s[k] = s[k-1]*shape[k-1]
        var fstride = [Int](repeating: 1, count: shape.count)
        for k in 1..<shape.count { fstride[k] = fstride[k - 1] * shape[k - 1] }
        var idx = [Int](repeating: 0, count: shape.count)
        for c in 0..<n {
            var f = 0
            for k in 0..<shape.count { f += idx[k] * fstride[k] }
            for e in 0..<elementSize { b[c * elementSize + e] = copy[f * elementSize + e] }
            var k = shape.count - 1
            while k >= 0 { idx[k] += 1; if idx[k] < shape[k] { break }; idx[k] = 0; k -= 1 }
        }
    }
}
