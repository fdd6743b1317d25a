/// ov3d's conventions for model metadata stored in safetensors `__metadata__` (all values strings):
///
/// | key | value | example |
/// |---|---|---|
/// | `ov3d.format_version` | integer, this convention's version | `1` |
/// | `ov3d.architecture` | model variant | `MinkUNet18A` |
/// | `ov3d.heads` | output heads `name=dim`, comma separated, in order | `final=512,final_dinov2=1024,final_sd=3200` |
/// | `ov3d.label_set` | JSON array of class names | `["wall","floor"]` |
/// | `ov3d.voxel_size` | metres per voxel, finite and > 0 | `0.02` |
/// | `ov3d.source_format` | where the tensors came from | `torch-zip` |
///
/// Reading validates every `ov3d.*` key present and rejects malformed values by name; other keys
/// (e.g. a torch checkpoint's `epoch`, `best_iou`) are kept as they are.
public struct ModelMetadata: Sendable, Equatable {
    public static let currentFormatVersion = 1
    public static let formatVersionKey = "ov3d.format_version"
    public static let architectureKey = "ov3d.architecture"
    public static let headsKey = "ov3d.heads"
    public static let labelSetKey = "ov3d.label_set"
    public static let voxelSizeKey = "ov3d.voxel_size"

    /// An output head (name and output dimension), as `MinkUNetSpec` infers them.
    public typealias Head = MinkUNetSpec.Head

    public var formatVersion: Int = ModelMetadata.currentFormatVersion
    public var architecture: String?
    public var heads: [Head] = []
    public var labelSet: [String]?
    public var voxelSize: Double?

    public init() {}

    /// Parses and validates the `ov3d.*` metadata of a state dict. A file without
    /// `ov3d.format_version` yields defaults for the missing fields (e.g. a converted torch file).
    public init(stateDict sd: StateDict) throws {
        if let v = sd.metadata(Self.formatVersionKey) {
            guard let n = Int(v), n >= 1 else { throw OV3DError.format("metadata \(Self.formatVersionKey) '\(v.prefix(32))' is not a positive integer") }
            guard n <= Self.currentFormatVersion else {
                throw OV3DError.unsupported("metadata format version \(n) is newer than this library's \(Self.currentFormatVersion)")
            }
            formatVersion = n
        }
        if let a = sd.metadata(Self.architectureKey) {
            guard !a.isEmpty, a.utf8.count <= 64 else { throw OV3DError.format("metadata \(Self.architectureKey) is empty or too long") }
            architecture = a
        }
        if let h = sd.metadata(Self.headsKey) { heads = try Self.parseHeads(h) }
        if let l = sd.metadata(Self.labelSetKey) {
            let j: JSON
            do { j = try JSON.parse(l) } catch { throw OV3DError.format("metadata \(Self.labelSetKey) is not JSON: \(error)") }
            guard let a = j.arrayValue, a.count <= 100_000 else { throw OV3DError.format("metadata \(Self.labelSetKey) is not a JSON array") }
            labelSet = try a.map {
                guard let s = $0.stringValue else { throw OV3DError.format("metadata \(Self.labelSetKey) holds a non-string") }
                return s
            }
        }
        if let v = sd.metadata(Self.voxelSizeKey) {
            guard let d = Double(v), d.isFinite, d > 0, d < 1000 else { throw OV3DError.format("metadata \(Self.voxelSizeKey) '\(v.prefix(32))' is not a positive length") }
            voxelSize = d
        }
    }

    static func parseHeads(_ s: String) throws -> [Head] {
        if s.isEmpty { return [] }
        return try s.split(separator: ",", omittingEmptySubsequences: false).map { part in
            let kv = part.split(separator: "=", omittingEmptySubsequences: false)
            guard kv.count == 2, !kv[0].isEmpty, let d = Int(kv[1]), d > 0, d <= 1 << 20 else {
                throw OV3DError.format("metadata \(headsKey): '\(part.prefix(64))' is not name=dim")
            }
            return Head(name: String(kv[0]), dim: d)
        }
    }

    /// Metadata for a state dict: the MinkUNet variant and heads inferred from its keys and
    /// shapes (`MinkUNetSpec.infer`), when it is a MinkUNet; empty otherwise.
    public static func inferred(from sd: StateDict) -> ModelMetadata {
        var m = ModelMetadata()
        if let spec = try? MinkUNetSpec.infer(from: sd) {
            m.architecture = spec.variantName
            m.heads = spec.heads
        }
        return m
    }

    /// Writes the fields into `sd`'s metadata (replacing existing `ov3d.*` values).
    public func apply(to sd: inout StateDict) {
        sd.setMetadata(Self.formatVersionKey, String(formatVersion))
        if let architecture { sd.setMetadata(Self.architectureKey, architecture) }
        if !heads.isEmpty { sd.setMetadata(Self.headsKey, heads.map { "\($0.name)=\($0.dim)" }.joined(separator: ",")) }
        if let labelSet { sd.setMetadata(Self.labelSetKey, JSON.array(labelSet.map { .string($0) }).description) }
        if let voxelSize { sd.setMetadata(Self.voxelSizeKey, "\(voxelSize)") }
    }
}
