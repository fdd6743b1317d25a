/// Writes a synthetic scene folder that `ov3d fuse`, `ov3d train` and `ov3d eval` read as it
/// is (layout in `docs/synthetic.md`): the mesh, the points with labels, the frames in ScanNet's
/// exported-frames layout (colour, depth in mm, labels, instances, pose, intrinsics) with each
/// simulated teacher's feature maps and a fusion manifest per teacher, the teachers' fused
/// per-point features (training targets) and mask, the annotation-free capability tables, the
/// evaluation of every teacher and of their agglomerations, and an `ov3d train` config.
public enum SyntheticSceneExport {
    public struct Options: Sendable {
        /// Write every frame's teacher feature maps (the bulk of the folder) and manifests.
        public var frameFeatures = true
        /// Capability images per class (nil = the preset's).
        public var capabilityImagesPerClass: Int?
        public var threads = 0
        public init() {}
    }

    public struct Summary: Sendable {
        public var stats: SyntheticStats
        public var rows: [(name: String, miou: Double, macc: Double)]
        public var capabilities: CapabilityTable
        public var oracleCapabilities: CapabilityTable
        public var errorPatterns: [(teacher: String, pattern: [(String, String, Double)])]
        public var teacherNames: [String]
    }

    /// ScanNet-style frame id of frame i (OpenScene fuses every 20th frame of a sequence).
    public static func frameID(_ i: Int) -> String { String(20 * i) }

    public static func run(preset: SyntheticPreset, seed: UInt64, space: TeacherTextSpace, out: String,
                           options: Options = Options(), progress: Progress = .none) throws -> Summary {
        let scene = try SyntheticScene.generate(preset: preset, seed: seed, threads: options.threads, progress: progress)
        let dirs = ["frames/color", "frames/depth", "frames/label", "frames/instance", "frames/pose", "frames/intrinsic",
                    "teachers", "capabilities", "vocabulary"]
        for d in dirs { try FileIO.makeDirectories(FileIO.join(out, d)) }
        func path(_ p: String) -> String { FileIO.join(out, p) }
        let pts = scene.points, n = pts.count
        try require(n > 0, "synth: the scene has no points")

        // geometry and labels
        try writeMesh(scene.world, to: path("mesh.ply"))
        try NPY.write(pts.positions, shape: [n, 3], path: path("points.npy"))
        try NPY.write(try pts.colors.withUnsafeBytes { try Tensor(dtype: .uint8, shape: [n, 3], bytes: $0) }, path: path("colors.npy"))
        try NPY.write(pts.normals, shape: [n, 3], path: path("normals.npy"))
        try NPY.write(try Tensor(int32: pts.labels, shape: [n]), path: path("labels.npy"))
        try NPY.write(try Tensor(int32: pts.instances, shape: [n]), path: path("instances.npy"))
        try CloudFile.write(pts.cloud, to: path("points.ply"), format: .plyBinaryLE)

        try writeFrames(scene: scene, out: out)

        // teachers: feature maps, manifests, fused per-point features
        let teachers = SyntheticTeachers.standard(preset: preset, space: space, seed: seed)
        let params = FusionParams(threads: options.threads)
        var fused: [FusedTeacher] = [], other: [FusedTeacher] = []
        var mask: [UInt8] = []
        for teacher in teachers {
            let r = try writeTeacher(scene: scene, teacher: teacher, out: out, frameFeatures: options.frameFeatures,
                                     threads: options.threads, progress: progress)
            mask = r.mask
            if teacher.textAligned { fused.append(r) } else { other.append(r) }
        }
        try NPY.write(try mask.withUnsafeBytes { try Tensor(dtype: .uint8, shape: [n], bytes: $0) }, path: path("teachers/mask.npy"))

        // annotation-free capabilities (generated single-object images), and the oracle for comparison
        let text = teachers.compactMap { $0 as? TextAlignedTeacher }
        let capabilities = try GeneratedImageCapabilities.build(teachers: text, imagesPerClass: options.capabilityImagesPerClass ?? preset.capabilityImagesPerClass,
                                                                seed: seed ^ 0xCAB, threads: options.threads)
        let oracle = try GeneratedImageCapabilities.oracle(teachers: text, frames: scene.frames, world: scene.world, threads: options.threads)
        for (ti, t) in text.enumerated() {
            let row = Array(capabilities.values[(ti * capabilities.classes)..<((ti + 1) * capabilities.classes)])
            try NPY.write(row, shape: [row.count], path: path("capabilities/\(t.name)_miou.npy"))
            let orow = Array(oracle.values[(ti * oracle.classes)..<((ti + 1) * oracle.classes)])
            try NPY.write(orow, shape: [orow.count], path: path("capabilities/oracle_\(t.name)_miou.npy"))
        }
        try NPY.write(capabilities.values, shape: [capabilities.teachers, capabilities.classes], path: path("capabilities/table.npy"))
        try NPY.write(space.vocabulary.embeddings, shape: [space.classes, space.dimension], path: path("vocabulary/embeddings.npy"))
        try FileIO.write(path("vocabulary/names.txt"), text: space.vocabulary.names.joined(separator: "\n") + "\n")

        // evaluation
        let gt = SyntheticEvaluation.groundTruth(labels: pts.labels, seen: mask)
        try NPY.write(try Tensor(int32: gt, shape: [n]), path: path("labels_seen.npy"))
        let rows = try SyntheticEvaluation.compare(teachers: fused, vocabulary: space.vocabulary, groundTruth: gt,
                                                   capabilities: [("capability-guided (annotation-free)", capabilities),
                                                                  ("capability-guided (oracle table)", oracle)], threads: options.threads)
        var probeRows: [(name: String, miou: Double, macc: Double)] = []
        for t in other {
            let m = try SyntheticEvaluation.linearProbe(features: t.features, dimension: t.dimension, positions: pts.positions,
                                                        groundTruth: gt, classes: space.classes)
            probeRows.append(("\(t.name) (linear probe, other half)", m.meanIoU, m.meanAccuracy))
        }
        var patterns: [(teacher: String, pattern: [(String, String, Double)])] = []
        for t in fused {
            let labels = try space.vocabulary.classify(features: t.features, threads: options.threads).labels
            patterns.append((t.name, SyntheticEvaluation.errorPattern(predictions: labels, groundTruth: gt, classes: space.classes)))
        }
        let stats = try SyntheticStats(scene: scene, params: params)
        let summary = Summary(stats: stats, rows: rows.map { ($0.name, $0.metrics.meanIoU, $0.metrics.meanAccuracy) } + probeRows,
                              capabilities: capabilities, oracleCapabilities: oracle, errorPatterns: patterns, teacherNames: teachers.map(\.name))
        try writeConfigs(scene: scene, teachers: teachers, space: space, summary: summary, out: out)
        return summary
    }

    /// Writes the frames in ScanNet's exported layout under `out/frames`: `color/<id>.png`,
    /// `depth/<id>.png` (16-bit mm), `label/<id>.png` (ScanNet-20 class + 1, 0 = none),
    /// `instance/<id>.png`, `pose/<id>.txt` (camera-to-world 4×4) and `intrinsic/*.txt`.
    public static func writeFrames(scene: SyntheticScene, out: String) throws {
        for d in ["frames/color", "frames/depth", "frames/label", "frames/instance", "frames/pose", "frames/intrinsic"] {
            try FileIO.makeDirectories(FileIO.join(out, d))
        }
        func path(_ p: String) -> String { FileIO.join(out, p) }
        let preset = scene.preset
        let k = scene.frames.first?.intrinsics ?? .scanNetDepth(width: preset.imageWidth, height: preset.imageHeight)
        let kText = matrixText([Double(k.fx), 0, Double(k.cx), 0, 0, Double(k.fy), Double(k.cy), 0, 0, 0, 1, 0, 0, 0, 0, 1], rows: 4)
        try FileIO.write(path("frames/intrinsic/intrinsic_depth.txt"), text: kText)
        try FileIO.write(path("frames/intrinsic/intrinsic_color.txt"), text: kText)
        let identity = matrixText([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], rows: 4)
        try FileIO.write(path("frames/intrinsic/extrinsic_depth.txt"), text: identity)
        try FileIO.write(path("frames/intrinsic/extrinsic_color.txt"), text: identity)
        for (i, f) in scene.frames.enumerated() {
            let id = frameID(i)
            try PNGFile.write(f.color, width: k.width, height: k.height, channels: 3, to: path("frames/color/\(id).png"))
            try PNGFile.write16(f.depth, width: k.width, height: k.height, to: path("frames/depth/\(id).png"))
            try PNGFile.write16(f.labels.map { $0 >= 0 && $0 < 255 ? UInt16($0 + 1) : 0 }, width: k.width, height: k.height,
                                to: path("frames/label/\(id).png"))
            try PNGFile.write16(f.instances.map { UInt16(clamping: $0) }, width: k.width, height: k.height, to: path("frames/instance/\(id).png"))
            try FileIO.write(path("frames/pose/\(id).txt"), text: matrixText(f.pose.cameraToWorld, rows: 4))
        }

    }

    /// Runs one teacher over the frames, writes its maps (`frames/features/<name>/<id>.npy`,
    /// float16) and manifest (`frames/<name>.json`) when `frameFeatures`, and its fused per-point
    /// features `teachers/<name>.npy` (float32; text-aligned ones also `<name>_labels.npy`, 256 = unseen).
    public static func writeTeacher(scene: SyntheticScene, teacher: any SimulatedFeatureTeacher, out: String, frameFeatures: Bool,
                                    threads: Int, progress: Progress = .none) throws -> FusedTeacher {
        func path(_ p: String) -> String { FileIO.join(out, p) }
        try FileIO.makeDirectories(path("teachers"))
        let n = scene.points.count
        let k = scene.frames.first?.intrinsics ?? .scanNetDepth(width: scene.preset.imageWidth, height: scene.preset.imageHeight)
        if frameFeatures { try FileIO.makeDirectories(path("frames/features/\(teacher.name)")) }
        let r = try scene.fuseTeacher(teacher, params: FusionParams(threads: threads), progress: progress) { i, map in
            guard frameFeatures else { return }
            try NPY.write(map, path: path("frames/features/\(teacher.name)/\(frameID(i)).npy"))
        }
        if frameFeatures {
            let entries: [JSON] = scene.frames.indices.map { i in
                .object([("depth", .string("depth/\(frameID(i)).png")), ("features", .string("features/\(teacher.name)/\(frameID(i)).npy")),
                         ("intrinsics", jsonMatrix(k.matrix, rows: 3)), ("pose", jsonMatrix(scene.frames[i].pose.cameraToWorld, rows: 4))])
            }
            try FileIO.write(path("frames/\(teacher.name).json"), text: JSON.object([("depth_scale", .number(1000)), ("frames", .array(entries))]).description + "\n")
        }
        try NPY.write(r.features, shape: [n, r.dimension], path: path("teachers/\(teacher.name).npy"))
        if let text = teacher as? TextAlignedTeacher {
            let labels = try text.space.vocabulary.classify(features: r.features, threads: threads).labels
            let pred = (0..<n).map { r.mask[$0] != 0 ? labels[$0] : 256 }
            try NPY.write(try Tensor(int32: pred, shape: [n]), path: path("teachers/\(teacher.name)_labels.npy"))
        }
        return r
    }

    static func writeConfigs(scene: SyntheticScene, teachers: [any SimulatedFeatureTeacher], space: TeacherTextSpace,
                             summary: Summary, out: String) throws {
        let n = scene.points.count
        let train = JSON.object([
            ("model", .object([("architecture", .string("MinkUNet18A")), ("in_channels", .number(3)),
                               ("heads", .object([("final", .number(Double(space.dimension)))]))])),
            ("data", .object([("scenes", .array([.object([("points", .string("points.npy")), ("voxel_size", .number(0.02)),
                                                          ("targets", .object([("final", .string("teachers/lseg.npy"))])),
                                                          ("mask", .string("teachers/mask.npy"))])])),
                              ("voxel_size", .number(0.02)), ("batch_size", .number(1)), ("shuffle", .bool(false)), ("augment", .bool(false))])),
            ("loss", .object([("final", .object([("type", .string("cosine")), ("weight", .number(1))]))])),
            ("optimizer", .object([("type", .string("adam")), ("lr", .number(0.001)), ("betas", .array([.number(0.9), .number(0.999)])),
                                   ("eps", .number(1e-8)), ("weight_decay", .number(0))])),
            ("schedule", .object([("type", .string("constant"))])),
            ("steps", .number(10)), ("seed", .number(0)), ("threads", .number(1)), ("out", .string("trained.safetensors")),
        ])
        try FileIO.write(FileIO.join(out, "train.json"), text: train.description + "\n")
        let teacherJSON: [JSON] = teachers.map { t in
            .object([("name", .string(t.name)), ("dimension", .number(Double(t.dimension))), ("text_aligned", .bool(t.textAligned)),
                     ("feature_size", .array([.number(Double(t.featureWidth)), .number(Double(t.featureHeight))])),
                     ("fused", .string("teachers/\(t.name).npy")), ("manifest", .string("frames/\(t.name).json"))])
        }
        let rows: [JSON] = summary.rows.map { .object([("method", .string($0.name)), ("miou", .number($0.miou)), ("macc", .number($0.macc))]) }
        let scene = JSON.object([
            ("simulated", .string("synthetic world and SIMULATED teachers: not real LSeg/SEEM/DINOv2/Stable Diffusion outputs; the numbers say nothing of real-world accuracy")),
            ("preset", .string(scene.preset.name)), ("seed", .number(Double(scene.seed))), ("points", .number(Double(n))),
            ("classes", .array(SyntheticWorld.classNames.map { .string($0) })), ("ignore_label", .number(255)),
            ("vocabulary", .string(space.source)), ("stats", summary.stats.json), ("teachers", .array(teacherJSON)),
            ("evaluation", .array(rows)),
            ("fusion", .object([("visibility_threshold", .number(0.25)), ("cut_bound", .number(10)), ("depth_scale", .number(1000))])),
        ])
        try FileIO.write(FileIO.join(out, "scene.json"), text: scene.description + "\n")
    }

    static func matrixText(_ m: [Double], rows: Int) -> String {
        let cols = m.count / rows
        return (0..<rows).map { r in (0..<cols).map { String(m[r * cols + $0]) }.joined(separator: " ") }.joined(separator: "\n") + "\n"
    }

    static func jsonMatrix(_ m: [Double], rows: Int) -> JSON {
        let cols = m.count / rows
        return .array((0..<rows).map { r in .array((0..<cols).map { .number(m[r * cols + $0]) }) })
    }

    /// The mesh as a PLY with per-vertex colour and label (a triangle soup: 3 vertices per face).
    static func writeMesh(_ world: SyntheticWorld, to path: String) throws {
        let mesh = world.mesh
        var cloud = PointCloud()
        cloud.positions = mesh.vertices
        var faces: [Int32] = []
        faces.reserveCapacity(3 * mesh.triangleCount)
        for t in 0..<mesh.triangleCount {
            let part = world.parts[Int(mesh.partOfTriangle[t])]
            let label = world.objects[Int(part.object)].label
            for k in 0..<3 {
                for c in 0..<3 { cloud.colors.append(UInt8(max(0, min(255, (part.colour[c] * 255).rounded())))) }
                cloud.labels.append(label)
                faces.append(Int32(3 * t + k))
            }
        }
        try CloudFile.write(cloud, faces: faces, to: path, format: .plyBinaryLE)
    }
}
