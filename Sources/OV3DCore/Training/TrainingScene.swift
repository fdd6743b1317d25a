/// One training scene as the config names it: voxel coordinates (`coords`) or points with a
/// voxel size (`points` + `voxel_size`), optional input features, per-head targets and a mask.
public struct TrainingSceneSpec: Sendable, Equatable {
    public enum Geometry: Sendable, Equatable {
        /// `coords`: N×3 integer voxel coordinates (unique); targets and mask per voxel.
        case voxels(String)
        /// `points`: P×3 float positions in metres, voxelised at `voxelSize` as OpenScene does;
        /// features, targets and mask per point.
        case points(String, voxelSize: Double)
    }
    public var geometry: Geometry
    /// N×C (or P×C) float features; nil: ones.
    public var features: String?
    /// Per head: N×D (or P×D) float targets.
    public var targets: [String: String]
    /// N (or P) uint8/bool; nil: every row supervised.
    public var mask: String?
    /// Where the scene is in the config, for error messages (`data.scenes[3]`).
    public var label: String

    public init(geometry: Geometry, features: String? = nil, targets: [String: String], mask: String? = nil, label: String) {
        self.geometry = geometry; self.features = features; self.targets = targets; self.mask = mask; self.label = label
    }
}

/// A loaded, validated scene. `rows` is the number of loss rows: voxels for a voxel scene,
/// points for a point scene.
public struct TrainingScene: Sendable {
    public var label: String
    /// N×3 voxel coordinates (voxel scenes).
    public var coords: [Int32]?
    /// P×3 positions (point scenes) and their voxel size.
    public var points: [Float]?
    public var voxelSize: Double?
    /// rows × inChannels; nil: ones.
    public var features: [Float]?
    public var inChannels: Int
    /// Per head `rows × dim`.
    public var targets: [String: [Float]]
    /// rows entries (0 / non-zero); nil: all rows.
    public var mask: [UInt8]?
    public var rows: Int

    /// Largest |coordinate| accepted in a voxel scene (leaves room for augmentation shifts and
    /// the packed coordinate keys of every stride).
    public static let coordinateBound: Int64 = Int64(CoordinateKey.limit) - 1024

    /// Loads and validates `spec`: shapes against `inChannels` and `headDims` (the heads with a
    /// loss, whose targets are required), finite values, unique in-range voxel coordinates.
    /// Errors name the scene and the file.
    public static func load(_ spec: TrainingSceneSpec, inChannels: Int, headDims: [(name: String, dim: Int)]) throws -> TrainingScene {
        let L = spec.label
        func read(_ key: String, _ path: String) throws -> Tensor {
            do { return try NPY.read(path: path) } catch let e as OV3DError { throw e.context("\(L).\(key) (\(path))") }
        }
        var scene = TrainingScene(label: L, inChannels: inChannels, targets: [:], rows: 0)
        switch spec.geometry {
        case .voxels(let path):
            let t = try read("coords", path)
            try require(t.rank == 2 && t.shape[1] == 3 && !t.dtype.isFloatingPoint && t.dtype != .bool,
                        "\(L).coords (\(path)): expected an N×3 integer array, got \(t.dtype.rawValue) \(t.shape)")
            let n = t.shape[0]
            try require(n >= 1, "\(L).coords (\(path)): the scene has no voxels")
            let v = try t.int64s()
            var c = [Int32](repeating: 0, count: 3 * n)
            for i in 0..<(3 * n) {
                try require(Swift.abs(v[i]) <= coordinateBound, "\(L).coords (\(path)): coordinate \(v[i]) at row \(i / 3) is out of range (|c| <= \(coordinateBound))")
                c[i] = Int32(v[i])
            }
            var seen = Set<UInt64>(minimumCapacity: n)
            for i in 0..<n where !seen.insert(CoordinateKey.pack(c[3 * i], c[3 * i + 1], c[3 * i + 2])).inserted {
                throw OV3DError.invalidArgument("\(L).coords (\(path)): row \(i) repeats voxel (\(c[3 * i]), \(c[3 * i + 1]), \(c[3 * i + 2])); coordinates must be unique")
            }
            scene.coords = c
            scene.rows = n
        case let .points(path, voxelSize):
            try require(voxelSize.isFinite && voxelSize > 0, "\(L).voxel_size must be a positive number, got \(voxelSize)")
            let t = try read("points", path)
            try require(t.rank == 2 && t.shape[1] == 3 && t.dtype.isFloatingPoint,
                        "\(L).points (\(path)): expected a P×3 float array, got \(t.dtype.rawValue) \(t.shape)")
            try require(t.shape[0] >= 1, "\(L).points (\(path)): the scene has no points")
            let p = t.floats()
            for (i, x) in p.enumerated() where !x.isFinite {
                throw OV3DError.invalidArgument("\(L).points (\(path)): point \(i / 3) has a non-finite coordinate")
            }
            scene.points = p
            scene.voxelSize = voxelSize
            scene.rows = t.shape[0]
        }
        let rows = scene.rows
        func floats(_ key: String, _ path: String, cols: Int) throws -> [Float] {
            let t = try read(key, path)
            try require(t.dtype.isFloatingPoint && (t.rank == 2 && t.shape == [rows, cols] || cols == 1 && t.rank == 1 && t.shape[0] == rows),
                        "\(L).\(key) (\(path)): expected a \(rows)×\(cols) float array, got \(t.dtype.rawValue) \(t.shape)")
            let f = t.floats()
            for (i, x) in f.enumerated() where !x.isFinite {
                throw OV3DError.invalidArgument("\(L).\(key) (\(path)): non-finite value at row \(i / cols)")
            }
            return f
        }
        if let f = spec.features { scene.features = try floats("features", f, cols: inChannels) }
        for h in headDims {
            guard let path = spec.targets[h.name] else {
                throw OV3DError.invalidArgument("\(L).targets: no target for head '\(h.name)' (the loss names it)")
            }
            scene.targets[h.name] = try floats("targets.\(h.name)", path, cols: h.dim)
        }
        if let m = spec.mask {
            let t = try read("mask", m)
            try require((t.dtype == .uint8 || t.dtype == .bool) && (t.shape == [rows] || t.shape == [rows, 1]),
                        "\(L).mask (\(m)): expected \(rows) uint8 or bool values, got \(t.dtype.rawValue) \(t.shape)")
            scene.mask = [UInt8](t.bytes)
        }
        return scene
    }

    /// The positions `PointCrop` measures: the points of a point scene, the voxel coordinates
    /// (as numbers) of a voxel scene.
    public var cropPositions: [Float] { points ?? (coords ?? []).map { Float($0) } }

    /// The scene restricted to `rows` (ascending row indices): geometry, features, targets, mask.
    public func subset(rows keep: [Int]) -> TrainingScene {
        func pick<T>(_ a: [T], _ cols: Int) -> [T] {
            var o = [T]()
            o.reserveCapacity(keep.count * cols)
            for r in keep { o += a[(r * cols)..<((r + 1) * cols)] }
            return o
        }
        var s = self
        s.coords = coords.map { pick($0, 3) }
        s.points = points.map { pick($0, 3) }
        s.features = features.map { pick($0, inChannels) }
        for (h, t) in targets { s.targets[h] = pick(t, t.count / max(rows, 1)) }
        s.mask = mask.map { pick($0, 1) }
        s.rows = keep.count
        return s
    }
}
