/// Real geometry, SIMULATED teachers: writes a labelled ScanNet scene of `scannet_votenet50k`
/// (`S_vert.npy` N×6 x y z r g b, `S_sem_label.npy` NYU40 ids, `S_ins_label.npy` instance ids;
/// `../shared/data/README.md` §1) as a scene folder in the layout of `SyntheticSceneExport`
/// (docs/synthetic.md), so `ov3d train`, `ov3d eval`, `ov3d agglomerate` and `ov3d superpoints`
/// read it as they read a synthetic room: points, colours, normals, ScanNet-20 labels,
/// instances, the four simulated teachers applied at point level — the text-aligned LSeg- and
/// SEEM-like ones (`PointLevelTeachers.features`: per-instance reports over simulated views,
/// per-point noise, neighbourhood mixing) and the DINOv2- and diffusion-like ones
/// (`PointLevelTeachers.geometric` / `.diffusion`: the teachers' own per-sample feature on the
/// points' positions, estimated normals, labels, instances and colours; `teachers/dinov2.npy`,
/// `teachers/diffusion.npy`, the targets of CUA-O3D's `final_dinov2` / `final_sd` heads) — the
/// text teachers' annotation-free capability table (generated single-object images, never this
/// scene's labels), the vocabulary, the text teachers' evaluation and an `ov3d train` config.
/// There are no frames or mesh (the source has none).
public enum ScanNetSceneExport {
    public struct Options: Sendable {
        /// Simulated views per instance and kNN boundary-mixing neighbours (`PointLevelTeachers`;
        /// the views are the text and diffusion-like teachers' reports).
        public var views = 4
        public var neighbours = 4
        /// Generated images per class for the annotation-free capabilities.
        public var capabilityImagesPerClass = 2
        public var threads = 0
        public init() {}
    }

    public struct Summary: Sendable {
        public var scene: String
        public var points: Int
        public var classesPresent: Int
        public var instances: Int
        public var rows: [(name: String, miou: Double, macc: Double)]
        public var errorPatterns: [(teacher: String, pattern: [(String, String, Double)])]
        public var teacherNames: [String]
    }

    /// The scenes a path names: a `*_vert.npy` (or `*_sem_label.npy` / `*_ins_label.npy`) file, a
    /// prefix `DIR/scene0000_00`, or a folder (every `*_vert.npy` in it, sorted). Returns the
    /// path prefixes (`DIR/scene0000_00`); the three files of each must exist.
    public static func scenes(at path: String) throws -> [String] {
        var prefixes: [String] = []
        if FileIO.isDirectory(path) {
            let names = try FileIO.listDirectory(path).filter { $0.hasSuffix("_vert.npy") }.sorted()
            try require(!names.isEmpty, "scannet scene: no *_vert.npy in \(path)")
            prefixes = names.map { FileIO.join(path, String($0.dropLast("_vert.npy".count))) }
        } else {
            var p = path
            for suffix in ["_vert.npy", "_sem_label.npy", "_ins_label.npy"] where p.hasSuffix(suffix) { p = String(p.dropLast(suffix.count)) }
            prefixes = [p]
        }
        for p in prefixes {
            for suffix in ["_vert.npy", "_sem_label.npy", "_ins_label.npy"] where !FileIO.exists(p + suffix) {
                throw OV3DError.io("scannet scene: cannot open \(p + suffix) (scannet_votenet50k layout: S_vert.npy, S_sem_label.npy, S_ins_label.npy)")
            }
        }
        return prefixes
    }

    /// The scene's name (`scene0000_00`) from its prefix.
    public static func name(_ prefix: String) -> String {
        String(prefix.split(separator: "/", omittingEmptySubsequences: true).last ?? Substring(prefix))
    }

    /// Reads one scene (prefix from `scenes(at:)`): positions N×3, colours N×3, ScanNet-20 labels, instances.
    public static func read(_ prefix: String) throws -> (positions: [Float], colors: [UInt8], labels: [Int32], instances: [Int32]) {
        let v = try NPY.read(path: prefix + "_vert.npy")
        try require(v.dtype.isFloatingPoint && v.rank == 2 && v.shape[1] >= 3 && v.shape[0] >= 1,
                    "\(prefix)_vert.npy: expected an N×6 (x y z r g b) float array, got \(v.dtype.rawValue) \(v.shape)")
        let n = v.shape[0], c = v.shape[1]
        let f = v.floats()
        let sem = try NPY.read(path: prefix + "_sem_label.npy"), ins = try NPY.read(path: prefix + "_ins_label.npy")
        try require(!sem.dtype.isFloatingPoint && sem.count == n, "\(prefix)_sem_label.npy: expected \(n) integer NYU40 ids")
        try require(!ins.dtype.isFloatingPoint && ins.count == n, "\(prefix)_ins_label.npy: expected \(n) integer instance ids")
        var pos = [Float](repeating: 0, count: 3 * n), col = [UInt8](repeating: 128, count: 3 * n)
        for i in 0..<n {
            for k in 0..<3 {
                let x = f[c * i + k]
                try require(x.isFinite, "\(prefix)_vert.npy: point \(i) has a non-finite coordinate")
                pos[3 * i + k] = x
                if c >= 6 { let y = f[c * i + 3 + k]; col[3 * i + k] = y.isFinite ? UInt8(max(0, min(255, y.rounded()))) : 0 }
            }
        }
        let labels = PointLevelTeachers.scanNet20(fromNYU40: try sem.int64s().map { $0 >= 0 && $0 < 1 << 31 ? UInt32($0) : 255 })
        let instances = try ins.int64s().map { Int32(clamping: $0) }
        return (pos, col, labels, instances)
    }

    /// Writes scene `prefix` into `out` (created). Deterministic for (scene, seed, options) and a thread count.
    public static func run(scene prefix: String, seed: UInt64, space: TeacherTextSpace, out: String,
                           options: Options = Options()) throws -> Summary {
        let s = try read(prefix)
        let n = s.labels.count
        for d in ["teachers", "capabilities", "vocabulary"] { try FileIO.makeDirectories(FileIO.join(out, d)) }
        func path(_ p: String) -> String { FileIO.join(out, p) }

        let normals = try PointNormals.estimate(s.positions, k: 12).normals.map { $0.isFinite ? $0 : 0 }
        try NPY.write(s.positions, shape: [n, 3], path: path("points.npy"))
        try NPY.write(try s.colors.withUnsafeBytes { try Tensor(dtype: .uint8, shape: [n, 3], bytes: $0) }, path: path("colors.npy"))
        try NPY.write(normals, shape: [n, 3], path: path("normals.npy"))
        try NPY.write(try Tensor(int32: s.labels, shape: [n]), path: path("labels.npy"))
        // every point gets a (point-level) teacher feature: labels_seen is labels
        try NPY.write(try Tensor(int32: s.labels, shape: [n]), path: path("labels_seen.npy"))
        try NPY.write(try Tensor(int32: s.instances, shape: [n]), path: path("instances.npy"))
        try CloudFile.write(PointCloud(positions: s.positions, colors: s.colors, normals: normals, labels: s.labels),
                            to: path("points.ply"), format: .plyBinaryLE)

        // the simulated teachers (the synthetic world's small-preset ones, same seeds), at point level
        let teachers = SyntheticTeachers.standard(preset: .small, space: space, seed: seed)
        let text = teachers.compactMap { $0 as? TextAlignedTeacher }
        let mask = [UInt8](repeating: 1, count: n)
        var fused: [FusedTeacher] = []
        for t in text {
            let f = try PointLevelTeachers.features(teacher: t, positions: s.positions, labels: s.labels, instances: s.instances,
                                                    views: options.views, neighbours: options.neighbours, seed: seed)
            try NPY.write(f, shape: [n, t.dimension], path: path("teachers/\(t.name).npy"))
            let labels = try space.vocabulary.classify(features: f, threads: options.threads).labels
            try NPY.write(try Tensor(int32: labels, shape: [n]), path: path("teachers/\(t.name)_labels.npy"))
            fused.append(FusedTeacher(name: t.name, dimension: t.dimension, textAligned: true, features: f, mask: mask))
        }
        try NPY.write(try mask.withUnsafeBytes { try Tensor(dtype: .uint8, shape: [n], bytes: $0) }, path: path("teachers/mask.npy"))
        // the DINOv2- and diffusion-like teachers (not text-aligned: CUA-O3D's other two targets)
        var other: [(name: String, dimension: Int)] = []
        for t in teachers {
            let f: [Float]
            if let g = t as? GeometricTeacher {
                f = try PointLevelTeachers.geometric(teacher: g, positions: s.positions, normals: normals, labels: s.labels,
                                                     instances: s.instances, neighbours: options.neighbours, seed: seed)
            } else if let df = t as? DiffusionTeacher {
                f = try PointLevelTeachers.diffusion(teacher: df, positions: s.positions, colors: s.colors, labels: s.labels,
                                                     instances: s.instances, views: options.views, neighbours: options.neighbours, seed: seed)
            } else { continue }
            try NPY.write(f, shape: [n, t.dimension], path: path("teachers/\(t.name).npy"))
            other.append((t.name, t.dimension))
        }

        // annotation-free capabilities (generated single-object images, not this scene's labels)
        let table = try GeneratedImageCapabilities.build(teachers: text, imagesPerClass: options.capabilityImagesPerClass,
                                                         seed: seed ^ 0xCAB, threads: options.threads)
        for (ti, t) in text.enumerated() {
            let row = Array(table.values[(ti * table.classes)..<((ti + 1) * table.classes)])
            try NPY.write(row, shape: [row.count], path: path("capabilities/\(t.name)_miou.npy"))
        }
        try NPY.write(table.values, shape: [table.teachers, table.classes], path: path("capabilities/table.npy"))
        try NPY.write(space.vocabulary.embeddings, shape: [space.classes, space.dimension], path: path("vocabulary/embeddings.npy"))
        try FileIO.write(path("vocabulary/names.txt"), text: space.vocabulary.names.joined(separator: "\n") + "\n")

        // evaluation of each teacher and of their agglomerations (standard convention, 255 ignored)
        let rows = try SyntheticEvaluation.compare(teachers: fused, vocabulary: space.vocabulary, groundTruth: s.labels,
                                                   capabilities: [("capability-guided (annotation-free)", table)], threads: options.threads)
        var patterns: [(teacher: String, pattern: [(String, String, Double)])] = []
        for t in fused {
            let labels = try space.vocabulary.classify(features: t.features, threads: options.threads).labels
            patterns.append((t.name, SyntheticEvaluation.errorPattern(predictions: labels, groundTruth: s.labels, classes: space.classes)))
        }
        let present = Set(s.labels.filter { $0 != 255 }).count
        let instances = Set(s.instances.filter { $0 > 0 }).count
        let summary = Summary(scene: name(prefix), points: n, classesPresent: present, instances: instances,
                              rows: rows.map { ($0.name, $0.metrics.meanIoU, $0.metrics.meanAccuracy) },
                              errorPatterns: patterns, teacherNames: text.map(\.name) + other.map(\.name))

        let train = JSON.object([
            ("model", .object([("architecture", .string("MinkUNet18A")), ("in_channels", .number(3)),
                               ("heads", .object([("final", .number(Double(space.dimension)))]))])),
            ("data", .object([("scenes", .array([.object([("points", .string("points.npy")),
                                                          ("targets", .object([("final", .string("teachers/lseg.npy"))])),
                                                          ("mask", .string("teachers/mask.npy"))])])),
                              ("voxel_size", .number(0.02)), ("batch_size", .number(1))])),
            ("loss", .object([("final", .object([("type", .string("cosine"))]))])),
            ("optimizer", .object([("type", .string("adam")), ("lr", .number(0.001))])),
            ("steps", .number(10)), ("seed", .number(0)), ("threads", .number(1)), ("out", .string("trained.safetensors")),
        ])
        try FileIO.write(path("train.json"), text: train.description + "\n")
        let meta = JSON.object([
            ("simulated", .string("real ScanNet geometry and labels with SIMULATED point-level teachers: not real LSeg/SEEM/DINOv2/Stable Diffusion outputs; the numbers say nothing of real-world accuracy")),
            ("source", .string("scannet_votenet50k")), ("scene", .string(summary.scene)), ("seed", .number(Double(seed))),
            ("points", .number(Double(n))), ("classes_present", .number(Double(present))), ("instances", .number(Double(instances))),
            ("classes", .array(SyntheticWorld.classNames.map { .string($0) })), ("ignore_label", .number(255)),
            ("vocabulary", .string(space.source)),
            ("point_teachers", .object([("views", .number(Double(options.views))), ("neighbours", .number(Double(options.neighbours))),
                                        ("capability_images_per_class", .number(Double(options.capabilityImagesPerClass)))])),
            ("teachers", .array(text.map { t in .object([("name", .string(t.name)), ("dimension", .number(Double(t.dimension))),
                                                         ("text_aligned", .bool(true)), ("fused", .string("teachers/\(t.name).npy"))]) }
                                + other.map { t in .object([("name", .string(t.name)), ("dimension", .number(Double(t.dimension))),
                                                            ("text_aligned", .bool(false)), ("fused", .string("teachers/\(t.name).npy"))]) })),
            ("evaluation", .array(summary.rows.map { .object([("method", .string($0.name)), ("miou", .number($0.miou)), ("macc", .number($0.macc))]) })),
        ])
        try FileIO.write(path("scene.json"), text: meta.description + "\n")
        return summary
    }
}
