#if canImport(Glibc)
import Glibc
#endif

/// PCD (PCL's point cloud format, v0.7), natively: reading and writing ascii, binary and
/// binary_compressed (LZF). Files written are byte-compatible with `pcl::PCDWriter`'s (see `encode`).
///
/// Fields read: x y z, rgb / rgba (packed, bytes b g r a), normal_x normal_y normal_z, intensity,
/// label, score. Other fields (curvature, padding `_`, multi-count fields) are skipped.
/// Organized clouds (HEIGHT > 1) keep width × height. The reader is hardened: header bounded to
/// 64 KiB, at most 256 fields, every size checked against the bytes present.
public enum PCD {
    struct Field {
        var name: Substring
        var type: ScalarType
        var count: Int
        var offset: Int  // within a point record
    }

    enum Data { case ascii, binary, compressed }

    /// Decodes a PCD file.
    public static func decode(_ b: UnsafeRawBufferPointer) throws -> LoadedCloud {
        var cur = ByteCursor(b, what: "pcd")
        var names: [Substring] = [], sizes: [Int] = [], types: [Substring] = [], counts: [Int] = []
        var width = -1, height = -1, points = -1
        var data: Data?
        while data == nil {
            try requireFormat(cur.offset <= 1 << 16, "pcd: header longer than 64 KiB")
            guard let line = try cur.line(maxLength: 1 << 16) else { throw OV3DError.format("pcd: header has no DATA line") }
            let t = asciiTokens(line)
            guard let key = t.first, !key.hasPrefix("#") else { continue }
            let rest = t.dropFirst()
            func ints() throws -> [Int] {
                try rest.map { s in
                    guard let v = Int(s), v >= 0 else { throw OV3DError.format("pcd: bad number '\(s)' in \(key)") }
                    return v
                }
            }
            func one() throws -> Int {
                let v = try ints()
                try requireFormat(v.count == 1 && v[0] <= Int(Int32.max), "pcd: bad \(key) line")
                return v[0]
            }
            switch key {
            case "VERSION", "VIEWPOINT": continue
            case "FIELDS", "COLUMNS":
                try requireFormat(rest.count >= 1 && rest.count <= 256, "pcd: \(rest.count) fields")
                names = Array(rest)
            case "SIZE": sizes = try ints()
            case "TYPE": types = Array(rest)
            case "COUNT": counts = try ints()
            case "WIDTH": width = try one()
            case "HEIGHT": height = try one()
            case "POINTS": points = try one()
            case "DATA":
                try requireFormat(rest.count == 1, "pcd: bad DATA line")
                switch rest.first! {
                case "ascii": data = .ascii
                case "binary": data = .binary
                case "binary_compressed": data = .compressed
                default: throw OV3DError.format("pcd: unknown DATA '\(rest.first!)'")
                }
            default: throw OV3DError.format("pcd: unknown header keyword '\(key)'")
            }
        }
        try requireFormat(!names.isEmpty, "pcd: no FIELDS")
        if counts.isEmpty { counts = [Int](repeating: 1, count: names.count) }
        try requireFormat(sizes.count == names.count && types.count == names.count && counts.count == names.count,
                          "pcd: FIELDS, SIZE, TYPE and COUNT have different lengths")
        if width < 0 && points >= 0 { width = points }
        if height < 0 { height = 1 }
        try requireFormat(width >= 0, "pcd: no WIDTH")
        let n = try CheckedSize.product(width, height, cap: Int(Int32.max), "pcd: WIDTH × HEIGHT")
        try requireFormat(points < 0 || points == n, "pcd: POINTS \(points) != WIDTH × HEIGHT \(n)")
        var fields: [Field] = []
        var step = 0
        for i in 0..<names.count {
            guard let ty = ScalarType(pcdType: types[i], size: sizes[i]) else {
                throw OV3DError.format("pcd: unsupported TYPE \(types[i]) SIZE \(sizes[i]) for field \(names[i])")
            }
            try requireFormat(counts[i] >= 1 && counts[i] <= 4096, "pcd: COUNT \(counts[i]) for field \(names[i])")
            fields.append(Field(name: names[i], type: ty, count: counts[i], offset: step))
            step += sizes[i] * counts[i]
        }
        func find(_ name: Substring) -> Int? { fields.firstIndex { $0.name == name && $0.count == 1 } }
        guard let fx = find("x"), let fy = find("y"), let fz = find("z") else {
            throw OV3DError.format("pcd: no x y z fields")
        }
        let fc = find("rgb") ?? find("rgba")
        if let fc { try requireFormat(fields[fc].type.size == 4, "pcd: rgb field must have SIZE 4") }
        let hasN = find("normal_x") != nil && find("normal_y") != nil && find("normal_z") != nil
        // Normals only when all three components exist.
        let fnx = hasN ? find("normal_x") : nil, fny = hasN ? find("normal_y") : nil, fnz = hasN ? find("normal_z") : nil
        let fi = find("intensity"), fl = find("label"), fs = find("score")

        var cloud = PointCloud()
        cloud.positions = [Float](repeating: 0, count: 0)
        // Bound n by the bytes present before allocating.
        switch data! {
        case .ascii: try requireFormat(n <= cur.remaining / 2 + 1, "pcd: \(n) points declared but the file is too short")
        case .binary:
            try cur.need(try CheckedSize.product(n, step, "pcd: binary data of \(n) points × \(step) bytes"))
        case .compressed:
            // The 8-byte size header first: the declared sizes must agree with the points and
            // fit the compressed bytes present (LZF expands at most ~88×) before anything is allocated.
            try cur.need(8)
            let csize = Int(b.loadUnaligned(fromByteOffset: cur.offset, as: UInt32.self).littleEndian)
            let usize = Int(b.loadUnaligned(fromByteOffset: cur.offset + 4, as: UInt32.self).littleEndian)
            let need = try CheckedSize.product(n, step, "pcd: binary_compressed data of \(n) points × \(step) bytes")
            try requireFormat(usize == need, "pcd: binary_compressed holds \(usize) bytes, expected \(need) for \(n) points of \(step) bytes")
            try requireFormat(csize <= cur.remaining - 8, "pcd: binary_compressed declares \(csize) compressed bytes, \(cur.remaining - 8) present")
            try requireFormat(usize <= 96 * csize + 64, "pcd: binary_compressed declares \(usize) bytes from \(csize) compressed")
        }
        cloud.positions = [Float](repeating: 0, count: 3 * n)
        if fc != nil { cloud.colors = [UInt8](repeating: 0, count: 3 * n) }
        if hasN { cloud.normals = [Float](repeating: 0, count: 3 * n) }
        if fi != nil { cloud.intensity = [Float](repeating: 0, count: n) }
        if fl != nil { cloud.labels = [Int32](repeating: 0, count: n) }
        if fs != nil { cloud.scores = [Float](repeating: 0, count: n) }

        // Stores field f's value (as raw little-endian bytes at p) for point i.
        @inline(__always) func store(_ i: Int, _ f: Int, _ p: UnsafeRawPointer) {
            let fd = fields[f]
            if f == fc {
                cloud.colors[3 * i] = p.load(fromByteOffset: 2, as: UInt8.self)
                cloud.colors[3 * i + 1] = p.load(fromByteOffset: 1, as: UInt8.self)
                cloud.colors[3 * i + 2] = p.load(as: UInt8.self)
                return
            }
            if f == fl && (fd.type == .uint32 || fd.type == .int32) {
                cloud.labels[i] = Int32(bitPattern: p.loadUnaligned(as: UInt32.self))
                return
            }
            assign(i, f, fd.type.load(p, bigEndian: false))
        }
        @inline(__always) func assign(_ i: Int, _ f: Int, _ v: Double) {
            switch f {
            case fx: cloud.positions[3 * i] = Float(v)
            case fy: cloud.positions[3 * i + 1] = Float(v)
            case fz: cloud.positions[3 * i + 2] = Float(v)
            case fnx: cloud.normals[3 * i] = Float(v)
            case fny: cloud.normals[3 * i + 1] = Float(v)
            case fnz: cloud.normals[3 * i + 2] = Float(v)
            case fi: cloud.intensity[i] = Float(v)
            case fl: cloud.labels[i] = clampInt32(v)
            case fs: cloud.scores[i] = Float(v)
            default: break
            }
        }
        let wanted = (0..<fields.count).filter { [fx, fy, fz, fc, fnx, fny, fnz, fi, fl, fs].contains($0) }
        switch data! {
        case .binary:
            let base = b.baseAddress! + cur.offset
            for i in 0..<n {
                for f in wanted { store(i, f, base + i * step + fields[f].offset) }
            }
        case .compressed:
            try cur.need(8)
            let csize = Int(b.loadUnaligned(fromByteOffset: cur.offset, as: UInt32.self).littleEndian)
            let usize = Int(b.loadUnaligned(fromByteOffset: cur.offset + 4, as: UInt32.self).littleEndian)
            try cur.skip(8)
            try cur.need(csize)  // (sizes checked above, before allocating)
            let raw = try LZF.decompress(UnsafeRawBufferPointer(rebasing: b[cur.offset..<(cur.offset + csize)]), outputSize: usize)
            raw.withUnsafeBytes { r in
                // Structure of arrays: each field's values for all points, one field after the other.
                var fieldStart = [Int](repeating: 0, count: fields.count)
                var acc = 0
                for (k, f) in fields.enumerated() { fieldStart[k] = acc; acc += n * f.type.size * f.count }
                for f in wanted {
                    let s = fields[f].type.size
                    for i in 0..<n { store(i, f, r.baseAddress! + fieldStart[f] + i * s) }
                }
            }
        case .ascii:
            let totalCols = fields.reduce(0) { $0 + $1.count }
            for i in 0..<n {
                guard let line = try cur.line() else { throw OV3DError.format("pcd: ascii data ends at point \(i) of \(n)") }
                let t = asciiTokens(line)
                try requireFormat(t.count == totalCols, "pcd: point \(i) has \(t.count) values, expected \(totalCols)")
                var col = 0
                for (k, f) in fields.enumerated() {
                    defer { col += f.count }
                    guard wanted.contains(k) else { continue }
                    let tok = t[col]
                    if k == fc {
                        // PCL writes packed colours as an unsigned integer in ascii files.
                        var bits: UInt32
                        if let u = UInt32(tok) { bits = u } else if let fv = Float(tok) { bits = fv.bitPattern } else {
                            throw OV3DError.format("pcd: bad rgb value '\(tok)' at point \(i)")
                        }
                        withUnsafeBytes(of: &bits) { store(i, k, $0.baseAddress!) }
                        continue
                    }
                    if k == fl, let u = Int64(tok), u >= Int64(Int32.min), u <= Int64(UInt32.max) {
                        cloud.labels[i] = Int32(truncatingIfNeeded: u)
                        continue
                    }
                    guard let v = f.type.parse(tok) else { throw OV3DError.format("pcd: bad \(f.name) value '\(tok)' at point \(i)") }
                    assign(i, k, v)
                }
            }
        }
        if height > 1 { cloud.width = width; cloud.height = height }
        let fmt: CloudFormat = data! == .ascii ? .pcdASCII : (data! == .binary ? .pcdBinary : .pcdBinaryCompressed)
        return LoadedCloud(cloud: cloud, fields: names.map(String.init), format: fmt)
    }

    /// The fields written for a cloud, in file order: x y z always; rgb (packed bytes b g r 0 in a
    /// float, PCL's convention), normal_x normal_y normal_z, intensity, label (uint32 holding the
    /// int32 bits) and score when present. Every field is 4 bytes, so no padding fields.
    enum OutField {
        case position(Int), rgb, normal(Int), intensity, label, score

        var name: String {
            switch self {
            case .position(let k): return ["x", "y", "z"][k]
            case .rgb: return "rgb"
            case .normal(let k): return ["normal_x", "normal_y", "normal_z"][k]
            case .intensity: return "intensity"
            case .label: return "label"
            case .score: return "score"
            }
        }

        /// The field's 4 bytes for point i, as a little-endian word.
        @inline(__always) func bits(_ c: PointCloud, _ i: Int) -> UInt32 {
            switch self {
            case .position(let k): return c.positions[3 * i + k].bitPattern
            case .rgb: return UInt32(c.colors[3 * i + 2]) | UInt32(c.colors[3 * i + 1]) << 8 | UInt32(c.colors[3 * i]) << 16
            case .normal(let k): return c.normals[3 * i + k].bitPattern
            case .intensity: return c.intensity[i].bitPattern
            case .label: return UInt32(bitPattern: c.labels[i])
            case .score: return c.scores[i].bitPattern
            }
        }

        var isUnsigned: Bool { if case .label = self { return true } else { return false } }
    }

    static func outFields(_ c: PointCloud) -> [OutField] {
        var f: [OutField] = [.position(0), .position(1), .position(2)]
        if c.hasColors { f.append(.rgb) }
        if c.hasNormals { f += [.normal(0), .normal(1), .normal(2)] }
        if !c.intensity.isEmpty { f.append(.intensity) }
        if !c.labels.isEmpty { f.append(.label) }
        if !c.scores.isEmpty { f.append(.score) }
        return f
    }

    /// Digits of floats in `DATA ascii` (9 significant digits: every float round-trips exactly).
    public static let asciiPrecision = 9

    /// Encodes a cloud as PCD v0.7, natively, in exactly the bytes `pcl::PCDWriter` (PCL 1.13)
    /// writes for the same fields: the same header (`VIEWPOINT 0 0 0 1 0 0 0`; in ascii the rgb
    /// field is typed `U` and written as an unsigned integer), ascii values as C++ streams print
    /// them with precision `asciiPrecision` (`%.9g`, `nan`), binary records as they are in
    /// memory, binary_compressed as one LZF block of the fields laid out one after the other.
    /// PCL pads its binary files with zeros to a page; these files end where the data ends.
    /// Only the LZF stream differs from PCL's (another valid compression of the same bytes).
    /// Organized clouds (width × height == count) keep their organization.
    public static func encode(_ c: PointCloud, format: CloudFormat) throws -> [UInt8] {
        let data: Data
        switch format {
        case .pcdASCII: data = .ascii
        case .pcdBinary: data = .binary
        case .pcdBinaryCompressed: data = .compressed
        default: throw OV3DError.invalidArgument("PCD.encode: \(format.rawValue) is not a PCD encoding")
        }
        try c.validate()
        let n = c.count
        try require(n > 0 && n <= Int(Int32.max), "PCD.encode: \(n) points (need 1...2^31-1)")
        let organized = c.width > 0 && c.height > 0 && c.width * c.height == n
        let w = organized ? c.width : n, h = organized ? c.height : 1
        let fields = outFields(c)
        let step = 4 * fields.count
        if data == .compressed {
            // PCL's own limit: both sizes are stored as uint32 and PCL allots 1.5× for the output.
            try require(n * step <= Int(UInt32.max) / 3 * 2, "PCD.encode: \(n) points are too many for binary_compressed")
        }
        var header = "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS"
        for f in fields { header += " " + f.name }
        header += "\nSIZE" + String(repeating: " 4", count: fields.count) + "\nTYPE"
        for f in fields {
            let unsigned = f.isUnsigned || (data == .ascii && f.name == "rgb")
            header += unsigned ? " U" : " F"
        }
        header += "\nCOUNT" + String(repeating: " 1", count: fields.count)
        header += "\nWIDTH \(w)\nHEIGHT \(h)\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS \(n)\n"
        switch data {
        case .ascii: header += "DATA ascii\n"
        case .binary: header += "DATA binary\n"
        case .compressed: header += "DATA binary_compressed\n"
        }
        var out = Array(header.utf8)
        switch data {
        case .binary:
            let base = out.count
            out += repeatElement(0, count: n * step)
            out.withUnsafeMutableBytes { o in
                var at = base
                for i in 0..<n {
                    for f in fields { o.storeBytes(of: f.bits(c, i).littleEndian, toByteOffset: at, as: UInt32.self); at += 4 }
                }
            }
        case .compressed:
            // Structure of arrays: each field's values for all points, one field after the other.
            var planes = [UInt8](repeating: 0, count: n * step)
            planes.withUnsafeMutableBytes { o in
                for (k, f) in fields.enumerated() {
                    let at = 4 * n * k
                    for i in 0..<n { o.storeBytes(of: f.bits(c, i).littleEndian, toByteOffset: at + 4 * i, as: UInt32.self) }
                }
            }
            let packed = planes.withUnsafeBytes { LZF.compress($0) }
            withUnsafeBytes(of: UInt32(packed.count).littleEndian) { out += $0 }
            withUnsafeBytes(of: UInt32(planes.count).littleEndian) { out += $0 }
            out += packed
        case .ascii:
            var line: [UInt8] = []
            var digits = [CChar](repeating: 0, count: 48)
            for i in 0..<n {
                line.removeAll(keepingCapacity: true)
                for (k, f) in fields.enumerated() {
                    if k > 0 { line.append(0x20) }
                    let b = f.bits(c, i)
                    if f.isUnsigned || f.name == "rgb" {
                        line += String(b).utf8
                    } else {
                        appendStreamFloat(Float(bitPattern: b), &line, &digits)
                    }
                }
                line.append(0x0A)
                out += line
            }
        }
        return out
    }

    /// Appends a float as `std::ostream << float` prints it at precision `asciiPrecision` in the
    /// classic locale (`%.9g`; PCL writes NaN as `nan`).
    static func appendStreamFloat(_ v: Float, _ out: inout [UInt8], _ buf: inout [CChar]) {
        if v.isNaN { out += "nan".utf8; return }
        let len = buf.withUnsafeMutableBufferPointer { b in
            withVaList([Double(v)]) { vsnprintf(b.baseAddress!, b.count, "%.9g", $0) }
        }
        buf.withUnsafeBufferPointer { b in
            for k in 0..<Int(max(0, min(len, Int32(b.count - 1)))) { out.append(UInt8(bitPattern: b[k])) }
        }
    }
}
