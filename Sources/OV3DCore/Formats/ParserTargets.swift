/// Every parser that reads untrusted bytes, as one entry per format: the fuzz targets
/// (libFuzzer in fuzz/, the mutation tests in Tests/OV3DCoreTests/ParserFuzzTests.swift) and the
/// replay of the committed regression inputs (Tests/Fixtures/hostile) all go through here, so
/// they exercise exactly the code the commands run (issue 17).
///
/// `run` returns normally (the input was valid) or throws `OV3DError`; anything else — a trap,
/// a sanitizer report, another error type — is a bug.
public enum ParserTarget: String, CaseIterable, Sendable {
    case npy, pointCloud = "pointcloud", checkpoint, vocabulary, png, json, manifest

    /// The seed-corpus directory name under Tests/Fixtures/hostile/seeds.
    public var seedDirectories: [String] {
        switch self {
        case .npy: return ["npy"]
        case .pointCloud: return ["pcd", "ply", "npy"]
        case .checkpoint: return ["checkpoint"]
        case .vocabulary: return ["vocab"]
        case .png: return ["png"]
        case .json, .manifest: return ["json"]
        }
    }

    public func run(_ bytes: UnsafeRawBufferPointer) throws {
        switch self {
        case .npy:
            let t = try NPY.decode(bytes: bytes)
            _ = t.floats()
        case .pointCloud:
            // The first byte picks how a headerless file is named (.bin variants), the rest is the file.
            let names = ["a.ply", "a.pcd", "a.npy", "a.bin", "a.pcd.bin"]
            let name = bytes.isEmpty ? "a.bin" : names[Int(bytes[0]) % names.count]
            let l = try CloudFile.decode(UnsafeRawBufferPointer(rebasing: bytes.dropFirst()), name: name)
            try l.cloud.validate()
        case .checkpoint:
            let storage = ByteStorage(copying: bytes)
            for crc in [true, false] {
                var o = TorchCheckpoint.Options()
                o.verifyCRC = crc
                o.threads = 1
                let sd = try CheckpointReader.decode(storage, options: o)
                for k in sd.keys { _ = sd[k]!.floats() }
                _ = try ModelMetadata(stateDict: sd)
                _ = try Safetensors.encode(sd)
            }
        case .vocabulary:
            // A small merge count keeps each execution fast; the parsing is the same.
            let raw = Array(bytes)
            let text = Gzip.sniff(raw) ? try Gzip.decompress(raw, maxOutput: 64 << 20) : raw
            let tok = try CLIPTokenizer(mergesFile: text, mergeCount: 300)
            _ = try tok.encode("a chair, 3 tables and the fire-extinguisher!")
        case .png:
            _ = try DepthImage.decodePNG(Array(bytes), name: "fuzz.png")
        case .json:
            let j = try JSON.parse(bytes: bytes)
            _ = j.description
        case .manifest:
            let j = try JSON.parse(bytes: bytes)
            // The same JSON through the train-config reader too (a manifest is not a valid config).
            _ = try? TrainingConfig.parse(j, baseDirectory: "/nonexistent-ov3d-fuzz")
            _ = try FusionManifest(json: j, baseDirectory: "/nonexistent-ov3d-fuzz")
        }
    }
}
