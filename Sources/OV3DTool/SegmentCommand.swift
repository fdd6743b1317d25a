import ArgumentParser
import Foundation
import OV3DCore

/// `ov3d segment`: a label and a score for every point of a cloud, from a MinkUNet checkpoint
/// and words (the library's `Segmenter`, the same pipeline as `ov3d_segment`).
///
///     ov3d segment INPUT --checkpoint M (--labels NAME | --labels-file F.txt | --text WORD ...)
///         (--embeddings E.npy | --text-encoder W [--vocab BPE]) [--voxel-size S] [--head H]
///         [--out OUT.ply] [--out-labels L.npy] [--out-scores S.npy] [--png P.png] [--json]
struct SegmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Label every point of a cloud with one of the given words (and say how sure).",
        discussion: """
        INPUT: PLY, PCD (organised clouds: NaN points are skipped and get label -1), npy (N×3, or \
        N×6 x y z r g b) or a LiDAR .bin sweep. Every voxel's feature of the scored head is compared \
        with each word's embedding (cosine similarity); each point takes its voxel's best word. \
        L.npy: int32 per input point, the index of its word in the order given, -1 for skipped \
        points. S.npy: float32 per input point, the cosine similarity of that word (NaN when \
        skipped). OUT.ply: the points coloured per label, with `label` and `score` properties and \
        the label names in header comments.
        """)

    @Argument(help: "The point cloud (PLY, PCD, npy, .bin).") var input: String
    @OptionGroup var model: ModelOptions
    @Option(help: "A built-in label set: \(LabelSet.builtinNames.joined(separator: ", ")).") var labels: String?
    @Option(help: "A text file with one label name per line.") var labelsFile: String?
    @Option(parsing: .upToNextOption, help: "The words themselves (several values).") var text: [String] = []
    @Option(help: "Embeddings of the words, one row per word in the given order (.npy, float16/32/64).") var embeddings: String?
    @OptionGroup var encoder: TextEncoderOptions
    @Option(help: "Write the segmented cloud as PLY.") var out: String?
    @Option(help: "Write the labels (int32 per input point) as .npy.") var outLabels: String?
    @Option(help: "Write the scores (float32 per input point) as .npy.") var outScores: String?
    @Option(help: "Write a picture of the segmentation (PNG).") var png: String?
    @Flag(help: "Print a JSON summary (counts per label, timings) on stdout.") var json = false
    @OptionGroup var memory: MemoryOption

    func validate() throws {
        _ = try WordList.resolve(labels: labels, labelsFile: nil, text: labelsFile != nil ? ["x"] : text)
        try encoder.validate(embeddingsFile: embeddings, flag: "--embeddings")
    }

    func run() throws { try failing("segment") { try execute() } }

    func execute() throws {
        let t0 = Date()
        let n = Threads.resolve(model.threads)
        Threads.setBLASThreads(n)
        let checkpoint = model.checkpoint, voxelSize = model.voxelSize
        let words = try WordList.resolve(labels: labels, labelsFile: labelsFile, text: text)
        let source = encoder.source(embeddingsFile: embeddings)
        let vocabulary = try words.vocabulary(source)
        let tVocab = Date()
        let segmenter = try Segmenter.load(path: checkpoint)
        let h = try SegmentationCLI.headIndex(model.head, segmenter.model)
        do { try segmenter.check(vocabulary: vocabulary, head: h) } catch let e as OV3DError { throw embeddings.map { e.context($0) } ?? e }
        let tLoad = Date()
        let loaded = try PointInput.load(input)
        let tRead = Date()
        var params = SegmentationParams(voxelSize: voxelSize, head: h, threads: n)
        params.threads = n
        let (voxel, vsource) = try segmenter.voxelSize(voxelSize)
        if vsource == .default && !json {
            print("note: no --voxel-size and none recorded in \(checkpoint): using \(voxel) m (indoor default)")
        } else if vsource == .default {
            FileHandle.standardError.write(Data("note: no --voxel-size and none recorded in the checkpoint: using \(voxel) m\n".utf8))
        }
        let result = try ProgressBar.run("segment") { bar in
            try segmenter.segment(positions: loaded.cloud.positions, vocabulary: vocabulary, params: params,
                                  workspace: memory.workspace(), progress: bar.progress)
        }
        let tSeg = Date()
        var written: [(String, String)] = []
        try FileIO.staged {  // every output or none
        if let outLabels {
            try NPY.write(try Tensor(int32: result.labels, shape: [result.count]), path: outLabels)
            written.append(("labels", outLabels))
        }
        if let outScores {
            try NPY.write(try Tensor(result.scores, shape: [result.count]), path: outScores)
            written.append(("scores", outScores))
        }
        if let out {
            try CloudFile.writeSegmented(loaded.cloud, labels: result.labels, scores: result.scores, to: out,
                                         format: try SegmentationCLI.plyFormat(out),
                                         comments: SegmentationCLI.labelComments(vocabulary))
            written.append(("ply", out))
        }
        if let png {
            try SegmentationCLI.renderLabels(loaded.cloud, labels: result.labels, names: vocabulary.names, to: png)
            written.append(("png", png))
        }
        }
        let tWrite = Date()
        let ms = { (a: Date, b: Date) in (b.timeIntervalSince(a) * 1000 * 10).rounded() / 10 }
        let counts = result.labelCounts()
        if json {
            var byLabel: [(String, JSON)] = []
            for (i, name) in vocabulary.names.enumerated() {
                var sum = 0.0
                var c = 0
                for p in 0..<result.count where result.labels[p] == Int32(i) { sum += Double(result.scores[p]); c += 1 }
                byLabel.append((name, .object([("points", .number(Double(counts[i]))),
                                               ("mean_score", c > 0 ? .number((sum / Double(c) * 1e4).rounded() / 1e4) : .null)])))
            }
            let summary: JSON = .object([
                ("input", .string(input)),
                ("points", .number(Double(result.count))),
                ("segmented_points", .number(Double(result.count - result.skippedCount))),
                ("skipped_points", .number(Double(result.skippedCount))),
                ("voxels", .number(Double(result.voxelCount))),
                ("voxel_size", .number(result.voxelSize)),
                ("voxel_size_source", .string(result.voxelSizeSource.rawValue)),
                ("model", .string(segmenter.model.spec.variantName)),
                ("head", .string(segmenter.model.spec.heads[h].name)),
                ("threads", .number(Double(n))),
                ("vocabulary", .array(vocabulary.names.map { .string($0) })),
                ("counts", .object(byLabel)),
                ("timings_ms", .object([
                    ("vocabulary", .number(ms(t0, tVocab))), ("load_model", .number(ms(tVocab, tLoad))),
                    ("read_input", .number(ms(tLoad, tRead))),
                    ("voxelize", .number((result.timings.voxelizeMs * 10).rounded() / 10)),
                    ("network", .number((result.timings.networkMs * 10).rounded() / 10)),
                    ("scoring", .number((result.timings.scoringMs * 10).rounded() / 10)),
                    ("broadcast", .number((result.timings.broadcastMs * 10).rounded() / 10)),
                    ("segment", .number(ms(tRead, tSeg))), ("write", .number(ms(tSeg, tWrite))),
                    ("total", .number(ms(t0, tWrite)))])),
                ("outputs", .object(written.map { ($0.0, .string($0.1)) })),
            ])
            print(summary.description)
        } else {
            print("\(input): \(result.count) points (\(result.skippedCount) skipped), \(result.voxelCount) voxels at \(result.voxelSize) m, \(segmenter.model.spec.variantName) head \(segmenter.model.spec.heads[h].name)")
            for (i, name) in vocabulary.names.enumerated() where counts[i] > 0 {
                print("  " + name.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: " %9d points  %5.1f%%", counts[i], 100 * Double(counts[i]) / Double(max(1, result.count))))
            }
            print(String(format: "network %.0f ms, scoring %.0f ms, total %.0f ms", result.timings.networkMs, result.timings.scoringMs, ms(t0, tWrite)))
            for (k, p) in written { print("wrote \(k): \(p)") }
        }
    }
}

/// Helpers shared by `ov3d segment` and `ov3d query`.
enum SegmentationCLI {
    static func headIndex(_ head: String?, _ model: MinkUNet) throws -> Int {
        guard let head else { return 0 }
        if let i = model.spec.heads.firstIndex(where: { $0.name == head }) { return i }
        if let i = Int(head), i >= 0, i < model.spec.heads.count { return i }
        throw OV3DError.invalidArgument("no head '\(head)'; the checkpoint has \(model.spec.heads.map(\.name).joined(separator: ", "))")
    }

    /// Output clouds of these commands are PLY (binary little-endian).
    static func plyFormat(_ path: String) throws -> CloudFormat {
        try require(path.lowercased().hasSuffix(".ply"), "\(path): the segmented cloud is written as PLY (name it .ply)")
        return .plyBinaryLE
    }

    /// PLY header comments naming each label: `label 0 wall`, ...
    static func labelComments(_ v: Vocabulary) -> [String] {
        ["labels \(v.count) (label -1 = skipped point)"] + v.names.enumerated().map { "label \($0.offset) \($0.element)" }
    }

    /// A picture of a labelled cloud. Uses the library's renderer (`ov3d render`).
    static func renderLabels(_ cloud: PointCloud, labels: [Int32], names: [String], to path: String) throws {
        try SceneRenderer.writePNG(cloud, coloring: .labels(labels, names: names), to: path)
    }

    /// A picture of a heat-map.
    static func renderHeatmap(_ cloud: PointCloud, scores: [Float], title: String, to path: String) throws {
        try SceneRenderer.writePNG(cloud, coloring: .scores(scores, title: title), to: path)
    }
}
