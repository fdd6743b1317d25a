/// What `ov3d synth --stats` prints: points, voxels at 2 cm, classes present, instances,
/// frames and the share of points some view sees (OpenScene's visibility test).
public struct SyntheticStats: Sendable {
    public var preset: String
    public var seed: UInt64
    public var roomSize: SIMD3<Float>
    public var triangles: Int
    public var points: Int
    public var voxels: Int
    public var classesPresent: [String]
    /// Objects with at least one labelled point.
    public var instances: Int
    public var frames: Int
    /// Share of points seen by at least one frame.
    public var coverage: Double
    /// Share of valid (non-zero) depth pixels over all frames.
    public var validDepth: Double

    /// ScanNet v2's ranges the ScanNet-scale preset should fall in (per scene): vh_clean_2
    /// vertices, 2 cm voxels, annotated instances, ScanNet-20 classes present, frames at
    /// OpenScene's every-20th sampling, and the share of valid depth pixels.
    public static let scanNetRanges: [(String, ClosedRange<Double>)] = [
        ("points", 50_000...500_000), ("voxels", 100_000...250_000), ("instances", 10...60),
        ("classes", 6...18), ("frames", 50...300), ("valid_depth", 0.7...0.95)]

    public init(scene: SyntheticScene, params: FusionParams = FusionParams()) throws {
        preset = scene.preset.name
        seed = scene.seed
        roomSize = scene.world.size
        triangles = scene.world.mesh.triangleCount
        points = scene.points.count
        voxels = points > 0 ? try Voxelizer.voxelize(positions: scene.points.positions, voxelSize: 0.02).voxelCount : 0
        var present = Set<Int32>(), inst = Set<Int32>()
        for i in 0..<points where scene.points.labels[i] != SyntheticWorld.unlabelled {
            present.insert(scene.points.labels[i]); inst.insert(scene.points.instances[i])
        }
        classesPresent = present.sorted().map { SyntheticWorld.classNames[Int($0)] }
        instances = inst.count
        frames = scene.frames.count
        var valid = 0, total = 0
        for f in scene.frames { total += f.depth.count; valid += f.depth.reduce(0) { $0 + ($1 > 0 ? 1 : 0) } }
        validDepth = total > 0 ? Double(valid) / Double(total) : 0
        // visibility: fuse a constant 1×1 one-channel map per frame
        if points > 0 && !scene.frames.isEmpty {
            let s = try FusionSession(positions: scene.points.positions, featureDim: 1, params: params)
            let one = try Tensor([1], shape: [1, 1, 1])
            for i in scene.frames.indices { _ = try s.addFrame(try scene.fusionFrame(i, features: one)) }
            let m = s.snapshot().mask
            coverage = Double(m.reduce(0) { $0 + Int($1) }) / Double(points)
        } else { coverage = 0 }
    }

    public var values: [(String, Double)] {
        [("points", Double(points)), ("voxels", Double(voxels)), ("instances", Double(instances)),
         ("classes", Double(classesPresent.count)), ("frames", Double(frames)), ("valid_depth", validDepth)]
    }

    /// Human-readable summary (with ScanNet's ranges beside the ScanNet-scale preset's values).
    public var text: String {
        func f(_ v: Double, _ d: Int = 1) -> String { SyntheticStats.decimal(v, d) }
        var s = "synthetic scene (SIMULATED world): preset \(preset), seed \(seed)\n"
        s += "  room            \(f(Double(roomSize.x), 2)) × \(f(Double(roomSize.y), 2)) × \(f(Double(roomSize.z), 2)) m, \(triangles) triangles\n"
        for (name, v) in values {
            let range = SyntheticStats.scanNetRanges.first { $0.0 == name }!.1
            let shown = name == "valid_depth" ? f(v, 3) : String(Int(v))
            let inRange = range.contains(v) ? "within" : "outside"
            let r = name == "valid_depth" ? "\(f(range.lowerBound, 2))–\(f(range.upperBound, 2))" : "\(Int(range.lowerBound))–\(Int(range.upperBound))"
            s += "  " + SyntheticStats.pad(name, 14) + "  " + SyntheticStats.pad(shown, 10)
            s += "  ScanNet \(r) (\(inRange))\n"
        }
        s += "  coverage        \(f(coverage, 3)) of the points seen by at least one frame\n"
        s += "  classes present \(classesPresent.joined(separator: ", "))\n"
        return s
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

    /// `v` with `d` decimals (no Foundation).
    public static func decimal(_ v: Double, _ d: Int) -> String {
        guard v.isFinite else { return "\(v)" }
        var scale = 1.0
        for _ in 0..<d { scale *= 10 }
        let r = (abs(v) * scale).rounded()
        let i = Int(r / scale), frac = Int(r - Double(i) * scale)
        var fs = String(frac)
        while fs.count < d { fs = "0" + fs }
        return (v < 0 ? "-" : "") + String(i) + (d > 0 ? "." + fs : "")
    }

    public var json: JSON {
        .object([("preset", .string(preset)), ("seed", .number(Double(seed))),
                 ("room_size", .array([.number(Double(roomSize.x)), .number(Double(roomSize.y)), .number(Double(roomSize.z))])),
                 ("triangles", .number(Double(triangles)))] + values.map { ($0.0, JSON.number($0.1)) } +
                [("coverage", .number(coverage)), ("classes_present", .array(classesPresent.map { .string($0) }))])
    }
}
