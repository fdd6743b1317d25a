/// Named tensors in file order, plus string metadata: what a checkpoint holds.
///
/// Produced by every checkpoint reader (safetensors, torch zip pickles) and consumed by model
/// builders (MinkUNet, CLIP text tower). Keys are kept exactly as stored; prefix stripping is
/// `strippingPrefix`.
public struct StateDict: Sendable {
    public private(set) var keys: [String] = []
    public private(set) var tensors: [String: Tensor] = [:]
    public var metadata: [(String, String)] = []

    public init() {}

    public var count: Int { keys.count }

    public subscript(key: String) -> Tensor? { tensors[key] }

    /// Inserts or replaces a tensor (a new key goes to the end of the order).
    public mutating func set(_ key: String, _ t: Tensor) {
        if tensors.updateValue(t, forKey: key) == nil { keys.append(key) }
    }

    public mutating func remove(_ key: String) {
        if tensors.removeValue(forKey: key) != nil { keys.removeAll { $0 == key } }
    }

    public func metadata(_ key: String) -> String? { metadata.first(where: { $0.0 == key })?.1 }

    public mutating func setMetadata(_ key: String, _ value: String) {
        if let i = metadata.firstIndex(where: { $0.0 == key }) { metadata[i].1 = value } else { metadata.append((key, value)) }
    }

    /// The tensor under `key` or a format error naming the missing key.
    public func tensor(_ key: String) throws -> Tensor {
        guard let t = tensors[key] else { throw OV3DError.format("missing tensor '\(key)'") }
        return t
    }

    /// A copy holding only the keys that start with `prefix`, with the prefix removed.
    public func strippingPrefix(_ prefix: String) -> StateDict {
        var out = StateDict()
        out.metadata = metadata
        for k in keys where k.hasPrefix(prefix) { out.set(String(k.dropFirst(prefix.count)), tensors[k]!) }
        return out
    }
}

