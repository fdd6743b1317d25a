/// torch storage classes as they appear in pickles (`torch.FloatStorage`, ...) and their dtypes.
enum TorchStorageType {
    static let byName: [String: DType] = [
        "torch.FloatStorage": .float32, "torch.HalfStorage": .float16, "torch.BFloat16Storage": .bfloat16,
        "torch.DoubleStorage": .float64, "torch.LongStorage": .int64, "torch.IntStorage": .int32,
        "torch.ShortStorage": .int16, "torch.CharStorage": .int8, "torch.ByteStorage": .uint8,
        "torch.BoolStorage": .bool,
        // Untyped storages count bytes.
        "torch.UntypedStorage": .uint8, "torch.storage.UntypedStorage": .uint8, "torch.storage._UntypedStorage": .uint8,
    ]

    static func dtype(_ v: PickleValue) throws -> DType {
        guard case .global(let name) = v, let d = byName[name] else {
            throw OV3DError.format("torch: storage type \(v.summary) is not a known storage class")
        }
        return d
    }
}

/// `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, ...)` as data:
/// validates the view against the storage and returns a dense C-order tensor (a zero-copy view of
/// the storage when the layout is already contiguous and aligned; otherwise a bounded copy).
enum TorchTensorRebuild {
    static func tensor(storage sv: PickleValue, offset ov: PickleValue, size szv: PickleValue, stride stv: PickleValue,
                       maxRank: Int, copyBudget: inout Int) throws -> Tensor {
        guard case .storage(let st) = sv else { throw OV3DError.format("torch: tensor rebuilt from a \(sv.kindName), not a storage") }
        guard let off64 = ov.intValue, off64 >= 0, off64 <= Int64(st.count) else {
            throw OV3DError.format("torch: invalid storage offset \(ov.summary) (storage has \(st.count) elements)")
        }
        func ints(_ v: PickleValue, _ what: String) throws -> [Int] {
            guard let a = v.sequence, a.count <= maxRank else { throw OV3DError.format("torch: tensor \(what) is not a tuple of at most \(maxRank) ints") }
            return try a.map {
                guard let x = $0.intValue, x >= 0, x <= (1 << 40) else { throw OV3DError.format("torch: invalid tensor \(what) \(v.summary)") }
                return Int(x)
            }
        }
        let shape = try ints(szv, "size"), strides = try ints(stv, "stride")
        try requireFormat(shape.count == strides.count, "torch: tensor size \(shape) and stride \(strides) differ in rank")
        let count = try CheckedSize.product(shape, "torch: tensor size \(shape)")
        let offset = Int(off64)
        let esize = st.dtype.size
        if count == 0 { return try Tensor(dtype: st.dtype, shape: shape, storage: ByteStorage([])) }
        // Highest element index the view touches must lie inside the storage.
        var maxIndex = offset
        for (d, s) in zip(shape, strides) {
            let what = "torch: tensor view \(shape)/\(strides)"
            maxIndex = try CheckedSize.sum(maxIndex, try CheckedSize.product(d - 1, s, what), what)
        }
        try requireFormat(maxIndex < st.count, "torch: tensor view (offset \(offset), size \(shape), stride \(strides)) runs past its storage of \(st.count) elements")
        // Contiguous in C order (dimensions of size 1 may have any stride)?
        var contiguous = true
        var expect = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] != 1 {
            if strides[i] != expect { contiguous = false; break }
            expect *= shape[i]
        }
        let byteOffset = offset * esize
        let aligned = (Int(bitPattern: st.bytes.base) + byteOffset) % esize == 0
        if contiguous && aligned {
            return try Tensor(dtype: st.dtype, shape: shape, storage: st.bytes, byteOffset: byteOffset)
        }
        let bytes = try CheckedSize.product(count, esize, "torch: tensor \(shape) bytes")
        try requireFormat(bytes <= copyBudget, "torch: rebuilding non-contiguous tensor \(shape) needs \(bytes) bytes, over the remaining allocation budget of \(copyBudget)")
        copyBudget -= bytes
        let src = st.bytes.base
        let out = try ByteStorage(count: bytes, what: "a non-contiguous tensor \(shape)") { dst in
            guard let d = dst.baseAddress else { return }
            let rank = shape.count
            var idx = [Int](repeating: 0, count: rank)
            var srcElem = offset
            for i in 0..<count {
                (d + i * esize).copyMemory(from: src + srcElem * esize, byteCount: esize)
                // Advance the multi-index (last dimension fastest).
                var k = rank - 1
                while k >= 0 {
                    idx[k] += 1
                    srcElem += strides[k]
                    if idx[k] < shape[k] { break }
                    srcElem -= strides[k] * shape[k]
                    idx[k] = 0
                    k -= 1
                }
            }
        }
        return try Tensor(dtype: st.dtype, shape: shape, storage: out)
    }
}
