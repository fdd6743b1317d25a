/// Writes a state dict as a `torch.save` zip file that `torch.load(path, weights_only=True)`
/// reads back as an `OrderedDict[str, Tensor]` — data only, no code:
///
/// - `archive/data.pkl`: pickle protocol 2, `collections.OrderedDict` of
///   `torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())`, each
///   storage a persistent id `('storage', torch.<T>Storage, '<n>', 'cpu', numel)`;
/// - `archive/data/<n>`: the raw little-endian elements (64-byte aligned, contiguous C order);
/// - `archive/byteorder` (`little`), `archive/version` (`3`).
///
/// dtypes: float32/16/64, bfloat16, int64/32/16/8, uint8, bool. The reader is `CheckpointReader`.
public enum TorchCheckpointWriter {
    static let storageNames: [DType: String] = [
        .float32: "FloatStorage", .float16: "HalfStorage", .bfloat16: "BFloat16Storage", .float64: "DoubleStorage",
        .int64: "LongStorage", .int32: "IntStorage", .int16: "ShortStorage", .int8: "CharStorage",
        .uint8: "ByteStorage", .bool: "BoolStorage",
    ]

    /// The file's bytes; keys get `prefix` prepended (e.g. `net3d.`).
    public static func encode(_ sd: StateDict, prefix: String = "") throws -> [UInt8] {
        var p = PickleWriter()
        p.global("collections", "OrderedDict"); p.emptyTuple(); p.reduce()
        p.mark()
        for (i, k) in sd.keys.enumerated() {
            let t = try sd.tensor(k)
            guard let storage = storageNames[t.dtype] else {
                throw OV3DError.unsupported("torch export: tensor '\(k)' has dtype \(t.dtype.rawValue), which torch cannot store")
            }
            p.string(prefix + k)
            p.global("torch._utils", "_rebuild_tensor_v2")
            p.mark()
            p.mark(); p.string("storage"); p.global("torch", storage); p.string(String(i)); p.string("cpu"); p.int(Int64(t.count)); p.tuple()
            p.binPersId()
            p.int(0)
            p.intTuple(t.shape)
            var strides = [Int](repeating: 1, count: t.rank)
            for d in stride(from: t.rank - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * t.shape[d + 1] }
            p.intTuple(strides)
            p.bool(false)
            p.global("collections", "OrderedDict"); p.emptyTuple(); p.reduce()
            p.tuple()
            p.reduce()
        }
        p.setItems()
        p.stop()
        var z = ZipWriter(alignment: 64)
        try z.add("archive/data.pkl", p.bytes)
        try z.add("archive/byteorder", Array("little".utf8))
        for (i, k) in sd.keys.enumerated() {
            try z.add("archive/data/\(i)", try sd.tensor(k).bytes)
        }
        try z.add("archive/version", Array("3\n".utf8))
        return try z.finish()
    }

    /// Writes `encode(sd, prefix:)` to `path` (through a temporary file and rename).
    public static func write(_ sd: StateDict, path: String, prefix: String = "") throws {
        do { try FileIO.write(path, try encode(sd, prefix: prefix)) } catch let e as OV3DError { throw e.context(path) }
    }
}
