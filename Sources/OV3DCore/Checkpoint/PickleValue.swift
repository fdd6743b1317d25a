/// A value produced by the restricted unpickler (`PickleMachine`): plain data plus the few
/// torch/numpy objects a checkpoint contains. Nothing here can run code.
public indirect enum PickleValue: @unchecked Sendable {
    case none
    case bool(Bool)
    case int(Int64)
    /// An integer that does not fit Int64 (kept as little-endian two's complement bytes).
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    /// A tuple and its nesting depth (stored, so depth checks never walk the structure).
    case tuple([PickleValue], depth: Int)
    case list(PickleList)
    case dict(PickleDict)
    /// An allowed global (by its dotted name), used as a callable by REDUCE or as a type tag.
    case global(String)
    /// A storage resolved through a persistent id (torch).
    case storage(PickleStorage)
    case tensor(Tensor)
    /// A numpy dtype descriptor ("f8", "i8", ...), only used to decode numpy scalars.
    case numpyDtype(String)

    /// A tuple of values (depth computed from the elements' stored depths).
    public static func makeTuple(_ items: [PickleValue]) -> PickleValue {
        .tuple(items, depth: 1 + (items.map(\.depth).max() ?? 0))
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var intValue: Int64? {
        switch self {
        case .int(let v): return v
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
    public var doubleValue: Double? {
        switch self {
        case .float(let v): return v
        case .int(let v): return Double(v)
        default: return nil
        }
    }
    public var tensorValue: Tensor? { if case .tensor(let t) = self { return t }; return nil }
    public var dictValue: PickleDict? { if case .dict(let d) = self { return d }; return nil }
    /// Elements of a tuple or list.
    public var sequence: [PickleValue]? {
        switch self {
        case .tuple(let a, _): return a
        case .list(let l): return l.items
        default: return nil
        }
    }

    /// Nesting depth (scalars are 0).
    var depth: Int {
        switch self {
        case .tuple(_, let d): return d
        case .list(let l): return l.depth
        case .dict(let d): return d.depth
        default: return 0
        }
    }

    /// A short human-readable name of the kind of value (for error messages).
    public var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let n): return "global \(n)"
        case .storage: return "storage"
        case .tensor: return "tensor"
        case .numpyDtype: return "numpy.dtype"
        }
    }

    /// A one-line summary for metadata and `ov3d inspect` (containers are summarised, not expanded).
    public var summary: String {
        switch self {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let v): return String(v)
        case .bigInt(let b): return "<int of \(b.count) bytes>"
        case .float(let v): return "\(v)"
        case .string(let s): return s.count <= 200 ? s : String(s.prefix(200)) + "..."
        case .bytes(let b): return "<\(b.count) bytes>"
        case .tuple(let a, _): return "<tuple of \(a.count)>"
        case .list(let l): return "<list of \(l.items.count)>"
        case .dict(let d): return "<dict of \(d.items.count)>"
        case .global(let n): return "<\(n)>"
        case .storage(let s): return "<storage \(s.dtype.rawValue) x \(s.count)>"
        case .tensor(let t): return "<tensor \(t.dtype.rawValue) \(t.shape)>"
        case .numpyDtype(let d): return "<numpy dtype \(d)>"
        }
    }
}

/// A mutable list (reference type, as pickle's memo shares containers). Becomes frozen once it
/// is placed inside another container, so nesting depth is known exactly and bounded.
public final class PickleList {
    public internal(set) var items: [PickleValue] = []
    var depth = 1
    var frozen = false
    init() {}
}

/// A mutable dict with arbitrary (hashable-by-value) keys, in insertion order. Also holds a
/// TorchScript object rebuilt as data (`className` set): its attributes by name.
public final class PickleDict {
    public internal(set) var items: [(key: PickleValue, value: PickleValue)] = []
    /// For a TorchScript object (`__torch__.*` class, e.g. `__torch__.torch.nn.modules.linear.Linear`),
    /// its qualified class name; nil for a plain dict. Nothing of the class is ever run.
    public internal(set) var className: String?
    var depth = 1
    var frozen = false
    private var stringIndex: [String: Int] = [:]
    private var intIndex: [Int64: Int] = [:]
    init() {}

    /// The value under a string key.
    public subscript(key: String) -> PickleValue? { stringIndex[key].map { items[$0].value } }

    func set(_ k: PickleValue, _ v: PickleValue) {
        switch k {
        case .string(let s):
            if let i = stringIndex[s] { items[i].value = v; return }
            stringIndex[s] = items.count
        case .int(let x):
            if let i = intIndex[x] { items[i].value = v; return }
            intIndex[x] = items.count
        default: break
        }
        items.append((k, v))
    }
}

/// A torch storage: element type, element count and bytes (shared by every tensor viewing it).
public final class PickleStorage: @unchecked Sendable {
    public let dtype: DType
    public let count: Int
    public let bytes: ByteStorage
    init(dtype: DType, count: Int, bytes: ByteStorage) {
        self.dtype = dtype
        self.count = count
        self.bytes = bytes
    }
}
