/// The end-to-end demo on the synthetic world (`ov3d demo`, `make demo`): a generated room
/// (`SyntheticScene`: points, a handheld RGB-D walk), its two SIMULATED text-aligned teachers
/// (LSeg-like, SEEM-like) run per frame and fused onto the points by `FusionSession` (the code
/// `ov3d fuse` runs on a manifest), SAS's annotation-free capability table
/// (`GeneratedImageCapabilities`: single-object generated images only, never this room's labels),
/// agglomeration (`SyntheticEvaluation.compare`: each teacher, mean, max similarity,
/// capability-guided), a majority vote per supervoxel (`Segmenter` with VCCS superpoints), and —
/// when a 3D network is given — its per-point features scored as "3D distilled", OpenScene's
/// max-score "2D-3D ensemble" with the capability-fused 2D features, and on every labelled point.
/// Everything is scored with ov3d's evaluation (`SegmentationMetrics`, standard convention:
/// classes present; unseen and unlabelled points ignored except in the every-point row).
/// Deterministic for (preset, seed, threads). The numbers are SYNTHETIC (docs/synthetic.md).
public enum SyntheticDemo {
    public struct Options: Sendable {
        public var preset: SyntheticPreset = .small
        public var seed: UInt64 = 1
        /// RGB-D frames along the walk (nil = the preset's).
        public var frames: Int? = nil
        /// Generated single-object images per class for the capability table (nil = the preset's).
        public var capabilityImagesPerClass: Int? = nil
        /// Softmax temperature of the capability-guided fusion (SAS: 0.05).
        public var temperature: Float = 0.05
        /// VCCS supervoxels of the superpoint vote (colour-aware: a door stays apart from its wall).
        public var supervoxelResolution: Float = 0.03
        public var supervoxelSeedResolution: Float = 0.2
        public var threads = 0
        /// Bytes the heavy stages may allocate (fusion, superpoints, the network's workspace).
        public var memoryLimit: Int? = nil
        public init() {}
    }

    /// The 3D network run by the demo and the voxel size it runs at.
    public struct Network {
        public var model: MinkUNet
        public var voxelSize: Double
        /// Where the weights come from (a path, "random weights").
        public var source: String
        /// Score its features (false: run for timing only, e.g. random weights).
        public var scored: Bool
        public init(model: MinkUNet, voxelSize: Double, source: String, scored: Bool = true) {
            self.model = model; self.voxelSize = voxelSize; self.source = source; self.scored = scored
        }
    }

    /// One scored method: its name, metrics, and per-point labels (-1 = no label) and scores.
    public struct Row: Sendable {
        public var name: String
        public var metrics: SegmentationMetrics
        public var labels: [Int32]
        public var scores: [Float]
        /// Whether the row is scored on every labelled point (the 3D network alone), not only the seen ones.
        public var everyLabelledPoint: Bool
    }

    public struct Result: Sendable {
        public var scene: SyntheticScene
        public var space: TeacherTextSpace
        /// The fused teachers' names (their features are not kept: N × D each).
        public var teachers: [String]
        /// The annotation-free capability table (teachers × classes).
        public var capabilities: CapabilityTable
        /// 1 where at least one frame saw the point.
        public var seen: [UInt8]
        /// ScanNet-20 labels with 255 where unlabelled or unseen (what the 2D rows are scored on).
        public var groundTruth: [Int32]
        public var rows: [Row]
        /// The capability-guided segmentation (its kept features answer word queries).
        public var capabilitySegmentation: SegmentationResult
        public var superpointCount: Int
        /// The network's voxel count, GFLOP and milliseconds (nil without a network).
        public var networkVoxels: Int?
        public var networkGFLOP: Double?
        public var networkMs: Double?
        /// Whether the network's first head lives in the vocabulary's text space (its rows are scored).
        public var networkScored: Bool
        /// Seconds per stage, in order.
        public var stageSeconds: [(String, Double)]
    }

    public static func run(options o: Options, space: TeacherTextSpace, network: Network? = nil,
                           log: (String) -> Void = { _ in }, progress: Progress = .none) throws -> Result {
        var preset = o.preset
        if let f = o.frames {
            try require(f >= 1 && f <= 10_000, "demo: frames must be 1...10000, got \(f)")
            preset.frames = f
        }
        var stages: [(String, Double)] = []
        var t = Segmenter.nowMs()
        func stage(_ name: String) { let n = Segmenter.nowMs(); stages.append((name, (n - t) / 1000)); t = n }

        // 1. The room, its points and the handheld RGB-D walk.
        let scene = try SyntheticScene.generate(preset: preset, seed: o.seed, threads: o.threads, progress: progress)
        let n = scene.points.count
        try require(n > 0, "demo: the generated room has no points")
        stage("room, points, frames")
        log("room: preset \(preset.name), seed \(o.seed), \(scene.world.objects.count) objects, \(n) points, \(scene.frames.count) RGB-D frames \(preset.imageWidth)×\(preset.imageHeight)")

        // 2. The text-aligned SIMULATED teachers, per frame, fused onto the points as `ov3d fuse` fuses.
        let teachers = SyntheticTeachers.standard(preset: preset, space: space, seed: o.seed).compactMap { $0 as? TextAlignedTeacher }
        var params = FusionParams(threads: o.threads)
        params.memoryLimit = o.memoryLimit
        var fused: [FusedTeacher] = []
        for teacher in teachers { fused.append(try scene.fuseTeacher(teacher, params: params, progress: progress)) }
        let teacherNames = fused.map(\.name)
        var seen = [UInt8](repeating: 0, count: n)
        for f in fused { for i in 0..<n where f.mask[i] != 0 { seen[i] = 1 } }
        let seenCount = seen.reduce(0) { $0 + Int($1) }
        stage("teachers + fusion")
        log("fusion: \(teachers.map(\.name).joined(separator: ", ")) over \(scene.frames.count) frames; \(seenCount) of \(n) points seen (the rest have no 2D feature and are not scored)")

        // 3. SAS's annotation-free capabilities: generated single-object images only.
        let capabilities = try GeneratedImageCapabilities.build(
            teachers: teachers, imagesPerClass: o.capabilityImagesPerClass ?? preset.capabilityImagesPerClass,
            seed: o.seed ^ 0xCAB, threads: o.threads)
        stage("capabilities")
        log("capabilities: \(o.capabilityImagesPerClass ?? preset.capabilityImagesPerClass) generated single-object images per class (annotation-free)")

        // 4. Agglomeration and scoring.
        let vocabulary = space.vocabulary
        let gt = SyntheticEvaluation.groundTruth(labels: scene.points.labels, seen: seen)
        let capabilityName = "SAS capability-guided (τ = \(DecimalText.fixed(o.temperature, decimals: 2)))"
        var rows: [Row] = []
        // Only the capability-guided segmentation is kept whole (its unit features answer the
        // heat-map query); the other rows keep labels and scores (each result holds N × D floats).
        var capabilitySegmentation: SegmentationResult? = nil
        func add(_ name: String, _ r: SegmentationResult, groundTruth: [Int32] = gt, every: Bool = false) throws {
            let m = try SegmentationMetrics.evaluate(predictions: r.labels, groundTruth: groundTruth, classes: vocabulary.count, ignore: 255)
            rows.append(Row(name: name, metrics: m, labels: r.labels, scores: r.scores, everyLabelledPoint: every))
            if name == capabilityName { capabilitySegmentation = r }
        }
        // Scored in a scope of their own, so that only the features used further on stay in memory
        // (N × D floats per method).
        let (meanFeatures, capabilityFeatures): ([Float], [Float]) = try {
            let compared = try SyntheticEvaluation.compare(teachers: fused, vocabulary: vocabulary, groundTruth: gt,
                                                           capabilities: [(capabilityName, capabilities)],
                                                           temperature: o.temperature, threads: o.threads)
            fused = []
            for c in compared {
                // The library's segmentation of per-point features (the pipeline behind `ov3d segment`),
                // restricted to the seen points (the others get -1).
                try add(c.name, try Segmenter.segment(pointFeatures: c.features, mask: seen, vocabulary: vocabulary, threads: o.threads))
            }
            return (compared.first { $0.name == "mean of teachers" }!.features, compared.last!.features)
        }()
        stage("agglomeration")

        // 5. Supervoxels and a majority vote per supervoxel.
        var sp = PCLSegmentation.VCCSParams()
        sp.voxelResolution = o.supervoxelResolution
        sp.seedResolution = o.supervoxelSeedResolution
        let superpoints = try Superpoints.compute(scene.points.cloud, method: .vccs(sp), memoryLimit: o.memoryLimit)
        try add("mean + superpoint vote", try Segmenter.segment(pointFeatures: meanFeatures, mask: seen, vocabulary: vocabulary,
                                                                superpoints: superpoints.ids, threads: o.threads))
        try add("capability-guided + superpoint vote", try Segmenter.segment(pointFeatures: capabilityFeatures, mask: seen, vocabulary: vocabulary,
                                                                             superpoints: superpoints.ids, threads: o.threads))
        stage("superpoints")
        log("superpoints: \(superpoints.count) supervoxels (PCL VCCS, seed \(o.supervoxelSeedResolution) m)")

        // 6. The 3D network on the voxelised room.
        var voxels: Int? = nil, gflop: Double? = nil, ms: Double? = nil, scored = false
        if let network {
            let ws = Workspace(memoryLimit: o.memoryLimit)
            let t0 = Segmenter.nowMs()
            let out = try network.model.run(points: scene.points.positions, voxelSize: network.voxelSize, threads: o.threads, workspace: ws)
            ms = Segmenter.nowMs() - t0
            voxels = out.voxels.voxelCount
            gflop = out.output.flops / 1e9
            log("3D network \(network.model.spec.variantName) (\(network.source)): \(out.voxels.voxelCount) voxels at \(network.voxelSize) m in \(Int(ms!)) ms")
            if !network.scored {
                log("3D network: \(network.source): not scored")
            } else if network.model.spec.heads.first?.dim == vocabulary.dimension {
                scored = true
                let f3d = try out.pointFeatures(head: 0, normalized: true, threads: o.threads)
                try add("3D distilled", try Segmenter.segment(pointFeatures: f3d, mask: seen, vocabulary: vocabulary, threads: o.threads))
                try add("3D distilled + superpoint vote", try Segmenter.segment(pointFeatures: f3d, mask: seen, vocabulary: vocabulary,
                                                                                superpoints: superpoints.ids, threads: o.threads))
                // OpenScene's 2D-3D ensemble: per point the 3D or the capability-fused 2D feature,
                // whichever scores its best class higher (points without a 2D feature take the 3D one).
                let ens = try FeatureEnsemble.labels(mode: .ensemble(.maxScore), features3D: f3d, features2D: capabilityFeatures,
                                                     mask2D: seen, vocabulary: vocabulary, threads: o.threads)
                let all = try Segmenter.segment(pointFeatures: f3d, vocabulary: vocabulary, threads: o.threads)
                let ensScores = (0..<n).map { seen[$0] != 0 ? all.scores[$0] : Float.nan }
                let em = try SegmentationMetrics.evaluate(predictions: ens, groundTruth: gt, classes: vocabulary.count, ignore: 255)
                rows.append(Row(name: "2D-3D ensemble", metrics: em, labels: (0..<n).map { seen[$0] != 0 ? ens[$0] : -1 },
                                scores: ensScores, everyLabelledPoint: false))
                // The 3D network labels the points no camera saw too (scored on every labelled point).
                let everyGT = scene.points.labels.map { $0 == SyntheticWorld.unlabelled ? Int32(255) : $0 }
                try add("3D distilled, every labelled point", all, groundTruth: everyGT, every: true)
            } else {
                log("3D network: its first head is \(network.model.spec.heads.first?.dim ?? 0)-d, the vocabulary \(vocabulary.dimension)-d: not scored")
            }
            stage("3D network")
        }
        return Result(scene: scene, space: space, teachers: teacherNames, capabilities: capabilities, seen: seen, groundTruth: gt,
                      rows: rows, capabilitySegmentation: capabilitySegmentation!, superpointCount: superpoints.count,
                      networkVoxels: voxels, networkGFLOP: gflop, networkMs: ms, networkScored: scored, stageSeconds: stages)
    }
}
