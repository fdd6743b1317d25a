/// A dense, C-contiguous, little-endian n-d array as read from or written to a file.
///
/// `Tensor` is the interchange type of the file formats (npy, safetensors, torch pickles) and of
/// state dicts. Compute code converts to `[Float]` (or reads `float32` storage in place) once,
/// at load time.
public struct Tensor: Sendable {
    public var dtype: DType
    public var shape: [Int]
    /// Shared bytes; the tensor's data starts at `byteOffset`.
    public var storage: ByteStorage
    public var byteOffset: Int

    /// Wraps existing storage. Throws if the shape is invalid or the bytes do not fit.
    public init(dtype: DType, shape: [Int], storage: ByteStorage, byteOffset: Int = 0) throws {
        let n = try Tensor.elementCount(shape)
        let (bytes, o) = n.multipliedReportingOverflow(by: dtype.size)  // n ≤ CheckedSize.cap: no overflow
        try require(!o && byteOffset >= 0 && byteOffset <= storage.count && bytes <= storage.count - byteOffset,
                    "tensor of shape \(shape) (\(dtype.rawValue)) does not fit its storage of \(storage.count) bytes at offset \(byteOffset)")
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
        self.byteOffset = byteOffset
    }

    /// A float32 tensor holding a copy of `values`.
    public init(_ values: [Float], shape: [Int]) throws {
        try require(try Tensor.elementCount(shape) == values.count, "shape \(shape) does not match \(values.count) values")
        let s = values.withUnsafeBytes { ByteStorage(copying: $0) }
        try self.init(dtype: .float32, shape: shape, storage: s)
    }

    /// An int32 tensor holding a copy of `values`.
    public init(int32 values: [Int32], shape: [Int]) throws {
        try require(try Tensor.elementCount(shape) == values.count, "shape \(shape) does not match \(values.count) values")
        let s = values.withUnsafeBytes { ByteStorage(copying: $0) }
        try self.init(dtype: .int32, shape: shape, storage: s)
    }

    /// A tensor of any dtype from raw little-endian bytes (copied).
    public init(dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer) throws {
        try self.init(dtype: dtype, shape: shape, storage: ByteStorage(copying: bytes))
    }

    /// Product of the dimensions, checked for negative sizes and overflow.
    public static func elementCount(_ shape: [Int]) throws -> Int {
        do { return try CheckedSize.product(shape, "shape \(shape)") } catch let e as OV3DError {
            throw OV3DError.invalidArgument(e.message)
        }
    }

    public var count: Int { shape.reduce(1, *) }
    public var byteCount: Int { count * dtype.size }
    public var rank: Int { shape.count }

    /// The tensor's bytes (borrowed from the storage; valid while the tensor lives).
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage.base + byteOffset, count: byteCount)
    }

    /// Converts any floating or integer dtype to `[Float]` (float16/bfloat16/float64 widened or rounded).
    public func floats() -> [Float] {
        let n = count
        let src = storage.base + byteOffset
        return [Float](unsafeUninitializedCapacity: n) { out, done in
            switch dtype {
            case .float32:
                if n > 0 { out.baseAddress!.update(from: src.assumingMemoryBound(to: Float.self), count: n) }
            case .float16:
                for i in 0..<n { out[i] = halfToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
            case .bfloat16:
                for i in 0..<n { out[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
            case .float64:
                for i in 0..<n { out[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
            case .int64:
                for i in 0..<n { out[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
            case .uint64:
                for i in 0..<n { out[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) }
            case .int32:
                for i in 0..<n { out[i] = Float(src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
            case .uint32:
                for i in 0..<n { out[i] = Float(src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
            case .int16:
                for i in 0..<n { out[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
            case .uint16:
                for i in 0..<n { out[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
            case .int8:
                for i in 0..<n { out[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
            case .uint8, .bool:
                for i in 0..<n { out[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
            }
            done = n
        }
    }

    /// Converts an integer (or bool) tensor to `[Int64]`; throws for floating dtypes.
    public func int64s() throws -> [Int64] {
        let n = count
        let src = storage.base + byteOffset
        var out = [Int64](repeating: 0, count: n)
        switch dtype {
        case .int64: for i in 0..<n { out[i] = src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self) }
        case .uint64:
            for i in 0..<n {
                let v = src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
                try require(v <= UInt64(Int64.max), "uint64 value \(v) does not fit int64")
                out[i] = Int64(v)
            }
        case .int32: for i in 0..<n { out[i] = Int64(src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
        case .uint32: for i in 0..<n { out[i] = Int64(src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        case .int16: for i in 0..<n { out[i] = Int64(src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
        case .uint16: for i in 0..<n { out[i] = Int64(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .int8: for i in 0..<n { out[i] = Int64(src.load(fromByteOffset: i, as: Int8.self)) }
        case .uint8, .bool: for i in 0..<n { out[i] = Int64(src.load(fromByteOffset: i, as: UInt8.self)) }
        default: throw OV3DError.invalidArgument("expected an integer tensor, got \(dtype.rawValue)")
        }
        return out
    }
}

/// IEEE binary16 bits to Float (exact).
@inlinable
public func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = Int((h >> 10) & 0x1F)
    let man = UInt32(h & 0x3FF)
    if exp == 0 {
        if man == 0 { return Float(bitPattern: sign) }
        let v = Float(man) * (1.0 / 16_777_216.0) // 2^-24
        return sign != 0 ? -v : v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (man << 13)) }
    return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (man << 13))
}

/// Float to IEEE binary16 bits, round to nearest even (as NumPy/PyTorch `.half()`).
@inlinable
public func floatToHalf(_ f: Float) -> UInt16 {
    let x = f.bitPattern
    let sign = UInt16((x >> 16) & 0x8000)
    let exp = Int((x >> 23) & 0xFF)
    var man = x & 0x7F_FFFF
    if exp == 0xFF { return sign | 0x7C00 | (man != 0 ? 0x200 : 0) }
    let e = exp - 127 + 15
    if e >= 31 { return sign | 0x7C00 }
    if e <= 0 {
        if e < -10 { return sign }
        man |= 0x80_0000
        let shift = UInt32(14 - e)
        var h = man >> shift
        let rem = man & ((1 << shift) - 1)
        let half = UInt32(1) << (shift - 1)
        if rem > half || (rem == half && (h & 1) == 1) { h += 1 }
        return sign | UInt16(h)
    }
    var h = UInt32(e) << 10 | (man >> 13)
    let rem = man & 0x1FFF
    if rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1) { h += 1 }
    return sign | UInt16(h)
}
