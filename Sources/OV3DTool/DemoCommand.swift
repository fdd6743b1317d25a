import ArgumentParser
import Foundation
import OV3DCore

/// `ov3d demo`: the end-to-end path on the synthetic world (second edition). The pipeline is
/// the library's `SyntheticDemo` (a generated room, its handheld RGB-D walk, the SIMULATED
/// LSeg-/SEEM-like teachers per frame, fusion as `ov3d fuse` fuses, SAS's annotation-free
/// capabilities, agglomeration, superpoint vote, the 3D network, ov3d's evaluation); this
/// command only chooses the network, prints the table and writes the PLYs, PNGs and report.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Run the end-to-end demo on a generated room (writes PLYs, PNGs and a JSON report).",
        discussion: """
        The room, its frames and its 2D teachers are SYNTHETIC (`ov3d synth`, docs/synthetic.md): the teachers are \
        simulations of LSeg and SEEM, so the table says nothing of real-world accuracy. `make demo` passes the \
        MinkUNet ov3d trains itself on other synthetic rooms (scripts/demo-model.sh, examples/train/demo.json).
        """)

    @Option(help: "Output folder.") var out = "out/demo"
    @Option(help: "Preset of the generated room: tiny, small or scannet.") var preset = "small"
    @Option(help: "Random seed of the generated room (the demo model trains on tiny rooms 101-106).") var seed: UInt64 = 1
    @Option(help: "Number of RGB-D frames along the walk (default: the preset's).") var frames: Int?
    @Option(help: "Generated single-object images per class for the capability table (default: the preset's).")
    var capabilityImages: Int?
    @Option(help: "Threads (0 = all cores).") var threads = 0
    @OptionGroup var memory: MemoryOption
    @Option(help: "Word to build a similarity heat-map for.") var query = "chair"
    @Option(help: "Seed resolution (m) of the supervoxels used for the superpoint vote.") var seedResolution: Float = 0.2
    @Option(help: "A MinkUNet checkpoint (.pth / .safetensors) to run as the 3D network (`make demo` passes the one ov3d trains, examples/train/demo.json); default: a randomly initialised MinkUNet18A (timing only, not scored).")
    var checkpoint: String?
    @Flag(help: "The checkpoint was trained on centred text-space targets (`ov3d agglomerate --centre`, the demo model): its labels are the centred argmax, and the 2D-3D ensemble takes its features back into the text space.")
    var centred = false
    @Flag(name: .customLong("no-network"), help: "Skip the 3D network (the 2D rows only).") var noNetwork = false
    @Option(help: "Voxel size (m) of the 3D network (default: the checkpoint's metadata, else 0.02).") var voxelSize: Double?
    @Option(help: "Folder with real CLIP label embeddings (clip_scannet_labels_512.npy; default: data/clip of the checkout).")
    var embeddings: String?

    func run() throws { try failing("demo") { try execute() } }

    func execute() throws {
        let t0 = Date()
        func elapsed() -> String { String(format: "%6.1f s", Date().timeIntervalSince(t0)) }
        guard let p = SyntheticPreset.named(preset) else { throw ValidationError("unknown preset '\(preset)' (tiny, small, scannet)") }
        Threads.setBLASThreads(threads)

        let space = try TeacherTextSpace.find(candidates: SynthCommand.embeddingCandidates(embeddings))
        print("[\(elapsed())] vocabulary: \(space.classes) ScanNet-20 words × \(space.dimension)-d (\(space.source))")

        // The 3D network: a checkpoint (its voxel size from ov3d's metadata), else random weights.
        let network: SyntheticDemo.Network?
        if noNetwork {
            network = nil
        } else if let checkpoint {
            let sd = try MinkUNet.readStateDict(path: checkpoint)
            let vs = try voxelSize ?? ModelMetadata(stateDict: sd).voxelSize ?? 0.02
            network = .init(model: try MinkUNet.load(path: checkpoint), voxelSize: vs, source: checkpoint, centred: centred)
        } else {
            let spec = try MinkUNetSpec.named("MinkUNet18A")
            network = .init(model: try MinkUNet(stateDict: try spec.randomStateDict(seed: seed), spec: spec),
                            voxelSize: voxelSize ?? 0.02, source: "random weights, timing only", scored: false)
        }
        // Only now (a checkpoint that cannot be read leaves nothing behind).
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)

        var options = SyntheticDemo.Options()
        options.preset = p
        options.seed = seed
        options.frames = frames
        options.capabilityImagesPerClass = capabilityImages
        options.supervoxelSeedResolution = seedResolution
        options.threads = threads
        options.memoryLimit = memory.limit
        let r = try SyntheticDemo.run(options: options, space: space, network: network,
                                      log: { print("[\(elapsed())] \($0)") })
        let names = space.vocabulary.names
        let n = r.scene.points.count

        // The table (random weights are run for timing only: no 3D rows).
        let shown = r.rows
        print("\n  SYNTHETIC: generated room, SIMULATED teachers (docs/synthetic.md)")
        print("  method                                  mIoU    mAcc")
        for row in shown {
            print("  " + row.name.padding(toLength: 38, withPad: " ", startingAt: 0)
                  + String(format: " %5.1f%%  %5.1f%%", 100 * row.metrics.meanIoU, 100 * row.metrics.meanAccuracy))
        }
        if checkpoint == nil && !noNetwork { print("  (3D network: random weights, timing only; `make demo` trains one: scripts/demo-model.sh)") }

        // Outputs: the best 2D segmentation, the 3D network's, the ground truth, a heat-map.
        // Pictures from above (the library renderer behind `ov3d render`) leave the unlabelled
        // ceiling out, which would hide the room.
        let cloud = r.scene.points.cloud
        let inside = (0..<n).filter { r.scene.points.labels[$0] != SyntheticWorld.unlabelled }
        let below = cloud.subset(inside)
        func picture(_ coloring: PointColoring, title: String?, to file: String) throws {
            var o = RenderOptions()
            o.viewpoint = .top
            o.title = title
            try SceneRenderer.writePNG(below, coloring: coloring, options: o, to: FileIO.join(out, file))
        }
        let twoD = shown.filter { !$0.name.hasPrefix("3D") && !$0.everyLabelledPoint }
        let best = twoD.max { $0.metrics.meanIoU < $1.metrics.meanIoU }!
        try CloudFile.writeSegmented(cloud, labels: best.labels, scores: best.scores.map { $0.isNaN ? 0 : $0 },
                                     to: FileIO.join(out, "segmented.ply"), format: .plyBinaryLE)
        try picture(.labels(inside.map { best.labels[$0] }, names: names), title: "ov3d demo: \(best.name)", to: "segmented.png")
        if let every = shown.first(where: { $0.everyLabelledPoint }) {
            try CloudFile.writeSegmented(cloud, labels: every.labels, scores: every.scores.map { $0.isNaN ? 0 : $0 },
                                         to: FileIO.join(out, "segmented_3d.ply"), format: .plyBinaryLE)
            try picture(.labels(inside.map { every.labels[$0] }, names: names), title: "3D network alone (every point)", to: "segmented_3d.png")
        }
        var gt = cloud
        gt.colors = LabelColors.colors(for: cloud.labels)
        try CloudFile.write(gt, to: FileIO.join(out, "ground_truth.ply"), format: .plyBinaryLE)
        try picture(.labels(inside.map { r.scene.points.labels[$0] }, names: names), title: "ground truth", to: "ground_truth.png")
        let slug = query.replacingOccurrences(of: " ", with: "_")
        if let q = names.firstIndex(of: query) {
            // A query answered from the kept features (no second pass over the teachers).
            let raw = try r.capabilitySegmentation.query(word: q, threads: threads)
            // CLIP's label embeddings are close to each other (cosines 0.7-0.96), so the colours
            // span the seen points' own range (2nd percentile to the maximum); unseen: the bottom.
            let finite = raw.filter { $0.isFinite }.sorted()
            let lo = finite.isEmpty ? 0 : finite[finite.count / 50], hi = max(lo + 1e-3, finite.last ?? 1)
            let heat = raw.map { $0.isFinite ? $0 : lo }
            var h = cloud
            h.colors = heat.flatMap { s -> [UInt8] in
                let t = max(0, min(1, (s - lo) / (hi - lo)))
                return [UInt8(255 * t), UInt8(60 * (1 - t)), UInt8(255 * (1 - t))]
            }
            h.scores = heat
            try CloudFile.write(h, to: FileIO.join(out, "heatmap_\(slug).ply"), format: .plyBinaryLE)
            try picture(.scores(inside.map { heat[$0] }, range: lo...hi, title: "cos(\(query))"), title: "\"\(query)\": capability-guided 2D features", to: "heatmap_\(slug).png")
            print("\n  heat-map for \"\(query)\": \(out)/heatmap_\(slug).ply")
        } else {
            print("\n  no heat-map for \"\(query)\": the demo's vocabulary holds only \(names.joined(separator: ", ")) (for other words use `ov3d query` with a text encoder)")
            FileHandle.standardError.write(Data("ov3d demo: --query \"\(query)\" is not a word of the demo's vocabulary; no heat-map written\n".utf8))
        }

        // report.json
        let seenCount = r.seen.reduce(0) { $0 + Int($1) }
        var report: [(String, JSON)] = [
            ("synthetic", .string("generated room and SIMULATED teachers (docs/synthetic.md): the numbers say nothing of real-world accuracy")),
            ("preset", .string(p.name)), ("seed", .number(Double(seed))),
            ("points", .number(Double(n))), ("seen_points", .number(Double(seenCount))),
            ("frames", .number(Double(r.scene.frames.count))), ("objects", .number(Double(r.scene.world.objects.count))),
            ("vocabulary", .string(space.source)), ("teachers", .array(r.teachers.map { .string($0) })),
            ("superpoints", .number(Double(r.superpointCount))),
            ("network", network.map { net in
                .object([("architecture", .string(net.model.spec.variantName)), ("weights", .string(net.source)),
                         ("voxel_size", .number(net.voxelSize)), ("voxels", .number(Double(r.networkVoxels ?? 0))),
                         ("ms", .number(r.networkMs ?? 0)), ("scored", .bool(r.networkScored)), ("centred", .bool(net.centred))])
            } ?? .null),
            ("capabilities", .object(r.teachers.enumerated().map { ti, t in
                (t, .array((0..<r.capabilities.classes).map { .number(Double(r.capabilities.values[ti * r.capabilities.classes + $0])) }))
            })),
            ("rows", .array(shown.map { row in
                .object([("method", .string(row.name)), ("miou", .number(row.metrics.meanIoU)), ("macc", .number(row.metrics.meanAccuracy)),
                         ("scored_points", .string(row.everyLabelledPoint ? "every labelled point" : "seen points"))])
            })),
            ("stage_seconds", .object(r.stageSeconds.map { ($0.0, .number($0.1)) })),
        ]
        report.append(("seconds", .number(Date().timeIntervalSince(t0))))
        try FileIO.write(FileIO.join(out, "report.json"), text: JSON.object(report).description + "\n")
        print("  segmentation (\(best.name)): \(out)/segmented.ply; ground truth: \(out)/ground_truth.ply; pictures: \(out)/*.png; report: \(out)/report.json")
        print("[\(elapsed())] done")
    }
}
