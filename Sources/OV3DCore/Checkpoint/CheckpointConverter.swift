/// Converts any readable checkpoint (torch zip, legacy torch, safetensors) to ov3d's own format:
/// safetensors with `ModelMetadata` (format version, inferred architecture and heads, optional
/// label set and voxel size). Tensors are written as stored (same dtypes, contiguous, same keys
/// unless `stripPrefixes`), so the converted file loads to bit-identical tensors.
public enum CheckpointConverter {
    public struct Options: Sendable {
        /// Overrides the inferred architecture name.
        public var architecture: String?
        public var labelSet: [String]?
        public var voxelSize: Double?
        /// Remove `module.` / `net3d.` key prefixes (as `MinkUNetSpec.stripPrefix`).
        public var stripPrefixes = false
        public var reader = TorchCheckpoint.Options()
        public init() {}
    }

    /// Reads `input`, adds metadata and returns the state dict that `convert` would write.
    public static func prepare(input: String, options: Options = Options()) throws -> StateDict {
        var sd = try CheckpointReader.load(path: input, options: options.reader)
        if options.stripPrefixes {
            let stripped = MinkUNetSpec.stripPrefix(sd)
            if stripped.count == sd.count { sd = stripped }
        }
        var meta = try ModelMetadata(stateDict: sd)
        let inferred = ModelMetadata.inferred(from: sd)
        if meta.architecture == nil { meta.architecture = inferred.architecture }
        if meta.heads.isEmpty { meta.heads = inferred.heads }
        if let a = options.architecture { meta.architecture = a }
        if let l = options.labelSet { meta.labelSet = l }
        if let v = options.voxelSize {
            try require(v.isFinite && v > 0, "voxel size must be finite and positive, got \(v)")
            meta.voxelSize = v
        }
        meta.apply(to: &sd)
        _ = try ModelMetadata(stateDict: sd)
        return sd
    }

    /// Converts `input` to a safetensors file at `output` (written atomically). Returns what was written.
    @discardableResult
    public static func convert(input: String, output: String, options: Options = Options()) throws -> StateDict {
        let sd = try prepare(input: input, options: options)
        try Safetensors.write(sd, path: output)
        return sd
    }
}
