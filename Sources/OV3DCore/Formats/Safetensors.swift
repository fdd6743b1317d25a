/// safetensors files: an 8-byte little-endian header length, a JSON header mapping names to
/// `{dtype, shape, data_offsets}` (plus an optional `__metadata__` of strings), then the data.
///
/// Reading maps the file and validates every entry (dtype, shape × size = extent, offsets inside
/// the data section, no overlaps); tensors share the mapping. Writing emits entries in the
/// state dict's order, 8-byte aligned header as the reference implementation does.
///
/// Metadata follows ov3d's conventions (`ModelMetadata`: `ov3d.format_version`, `ov3d.architecture`,
/// `ov3d.heads`, `ov3d.label_set`, `ov3d.voxel_size`): malformed `ov3d.*` values are rejected on
/// read and on write; writing always records `ov3d.format_version`. Other metadata passes through.
public enum Safetensors {
    static let maxHeader = 100 << 20
    static let maxTensors = 1 << 20
    static let maxNameBytes = 4096
    static let maxRank = 32

    /// True if the first bytes look like a safetensors header (length + '{').
    public static func sniff(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= 9 else { return false }
        let n = b.loadUnaligned(as: UInt64.self).littleEndian
        return n > 1 && n <= UInt64(maxHeader) && b[8] == UInt8(ascii: "{")
    }

    public static func read(path: String) throws -> StateDict {
        let storage = try FileIO.map(path)
        do { return try decode(storage) } catch let e as OV3DError { throw e.context(path) }
    }

    /// Decodes a whole file held in `storage`; tensors reference `storage`.
    public static func decode(_ storage: ByteStorage) throws -> StateDict {
        let b = storage.bytes
        try requireFormat(b.count >= 8, "safetensors: file shorter than its 8-byte header length")
        let n64 = b.loadUnaligned(as: UInt64.self).littleEndian
        let n = try CheckedSize.int(n64, cap: maxHeader, "safetensors: header length")
        try requireFormat(8 + n <= b.count, "safetensors: header length \(n) runs past the end of the file (\(b.count) bytes)")
        let header = try JSON.parse(bytes: UnsafeRawBufferPointer(rebasing: b[8..<(8 + n)]))
        guard let entries = header.objectValue else { throw OV3DError.format("safetensors: header is not a JSON object") }
        let dataStart = 8 + n
        let dataSize = b.count - dataStart
        var sd = StateDict()
        var ranges: [(Int, Int, String)] = []
        try requireFormat(entries.count <= maxTensors + 1, "safetensors: \(entries.count) entries exceed the limit of \(maxTensors)")
        for (name, v) in entries {
            if name == "__metadata__" {
                guard let m = v.objectValue else { throw OV3DError.format("safetensors: __metadata__ is not an object") }
                for (k, mv) in m {
                    guard let s = mv.stringValue else { throw OV3DError.format("safetensors: metadata '\(k)' is not a string") }
                    sd.metadata.append((k, s))
                }
                continue
            }
            guard let dt = v["dtype"]?.stringValue, let dtype = DType(safetensorsName: dt) else {
                throw OV3DError.format("safetensors: tensor '\(name)' has a missing or unknown dtype")
            }
            try requireFormat(!name.isEmpty && name.utf8.count <= maxNameBytes, "safetensors: tensor name is empty or longer than \(maxNameBytes) bytes")
            guard let sh = v["shape"]?.arrayValue, sh.count <= maxRank else { throw OV3DError.format("safetensors: tensor '\(name)' has no shape") }
            var shape: [Int] = []
            for d in sh {
                guard let x = d.intValue, x >= 0 else { throw OV3DError.format("safetensors: tensor '\(name)' has an invalid dimension") }
                shape.append(x)
            }
            guard let offs = v["data_offsets"]?.arrayValue, offs.count == 2, let lo = offs[0].intValue, let hi = offs[1].intValue,
                  lo >= 0, hi >= lo, hi <= dataSize else {
                throw OV3DError.format("safetensors: tensor '\(name)' has invalid data_offsets (data section is \(dataSize) bytes)")
            }
            let count = try CheckedSize.product(shape, "safetensors: tensor '\(name)' shape \(shape)")
            try requireFormat(try CheckedSize.product(count, dtype.size, "safetensors: tensor '\(name)' bytes") == hi - lo,
                              "safetensors: tensor '\(name)' declares shape \(shape) of \(dtype.rawValue) but spans \(hi - lo) bytes")
            ranges.append((lo, hi, name))
            sd.set(name, try Tensor(dtype: dtype, shape: shape, storage: storage, byteOffset: dataStart + lo))
        }
        ranges.sort { $0.0 < $1.0 }
        for i in ranges.indices.dropFirst() where ranges[i].0 < ranges[i - 1].1 {
            throw OV3DError.format("safetensors: tensors '\(ranges[i - 1].2)' and '\(ranges[i].2)' overlap")
        }
        _ = try ModelMetadata(stateDict: sd)  // validates ov3d.* conventions
        return sd
    }

    public static func encode(_ input: StateDict) throws -> [UInt8] {
        var sd = input
        _ = try ModelMetadata(stateDict: sd)
        if sd.metadata(ModelMetadata.formatVersionKey) == nil {
            sd.setMetadata(ModelMetadata.formatVersionKey, String(ModelMetadata.currentFormatVersion))
        }
        for k in sd.keys {
            try require(!k.isEmpty && k.utf8.count <= maxNameBytes && k != "__metadata__", "safetensors: invalid tensor name '\(k.prefix(64))'")
        }
        var entries: [(String, JSON)] = []
        if !sd.metadata.isEmpty {
            entries.append(("__metadata__", .object(sd.metadata.map { ($0.0, JSON.string($0.1)) })))
        }
        var offset = 0
        for k in sd.keys {
            let t = sd.tensors[k]!
            entries.append((k, .object([
                ("dtype", .string(t.dtype.safetensorsName)),
                ("shape", .array(t.shape.map { .number(Double($0)) })),
                ("data_offsets", .array([.number(Double(offset)), .number(Double(offset + t.byteCount))])),
            ])))
            offset += t.byteCount
        }
        var header = Array(JSON.object(entries).description.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out += $0 }
        out += header
        for k in sd.keys { out += sd.tensors[k]!.bytes }
        return out
    }

    public static func write(_ sd: StateDict, path: String) throws {
        try FileIO.write(path, try encode(sd))
    }
}
