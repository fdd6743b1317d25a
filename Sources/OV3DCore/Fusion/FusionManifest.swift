/// A folder of frames described by a JSON manifest (the `ov3d fuse --frames` format):
///
///     {"depth_scale": 1000,
///      "frames": [{"depth": "a.png", "features": "a.npy",
///                  "intrinsics": [[fx,0,cx],[0,fy,cy],[0,0,1]],
///                  "pose": [[r00,r01,r02,tx],[...],[...],[0,0,0,1]]}, ...]}
///
/// Paths are relative to the manifest's folder (absolute paths are used as given). Depth is a
/// 16-bit PNG in raw units (metres = value / depth_scale); features an `H'×W'×C` float16 or
/// float32 `.npy`; intrinsics belong to the depth image; pose is camera-to-world, row-major.
public struct FusionManifest: Sendable {
    public struct Entry: Sendable {
        public var depthPath: String
        public var featuresPath: String
        public var intrinsics: PinholeIntrinsics
        public var pose: CameraPose
    }

    public var depthScale: Double?
    public var entries: [Entry]

    /// Largest number of frames a manifest may list.
    public static let maxFrames = 1 << 20

    public init(path: String) throws {
        let bytes = try FileIO.read(path, maxBytes: 64 << 20)
        let json: JSON
        do { json = try bytes.withUnsafeBytes { try JSON.parse(bytes: $0) } } catch let e as OV3DError { throw e.context(path) }
        try self.init(json: json, baseDirectory: FileIO.directory(of: path), name: path)
    }

    public init(json: JSON, baseDirectory: String, name: String = "manifest") throws {
        guard json.objectValue != nil else { throw OV3DError.format("\(name): the manifest must be a JSON object") }
        if let s = json["depth_scale"] {
            guard let d = s.doubleValue, d.isFinite, d > 0 else { throw OV3DError.format("\(name): depth_scale must be a positive number") }
            depthScale = d
        }
        guard let frames = json["frames"]?.arrayValue else { throw OV3DError.format("\(name): missing \"frames\" array") }
        try requireFormat(frames.count <= FusionManifest.maxFrames, "\(name): too many frames (\(frames.count))")
        func matrix(_ j: JSON?, rows: Int, cols: Int, key: String, frame: Int) throws -> [Double] {
            guard let r = j?.arrayValue, r.count == rows else {
                throw OV3DError.format("\(name): frames[\(frame)].\(key) must be a \(rows)×\(cols) array of arrays")
            }
            var out: [Double] = []
            for row in r {
                guard let c = row.arrayValue, c.count == cols else {
                    throw OV3DError.format("\(name): frames[\(frame)].\(key) must be a \(rows)×\(cols) array of arrays")
                }
                for v in c {
                    guard let d = v.doubleValue, d.isFinite else { throw OV3DError.format("\(name): frames[\(frame)].\(key) has a non-number") }
                    out.append(d)
                }
            }
            return out
        }
        entries = []
        for (i, f) in frames.enumerated() {
            guard let d = f["depth"]?.stringValue, !d.isEmpty else { throw OV3DError.format("\(name): frames[\(i)].depth must be a path string") }
            guard let p = f["features"]?.stringValue, !p.isEmpty else { throw OV3DError.format("\(name): frames[\(i)].features must be a path string") }
            let k = try matrix(f["intrinsics"], rows: 3, cols: 3, key: "intrinsics", frame: i)
            let m = try matrix(f["pose"], rows: 4, cols: 4, key: "pose", frame: i)
            do {
                entries.append(Entry(depthPath: FileIO.join(baseDirectory, d), featuresPath: FileIO.join(baseDirectory, p),
                                     intrinsics: try PinholeIntrinsics(matrix: k), pose: try CameraPose(cameraToWorld: m)))
            } catch let e as OV3DError { throw OV3DError.format("\(name): frames[\(i)]: \(e.message)") }
        }
    }

    /// Loads frame `i` (depth PNG and feature map).
    public func loadFrame(_ i: Int) throws -> FusionFrame {
        try require(entries.indices.contains(i), "manifest: no frame \(i)")
        let e = entries[i]
        let d = try DepthImage.readPNG(path: e.depthPath)
        let t = try NPY.read(path: e.featuresPath)
        do {
            return try FusionFrame(depthWidth: d.width, depthHeight: d.height, depth: d.values,
                                   intrinsics: e.intrinsics, pose: e.pose, features: t)
        } catch let err as OV3DError { throw OV3DError.format("\(e.featuresPath): \(err.message)") }
    }
}
