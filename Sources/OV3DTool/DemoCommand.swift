import ArgumentParser
import Foundation
import OV3DCore

/// `ov3d demo`: the end-to-end path on data the project generates itself.
///
/// A synthetic room (labelled boxes) is sampled into a point cloud and rendered into posed
/// RGB-D frames; two simulated 2D open-vocabulary teachers with different per-class
/// capabilities produce feature maps in CLIP's text space; ov3d fuses each teacher's maps onto
/// the points, agglomerates the teachers, scores every point against the vocabulary, refines
/// over superpoints, evaluates against the ground truth and writes segmented / heat-map PLYs.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Run the end-to-end demo on a generated room (writes PLYs and a JSON report).")

    @Option(help: "Output folder.") var out = "out/demo"
    @Option(help: "Random seed of the generated room.") var seed: UInt64 = 1
    @Option(help: "Number of RGB-D frames to render.") var frames = 24
    @Option(help: "Threads (0 = all cores).") var threads = 0
    @OptionGroup var memory: MemoryOption
    @Option(help: "Word to build a similarity heat-map for.") var query = "chair"
    @Option(help: "Seed resolution (m) of the supervoxels used for the superpoint vote.") var seedResolution: Float = 0.2
    @Option(help: "A MinkUNet checkpoint (.pth / .safetensors) to run as the 3D network (`make demo` passes the one ov3d trains, examples/train/demo.json); default: a randomly initialised MinkUNet18A (timing only).")
    var checkpoint: String?
    @Option(help: "Folder with real CLIP label embeddings (clip_scannet_labels_512.npy); default: ../shared/data/clip/text_embeddings if present.")
    var embeddings: String?

    func run() throws { try failing("demo") { try execute() } }

    func execute() throws {
        let t0 = Date()
        func elapsed() -> String { String(format: "%6.2f s", Date().timeIntervalSince(t0)) }
        Threads.setBLASThreads(threads)
        // 0. The 3D network, first: a checkpoint that cannot be read fails before any work is done
        // and before the output folder exists.
        let net: MinkUNet
        var netSource: String
        if let checkpoint {
            net = try MinkUNet.load(path: checkpoint)
            netSource = checkpoint
        } else {
            let spec = try MinkUNetSpec.named("MinkUNet18A")
            net = try MinkUNet(stateDict: try spec.randomStateDict(seed: seed), spec: spec)
            netSource = "random weights"
        }
        // The voxel size the checkpoint was trained at (ov3d writes it into the metadata), else 2 cm.
        let netVoxel = try checkpoint.flatMap { try ModelMetadata(stateDict: try MinkUNet.readStateDict(path: $0)).voxelSize } ?? 0.02
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)

        // 1. World, cloud, frames.
        let room = SyntheticRoom.generate(seed: seed)
        let cloud = room.samplePoints(density: 900, seed: seed &+ 1)
        let rendered = room.renderOrbit(count: frames, width: 320, height: 240, threads: threads)
        print("[\(elapsed())] room: \(room.boxes.count) boxes, \(cloud.count) points, \(rendered.count) RGB-D frames 320×240")

        // 2. Vocabulary: real CLIP ViT-B/32 label embeddings when available, else generated.
        let vocab = try DemoVocabulary.load(classNames: room.classNames, folder: embeddings, seed: seed)
        print("[\(elapsed())] vocabulary: \(vocab.vocabulary.count) words × \(vocab.vocabulary.dimension)-d (\(vocab.source))")

        // 3. Two simulated teachers with complementary per-class capabilities.
        let classes = room.classNames.count
        let furniture: Set<String> = ["cabinet", "bed", "chair", "sofa", "table", "bookshelf", "desk", "refrigerator", "otherfurniture"]
        let teachers = [
            SimulatedTeacher(name: "teacher-A (good at furniture)",
                             accuracy: room.classNames.map { furniture.contains($0) ? 0.95 : 0.15 }, noise: 0.4, seed: seed &+ 11),
            SimulatedTeacher(name: "teacher-B (good at structure)",
                             accuracy: room.classNames.map { furniture.contains($0) ? 0.15 : 0.95 }, noise: 0.4, seed: seed &+ 23),
        ]

        // 4. Multi-view fusion of each teacher onto the points (online sessions, frame by frame).
        var fused: [FusionResult] = []
        for teacher in teachers {
            var fp = FusionParams(visibilityThreshold: 0.1, cutBound: 2, depthScale: 1000, threads: threads)
            fp.memoryLimit = memory.limit
            let session = try FusionSession(positions: cloud.positions, featureDim: vocab.vocabulary.dimension, params: fp)
            for (i, f) in rendered.enumerated() {
                let map = teacher.featureMap(for: f, vocabulary: vocab.vocabulary, outWidth: 160, outHeight: 120, frameIndex: i)
                let frame = try FusionFrame(
                    depthWidth: f.width, depthHeight: f.height, depth: f.depth,
                    intrinsics: try PinholeIntrinsics(fx: Double(f.fx), fy: Double(f.fy), cx: Double(f.cx), cy: Double(f.cy)),
                    pose: try CameraPose(cameraToWorld: f.pose.map(Double.init)),
                    features: try Tensor(map, shape: [120, 160, vocab.vocabulary.dimension]))
                _ = try session.addFrame(frame)
            }
            fused.append(session.snapshot())
        }
        let seen = fused[0].mask.reduce(0) { $0 + Int($1) }
        print("[\(elapsed())] fusion: \(seen) of \(cloud.count) points seen by at least one view (the rest are not scored)")

        // 5. Score, agglomerate, evaluate.
        var report: [(String, JSON)] = []
        var rows: [(String, SegmentationMetrics, [Int32], [Float])] = []
        // Points no view saw have no 2D feature: they are left out of the scores (ignore label),
        // as OpenScene's 2D-fusion evaluation does.
        let seenMask = fused[0].mask
        var seenByClass = [Int](repeating: 0, count: classes), totalByClass = [Int](repeating: 0, count: classes)
        for i in 0..<cloud.count { totalByClass[Int(cloud.labels[i])] += 1; seenByClass[Int(cloud.labels[i])] += Int(seenMask[i]) }
        report.append(("seen_share_per_class", .object((0..<classes).filter { totalByClass[$0] > 0 }.map {
            (room.classNames[$0], JSON.number(Double(seenByClass[$0]) / Double(totalByClass[$0])))
        })))
        let groundTruth = (0..<cloud.count).map { seenMask[$0] != 0 ? cloud.labels[$0] : 255 }
        // Scoring is the library's segmentation of per-point features (the pipeline behind
        // `ov3d segment`, `ov3d_segment` and the bindings), restricted to the points a view saw.
        @discardableResult
        func evaluate(_ name: String, _ features: [Float], superpoints: [Int32]? = nil) throws -> SegmentationResult {
            let r = try Segmenter.segment(pointFeatures: features, mask: seenMask, vocabulary: vocab.vocabulary,
                                          superpoints: superpoints, threads: threads)
            try record(name, r.labels, r.scores)
            return r
        }
        func record(_ name: String, _ labels: [Int32], _ scores: [Float]) throws {
            let m = try SegmentationMetrics.evaluate(predictions: labels, groundTruth: groundTruth, classes: classes, ignore: 255)
            rows.append((name, m, labels, scores))
        }
        for (t, r) in zip(teachers, fused) { try evaluate(t.name, r.features) }
        let mean = zip(fused[0].features, fused[1].features).map { ($0 + $1) / 2 }
        try evaluate("mean of teachers", mean)
        try evaluate("linear (max similarity)",
                     try TeacherFusion.fuse(teachers: fused.map(\.features), vocabulary: vocab.vocabulary, method: .maxSimilarity, threads: threads).features)

        // SAS capability-guided fusion: capabilities measured on the first third of the frames
        // against pseudo labels (here the renderer's ground truth, as SAM + annotation would give).
        var builder = try CapabilityBuilder(teachers: teachers.count, classes: classes)
        for (i, f) in rendered.enumerated() where i < max(1, rendered.count / 3) {
            for (t, teacher) in teachers.enumerated() {
                let predicted = teacher.labelMap(for: f, frameIndex: i, classes: classes)
                for c in 0..<classes {
                    let gt = f.labels.map { $0 == Int32(c) ? UInt8(1) : 0 }
                    guard gt.contains(1) else { continue }
                    try builder.add(teacher: t, cls: c, pseudoGroundTruth: gt, teacherMask: predicted.map { $0 == Int32(c) ? UInt8(1) : 0 })
                }
            }
        }
        let capability = try TeacherFusion.fuse(teachers: fused.map(\.features), vocabulary: vocab.vocabulary,
                                                method: .capability(try builder.table(), temperature: 0.05), threads: threads).features
        let capabilityResult = try evaluate("SAS capability-guided (τ = 0.05)", capability)

        // Superpoints and a majority vote per superpoint. Supervoxels (VCCS) weigh colour, so
        // coplanar objects (a door in a wall) stay apart, which normal-only graphs cannot do.
        var spParams = PCLSegmentation.VCCSParams()
        spParams.voxelResolution = 0.03
        spParams.seedResolution = seedResolution
        let superpoints = try Superpoints.compute(cloud, method: .vccs(spParams), memoryLimit: memory.limit)
        print("[\(elapsed())] superpoints: \(superpoints.count) supervoxels (PCL VCCS, seed \(seedResolution) m)")
        try evaluate("capability-guided + superpoint vote", capability, superpoints: superpoints.ids)

        // The 3D network (loaded first, above): a MinkUNet on the voxelised cloud, features per point.
        var allPointsRow: (String, SegmentationMetrics)? = nil
        let tNet = Date()
        let result3D = try net.run(points: cloud.positions, voxelSize: netVoxel, threads: threads, workspace: memory.workspace())
        let ms = Date().timeIntervalSince(tNet) * 1000
        print("[\(elapsed())] 3D network \(net.spec.variantName) (\(netSource)): \(result3D.voxels.voxelCount) voxels in \(Int(ms)) ms, \(String(format: "%.1f", result3D.output.flops / 1e9)) GFLOP")
        if checkpoint != nil, net.spec.heads.first?.dim == vocab.vocabulary.dimension {
            let f3d = try result3D.pointFeatures(head: 0, normalized: true, threads: threads)
            try evaluate("3D distilled (\(net.spec.variantName))", f3d)
            // OpenScene's 2D-3D ensemble: per point the 3D or the capability-fused 2D feature,
            // whichever scores its best class higher (points without a 2D feature take the 3D one).
            let ens = try FeatureEnsemble.labels(mode: .ensemble(.maxScore), features3D: f3d, features2D: capability,
                                                 mask2D: seenMask, vocabulary: vocab.vocabulary, threads: threads)
            let m = try SegmentationMetrics.evaluate(predictions: ens, groundTruth: groundTruth, classes: classes, ignore: 255)
            rows.append(("2D-3D ensemble", m, ens, try vocab.vocabulary.classify(features: f3d, threads: threads).scores))
            // The 3D network labels the points no camera saw too (scored here on every labelled point).
            let all3D = try vocab.vocabulary.classify(features: f3d, threads: threads).labels
            let mAll = try SegmentationMetrics.evaluate(predictions: all3D, groundTruth: cloud.labels, classes: classes, ignore: 255)
            allPointsRow = ("3D distilled, every labelled point", mAll)
        }
        print("\n  method                                  mIoU    mAcc")
        for (name, m, _, _) in rows {
            print("  " + name.padding(toLength: 38, withPad: " ", startingAt: 0) + String(format: " %5.1f%%  %5.1f%%", 100 * m.meanIoU, 100 * m.meanAccuracy))
            report.append((name, .object([("miou", .number(m.meanIoU)), ("macc", .number(m.meanAccuracy))])))
        }

        if let (name, m) = allPointsRow {
            print("  " + name.padding(toLength: 38, withPad: " ", startingAt: 0) + String(format: " %5.1f%%  %5.1f%%", 100 * m.meanIoU, 100 * m.meanAccuracy))
            report.append((name, .object([("miou", .number(m.meanIoU)), ("macc", .number(m.meanAccuracy))])))
        }

        // 6. Outputs: the best segmentation and a heat-map for the query word.
        var best = rows.max { $0.1.meanIoU < $1.1.meanIoU }!
        for i in 0..<cloud.count where seenMask[i] == 0 { best.2[i] = -1; best.3[i] = 0 }   // unseen: no label
        try CloudFile.writeSegmented(cloud, labels: best.2, scores: best.3, to: out + "/segmented.ply", format: .plyBinaryLE)
        var gt = cloud
        gt.colors = LabelColors.colors(for: cloud.labels)
        try CloudFile.write(gt, to: out + "/ground_truth.ply", format: .plyBinaryLE)
        // Pictures from the library's renderer (`ov3d render`): the room seen from above (the
        // ceiling-high walls would hide the furniture from the automatic side view).
        var picture = RenderOptions()
        picture.viewpoint = .top
        picture.title = "ov3d demo: \(best.0)"
        try SceneRenderer.writePNG(cloud, coloring: .labels(best.2, names: vocab.vocabulary.names), options: picture,
                                   to: out + "/segmented.png")
        picture.title = "ground truth"
        try SceneRenderer.writePNG(cloud, coloring: .labels(cloud.labels, names: room.classNames), options: picture,
                                   to: out + "/ground_truth.png")
        if let q = vocab.vocabulary.names.firstIndex(of: query) {
            // A query answered from the kept features (no second scoring pass over the teachers).
            let heat = try capabilityResult.query(word: q, threads: threads).map { $0.isNaN ? 0 : $0 }
            var h = cloud
            h.colors = heat.flatMap { s -> [UInt8] in
                let t = max(0, min(1, (s + 0.1) / 0.8))
                return [UInt8(255 * t), UInt8(60 * (1 - t)), UInt8(255 * (1 - t))]
            }
            h.scores = heat
            try CloudFile.write(h, to: out + "/heatmap_\(query.replacingOccurrences(of: " ", with: "_")).ply", format: .plyBinaryLE)
            var hp = RenderOptions()
            hp.viewpoint = .top
            try SceneRenderer.writePNG(cloud, coloring: .scores(heat, title: query), options: hp,
                                       to: out + "/heatmap_\(query.replacingOccurrences(of: " ", with: "_")).png")
            print("\n  heat-map for \"\(query)\": \(out)/heatmap_\(query.replacingOccurrences(of: " ", with: "_")).ply")
        } else {
            print("\n  no heat-map for \"\(query)\": the demo's vocabulary holds only \(vocab.vocabulary.names.joined(separator: ", ")) (for other words use `ov3d query` with a text encoder)")
            FileHandle.standardError.write(Data("ov3d demo: --query \"\(query)\" is not a word of the demo's vocabulary; no heat-map written\n".utf8))
        }
        report.append(("points", .number(Double(cloud.count))))
        report.append(("frames", .number(Double(rendered.count))))
        report.append(("vocabulary", .string(vocab.source)))
        try FileIO.write(out + "/report.json", text: JSON.object(report).description + "\n")
        print("  segmentation (\(best.0)): \(out)/segmented.ply; ground truth: \(out)/ground_truth.ply; report: \(out)/report.json")
        print("[\(elapsed())] done")
    }
}

/// The demo's vocabulary: real CLIP label embeddings when the shared data is present, else
/// generated unit vectors (a stand-in text space; the pipeline is the same).
struct DemoVocabulary {
    var vocabulary: Vocabulary
    var source: String

    static func load(classNames: [String], folder: String?, seed: UInt64) throws -> DemoVocabulary {
        let candidates = [folder, "data/clip", "../shared/data/clip/text_embeddings"].compactMap { $0 }
        for dir in candidates {
            let path = dir + "/clip_scannet_labels_512.npy"
            guard FileIO.exists(path) else { continue }
            let t = try NPY.read(path: path)
            guard t.shape == [classNames.count, 512] else { continue }
            return DemoVocabulary(vocabulary: try Vocabulary(names: classNames, embeddings: t.floats(), dimension: 512),
                                  source: "real CLIP ViT-B/32 text embeddings from \(dir)")
        }
        var rng = SplitMix64(seed: seed &+ 99)
        let dim = 512
        let e = (0..<(classNames.count * dim)).map { _ in rng.normal() }
        return DemoVocabulary(vocabulary: try Vocabulary(names: classNames, embeddings: e, dimension: dim),
                              source: "generated 512-d embeddings (no CLIP embeddings found)")
    }
}

