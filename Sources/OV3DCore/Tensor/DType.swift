/// Element types of tensors read from or written to files (npy, safetensors, torch pickles).
public enum DType: String, Sendable, CaseIterable {
    case float32, float16, bfloat16, float64
    case int64, int32, int16, int8, uint8, uint16, uint32, uint64
    case bool

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float64, .int64, .uint64: return 8
        case .float32, .int32, .uint32: return 4
        case .float16, .bfloat16, .int16, .uint16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16, .float64: return true
        default: return false
        }
    }

    /// safetensors' dtype names ("F32", "F16", "BF16", "I64", ...).
    public var safetensorsName: String {
        switch self {
        case .float32: return "F32"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .float64: return "F64"
        case .int64: return "I64"
        case .int32: return "I32"
        case .int16: return "I16"
        case .int8: return "I8"
        case .uint8: return "U8"
        case .uint16: return "U16"
        case .uint32: return "U32"
        case .uint64: return "U64"
        case .bool: return "BOOL"
        }
    }

    public init?(safetensorsName: String) {
        guard let d = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = d
    }

    /// NumPy's little-endian type string ("<f4", "|u1", ...); nil for bfloat16 (no NumPy dtype).
    public var numpyDescr: String? {
        switch self {
        case .float32: return "<f4"
        case .float16: return "<f2"
        case .bfloat16: return nil
        case .float64: return "<f8"
        case .int64: return "<i8"
        case .int32: return "<i4"
        case .int16: return "<i2"
        case .int8: return "|i1"
        case .uint8: return "|u1"
        case .uint16: return "<u2"
        case .uint32: return "<u4"
        case .uint64: return "<u8"
        case .bool: return "|b1"
        }
    }
}
