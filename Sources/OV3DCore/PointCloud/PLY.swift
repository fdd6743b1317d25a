/// PLY (Stanford polygon file) reading and writing: ascii, binary_little_endian and
/// binary_big_endian; vertex x y z plus normals (nx ny nz), colours (red green blue [alpha]),
/// intensity, label and score; faces from `vertex_indices` / `vertex_index` lists.
///
/// The reader is hardened: the header is bounded (64 KiB, 64 elements, 256 properties each),
/// element counts are checked against the bytes present before allocating, list lengths are
/// bounded, and face indices are range-checked.
public enum PLY {
    static let maxHeader = 1 << 16

    struct Property {
        var name: Substring
        var type: ScalarType
        var listCount: ScalarType?
    }

    struct Element {
        var name: Substring
        var count: Int
        var properties: [Property] = []
    }

    enum Encoding { case ascii, le, be }

    /// Where a vertex property goes.
    enum Slot { case pos(Int), normal(Int), color(Int), intensity, label, score, skip }

    static func slot(_ name: Substring) -> Slot {
        switch name {
        case "x": return .pos(0)
        case "y": return .pos(1)
        case "z": return .pos(2)
        case "nx", "normal_x": return .normal(0)
        case "ny", "normal_y": return .normal(1)
        case "nz", "normal_z": return .normal(2)
        case "red", "r", "diffuse_red": return .color(0)
        case "green", "g", "diffuse_green": return .color(1)
        case "blue", "b", "diffuse_blue": return .color(2)
        case "intensity", "scalar_intensity", "remission": return .intensity
        case "label", "scalar_label": return .label
        case "score", "scalar_score", "confidence": return .score
        default: return .skip
        }
    }

    static func parseHeader(_ cur: inout ByteCursor) throws -> (Encoding, [Element]) {
        guard let magic = try cur.line(maxLength: 16), magic == "ply" else { throw OV3DError.format("ply: missing 'ply' magic") }
        var encoding: Encoding?
        var elements: [Element] = []
        while true {
            try requireFormat(cur.offset <= maxHeader, "ply: header longer than \(maxHeader) bytes")
            guard let line = try cur.line(maxLength: 4096) else { throw OV3DError.format("ply: header has no end_header") }
            let t = asciiTokens(line)
            guard let key = t.first else { continue }
            switch key {
            case "format":
                try requireFormat(t.count == 3, "ply: bad format line '\(line)'")
                try requireFormat(t[2] == "1.0", "ply: unsupported version \(t[2])")
                switch t[1] {
                case "ascii": encoding = .ascii
                case "binary_little_endian": encoding = .le
                case "binary_big_endian": encoding = .be
                default: throw OV3DError.format("ply: unknown format '\(t[1])'")
                }
            case "comment", "obj_info": continue
            case "element":
                try requireFormat(t.count == 3, "ply: bad element line '\(line)'")
                guard let n = Int(t[2]), n >= 0, n <= Int(Int32.max) else {
                    throw OV3DError.format("ply: bad element count '\(t[2])'")
                }
                try requireFormat(elements.count < 64, "ply: more than 64 elements")
                elements.append(Element(name: t[1], count: n))
            case "property":
                try requireFormat(!elements.isEmpty, "ply: property before any element")
                try requireFormat(elements[elements.count - 1].properties.count < 256, "ply: more than 256 properties")
                if t.count == 5 && t[1] == "list" {
                    guard let ct = ScalarType(ply: t[2]), !ct.isFloat, let it = ScalarType(ply: t[3]) else {
                        throw OV3DError.format("ply: bad list property '\(line)'")
                    }
                    elements[elements.count - 1].properties.append(Property(name: t[4], type: it, listCount: ct))
                } else {
                    try requireFormat(t.count == 3, "ply: bad property line '\(line)'")
                    guard let ty = ScalarType(ply: t[1]) else { throw OV3DError.format("ply: unknown type '\(t[1])'") }
                    elements[elements.count - 1].properties.append(Property(name: t[2], type: ty, listCount: nil))
                }
            case "end_header":
                guard let encoding else { throw OV3DError.format("ply: no format line") }
                return (encoding, elements)
            default:
                throw OV3DError.format("ply: unknown header keyword '\(key)'")
            }
        }
    }

    /// Decodes a PLY file.
    public static func decode(_ b: UnsafeRawBufferPointer) throws -> LoadedCloud {
        var cur = ByteCursor(b, what: "ply")
        let (enc, elements) = try parseHeader(&cur)
        guard let vi = elements.firstIndex(where: { $0.name == "vertex" }) else {
            throw OV3DError.format("ply: no vertex element")
        }
        let vEl = elements[vi]
        let slots = vEl.properties.map { $0.listCount == nil ? slot($0.name) : .skip }
        var has = (pos: [false, false, false], normal: [false, false, false], color: [false, false, false],
                   intensity: false, label: false, score: false)
        for s in slots {
            switch s {
            case .pos(let k): has.pos[k] = true
            case .normal(let k): has.normal[k] = true
            case .color(let k): has.color[k] = true
            case .intensity: has.intensity = true
            case .label: has.label = true
            case .score: has.score = true
            case .skip: break
            }
        }
        try requireFormat(has.pos == [true, true, true], "ply: vertex element lacks x, y or z")
        let fields = vEl.properties.map { String($0.name) }
        // Lower bound on bytes per element record, to bound counts before allocating.
        func minRecordBytes(_ e: Element) -> Int {
            if enc == .ascii { return e.properties.isEmpty ? 0 : 2 * e.properties.count }
            return e.properties.reduce(0) { $0 + ($1.listCount?.size ?? $1.type.size) }
        }
        var total = 0
        for e in elements {
            let m = try CheckedSize.product(e.count, minRecordBytes(e), "ply: element '\(e.name)' of \(e.count) records")
            total = try CheckedSize.sum(total, m, "ply: elements' bytes")
            try requireFormat(total <= cur.remaining + (enc == .ascii ? e.count : 0),
                              "ply: element '\(e.name)' declares \(e.count) records but the file is too short")
        }
        let n = vEl.count
        var cloud = PointCloud()
        cloud.positions = [Float](repeating: 0, count: 3 * n)
        let hasNormals = has.normal == [true, true, true]
        let hasColors = has.color == [true, true, true]
        if hasNormals { cloud.normals = [Float](repeating: 0, count: 3 * n) }
        if hasColors { cloud.colors = [UInt8](repeating: 0, count: 3 * n) }
        if has.intensity { cloud.intensity = [Float](repeating: 0, count: n) }
        if has.label { cloud.labels = [Int32](repeating: 0, count: n) }
        if has.score { cloud.scores = [Float](repeating: 0, count: n) }
        var faces: [Int32] = []
        let big = enc == .be

        for (ei, e) in elements.enumerated() {
            let isVertex = ei == vi
            let faceProp = (e.name == "face") ? e.properties.firstIndex(where: {
                $0.listCount != nil && ($0.name == "vertex_indices" || $0.name == "vertex_index")
            }) : nil
            if faceProp != nil { faces.reserveCapacity(min(e.count, 1 << 24) * 3) }
            var tokens: [Substring] = []
            var tk = 0
            func next(_ type: ScalarType) throws -> Double {
                if enc != .ascii { return try cur.scalar(type, bigEndian: big) }
                while tk >= tokens.count {
                    guard let l = try cur.line() else { throw OV3DError.format("ply: ascii data ends early in element '\(e.name)'") }
                    tokens = asciiTokens(l)
                    tk = 0
                }
                let t = tokens[tk]
                tk += 1
                guard let v = type.parse(t) else { throw OV3DError.format("ply: bad \(type) value '\(t)' in element '\(e.name)'") }
                return v
            }
            var poly: [Int32] = []
            if e.properties.isEmpty { continue }
            // Binary fast paths: fixed-size records (vertices), and triangle lists of 32-bit indices.
            if enc != .ascii && e.properties.allSatisfy({ $0.listCount == nil }) {
                let rec = e.properties.reduce(0) { $0 + $1.type.size }
                let tot = try CheckedSize.product(e.count, rec, "ply: element '\(e.name)' of \(e.count) records")
                try cur.need(tot)
                if isVertex {
                    var offsets: [Int] = [], acc = 0
                    for p in e.properties { offsets.append(acc); acc += p.type.size }
                    let used = (0..<e.properties.count).filter { if case .skip = slots[$0] { return false } else { return true } }
                    let base = b.baseAddress! + cur.offset
                    for r in 0..<e.count {
                        let rp = base + r * rec
                        for pi in used {
                            let p = e.properties[pi]
                            let v = p.type.load(rp + offsets[pi], bigEndian: big)
                            switch slots[pi] {
                            case .pos(let k): cloud.positions[3 * r + k] = Float(v)
                            case .normal(let k): if hasNormals { cloud.normals[3 * r + k] = Float(v) }
                            case .color(let k): if hasColors { cloud.colors[3 * r + k] = colorByte(v, p.type) }
                            case .intensity: cloud.intensity[r] = Float(v)
                            case .label: cloud.labels[r] = clampInt32(v)
                            case .score: cloud.scores[r] = Float(v)
                            case .skip: break
                            }
                        }
                    }
                }
                cur.offset += tot
                continue
            }
            if enc != .ascii, let fp = faceProp, e.properties.count == 1, let ct = e.properties[fp].listCount,
               e.properties[fp].type.size == 4 {
                let signed = e.properties[fp].type == .int32
                let n32 = UInt32(n)
                for r in 0..<e.count {
                    let len = try cur.scalar(ct, bigEndian: big)
                    try requireFormat(len >= 3 && len <= 65536, "ply: face \(r) has \(len) vertices")
                    let m = Int(len)
                    try cur.need(4 * m)
                    poly.removeAll(keepingCapacity: true)
                    for j in 0..<m {
                        var u = b.loadUnaligned(fromByteOffset: cur.offset + 4 * j, as: UInt32.self)
                        u = big ? UInt32(bigEndian: u) : UInt32(littleEndian: u)
                        // Negative int32 indices become huge as UInt32 and fail the range check.
                        try requireFormat(u < n32, "ply: face \(r) refers to vertex \(signed ? Int64(Int32(bitPattern: u)) : Int64(u)) (of \(n))")
                        poly.append(Int32(bitPattern: u))
                    }
                    cur.offset += 4 * m
                    for k in 1..<(m - 1) { faces.append(poly[0]); faces.append(poly[k]); faces.append(poly[k + 1]) }
                }
                continue
            }
            for r in 0..<e.count {
                for (pi, p) in e.properties.enumerated() {
                    if let ct = p.listCount {
                        let len = try next(ct)
                        try requireFormat(len >= 0 && len <= 65536, "ply: list length \(len) in element '\(e.name)'")
                        let m = Int(len)
                        if enc != .ascii { try cur.need(m * p.type.size) }
                        if pi == faceProp {
                            poly.removeAll(keepingCapacity: true)
                            for _ in 0..<m {
                                let v = try next(p.type)
                                try requireFormat(v >= 0 && v < Double(n), "ply: face \(r) refers to vertex \(v) (of \(n))")
                                poly.append(Int32(v))
                            }
                            try requireFormat(m >= 3, "ply: face \(r) has \(m) vertices")
                            for k in 1..<(m - 1) { faces.append(poly[0]); faces.append(poly[k]); faces.append(poly[k + 1]) }
                        } else {
                            if enc == .ascii { for _ in 0..<m { _ = try next(p.type) } } else { try cur.skip(m * p.type.size) }
                        }
                        continue
                    }
                    let v = try next(p.type)
                    guard isVertex else { continue }
                    switch slots[pi] {
                    case .pos(let k): cloud.positions[3 * r + k] = Float(v)
                    case .normal(let k): if hasNormals { cloud.normals[3 * r + k] = Float(v) }
                    case .color(let k): if hasColors { cloud.colors[3 * r + k] = colorByte(v, p.type) }
                    case .intensity: cloud.intensity[r] = Float(v)
                    case .label: cloud.labels[r] = clampInt32(v)
                    case .score: cloud.scores[r] = Float(v)
                    case .skip: break
                    }
                }
                if enc == .ascii && tk < tokens.count {
                    throw OV3DError.format("ply: extra values on line of element '\(e.name)' record \(r)")
                }
                if enc == .ascii { tokens = []; tk = 0 }
            }
        }
        let fmt: CloudFormat = enc == .ascii ? .plyASCII : (enc == .le ? .plyBinaryLE : .plyBinaryBE)
        return LoadedCloud(cloud: cloud, faces: faces, fields: fields, format: fmt)
    }

    /// Encodes a cloud (and optional triangles) as PLY in the given encoding. `comments` become
    /// header `comment` lines (one line each; newlines are replaced by spaces).
    public static func encode(_ c: PointCloud, faces: [Int32] = [], format: CloudFormat, comments: [String] = []) throws -> [UInt8] {
        let enc: Encoding
        switch format {
        case .plyASCII: enc = .ascii
        case .plyBinaryLE: enc = .le
        case .plyBinaryBE: enc = .be
        default: throw OV3DError.invalidArgument("PLY.encode: \(format.rawValue) is not a PLY encoding")
        }
        let n = c.count
        for f in faces { try require(f >= 0 && Int(f) < n, "face index \(f) out of range (\(n) vertices)") }
        var h = "ply\nformat \(enc == .ascii ? "ascii" : (enc == .le ? "binary_little_endian" : "binary_big_endian")) 1.0\n"
        h += "comment written by ov3d\n"
        for line in comments {
            h += "comment " + String(line.map { $0 == "\n" || $0 == "\r" ? " " : $0 }) + "\n"
        }
        h += "element vertex \(n)\nproperty float x\nproperty float y\nproperty float z\n"
        if c.hasNormals { h += "property float nx\nproperty float ny\nproperty float nz\n" }
        if c.hasColors { h += "property uchar red\nproperty uchar green\nproperty uchar blue\n" }
        if !c.intensity.isEmpty { h += "property float intensity\n" }
        if !c.labels.isEmpty { h += "property int label\n" }
        if !c.scores.isEmpty { h += "property float score\n" }
        if !faces.isEmpty { h += "element face \(faces.count / 3)\nproperty list uchar int vertex_indices\n" }
        h += "end_header\n"
        var out = Array(h.utf8)
        if enc == .ascii {
            var line = ""
            for i in 0..<n {
                line = "\(c.positions[3 * i]) \(c.positions[3 * i + 1]) \(c.positions[3 * i + 2])"
                if c.hasNormals { line += " \(c.normals[3 * i]) \(c.normals[3 * i + 1]) \(c.normals[3 * i + 2])" }
                if c.hasColors { line += " \(c.colors[3 * i]) \(c.colors[3 * i + 1]) \(c.colors[3 * i + 2])" }
                if !c.intensity.isEmpty { line += " \(c.intensity[i])" }
                if !c.labels.isEmpty { line += " \(c.labels[i])" }
                if !c.scores.isEmpty { line += " \(c.scores[i])" }
                line += "\n"
                out += line.utf8
            }
            for t in stride(from: 0, to: faces.count, by: 3) {
                out += "3 \(faces[t]) \(faces[t + 1]) \(faces[t + 2])\n".utf8
            }
            return out
        }
        let big = enc == .be
        var perPoint = 12
        if c.hasNormals { perPoint += 12 }
        if c.hasColors { perPoint += 3 }
        if !c.intensity.isEmpty { perPoint += 4 }
        if !c.labels.isEmpty { perPoint += 4 }
        if !c.scores.isEmpty { perPoint += 4 }
        out.reserveCapacity(out.count + n * perPoint + faces.count / 3 * 13)
        @inline(__always) func put32(_ v: UInt32) {
            let x = big ? v.bigEndian : v.littleEndian
            withUnsafeBytes(of: x) { out += $0 }
        }
        for i in 0..<n {
            for k in 0..<3 { put32(c.positions[3 * i + k].bitPattern) }
            if c.hasNormals { for k in 0..<3 { put32(c.normals[3 * i + k].bitPattern) } }
            if c.hasColors { out += c.colors[(3 * i)..<(3 * i + 3)] }
            if !c.intensity.isEmpty { put32(c.intensity[i].bitPattern) }
            if !c.labels.isEmpty { put32(UInt32(bitPattern: c.labels[i])) }
            if !c.scores.isEmpty { put32(c.scores[i].bitPattern) }
        }
        for t in stride(from: 0, to: faces.count, by: 3) {
            out.append(3)
            for k in 0..<3 { put32(UInt32(bitPattern: faces[t + k])) }
        }
        return out
    }
}
