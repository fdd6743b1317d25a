import ArgumentParser
import Foundation
import OV3DCore

/// `ov3d query`: where in a cloud is a thing? The cosine similarity of every point's feature with
/// a text's embedding (a heat-map), through the library's `Segmenter` / `SegmentationResult.query`.
///
///     ov3d query INPUT --checkpoint M --text "fire extinguisher" (--embedding E.npy | --text-encoder W)
///         [--out-scores S.npy] [--out HEAT.ply] [--png P.png]
struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "A similarity heat-map of a cloud for one text (\"fire extinguisher\").",
        discussion: """
        S.npy: float32 per input point, the cosine similarity of its voxel's feature with the text's \
        embedding (NaN for skipped NaN points). HEAT.ply: the points coloured from blue (lowest) to \
        red (highest similarity), with a `score` property.
        """)

    @Argument(help: "The point cloud (PLY, PCD, npy, .bin).") var input: String
    @OptionGroup var model: ModelOptions
    @Option(help: "What to look for.") var text: String
    @Option(help: "The text's embedding (.npy, shape (dim,) or (1, dim)).") var embedding: String?
    @OptionGroup var encoder: TextEncoderOptions
    @Option(help: "Write the similarity per input point (float32 .npy).") var outScores: String?
    @Option(help: "Write the heat-map as PLY.") var out: String?
    @Option(help: "Write a picture of the heat-map (PNG).") var png: String?
    @Flag(help: "Print a JSON summary on stdout.") var json = false
    @OptionGroup var memory: MemoryOption

    func validate() throws {
        try encoder.validate(embeddingsFile: embedding, flag: "--embedding")
        guard !text.isEmpty else { throw ValidationError("--text is empty") }
    }

    func run() throws { try failing("query") { try execute() } }

    func execute() throws {
        let t0 = Date()
        let n = Threads.resolve(model.threads)
        Threads.setBLASThreads(n)
        let checkpoint = model.checkpoint, voxelSize = model.voxelSize
        let source = encoder.source(embeddingsFile: embedding)
        let q: [Float]
        if let embedding {
            let e = try TextSource.readEmbeddings(embedding)
            try require(e.rows == 1, "\(embedding): expected one embedding for --text, got \(e.rows) rows")
            q = e.values
        } else {
            q = try source.loadEncoder().encode([text], options: TextEncodeOptions(template: source.templateOrNil))
        }
        // The query is also the vocabulary (one word): the segmentation's labels are not used.
        let vocabulary = try Vocabulary(names: [text], embeddings: q, dimension: q.count)
        let segmenter = try Segmenter.load(path: checkpoint)
        let h = try SegmentationCLI.headIndex(model.head, segmenter.model)
        do { try segmenter.check(vocabulary: vocabulary, head: h) } catch let e as OV3DError { throw embedding.map { e.context($0) } ?? e }
        let loaded = try PointInput.load(input)
        let (voxel, vsource) = try segmenter.voxelSize(voxelSize)
        if vsource == .default {
            FileHandle.standardError.write(Data("note: no --voxel-size and none recorded in \(checkpoint): using \(voxel) m (indoor default)\n".utf8))
        }
        let tRead = Date()
        let result = try ProgressBar.run("query") { bar in
            try segmenter.segment(positions: loaded.cloud.positions, vocabulary: vocabulary,
                                  params: SegmentationParams(voxelSize: voxelSize, head: h, threads: n),
                                  workspace: memory.workspace(), progress: bar.progress)
        }
        let tq = Date()
        let heat = try result.query(embedding: q, threads: n)
        let queryMs = Date().timeIntervalSince(tq) * 1000
        var written: [(String, String)] = []
        try FileIO.staged {  // every output or none
        if let outScores {
            try NPY.write(try Tensor(heat, shape: [heat.count]), path: outScores)
            written.append(("scores", outScores))
        }
        if let out {
            var c = loaded.cloud
            c.colors = SegmentationCLI.heatColors(heat)
            c.scores = heat
            try CloudFile.write(c, to: out, format: try SegmentationCLI.plyFormat(out),
                                comments: ["heat-map of \"\(text)\": score = cosine similarity (NaN = skipped point)"])
            written.append(("ply", out))
        }
        if let png {
            try SegmentationCLI.renderHeatmap(loaded.cloud, scores: heat, title: text, to: png)
            written.append(("png", png))
        }
        }
        let valid = heat.filter { !$0.isNaN }
        let lo = valid.min() ?? .nan, hi = valid.max() ?? .nan
        let mean = valid.isEmpty ? Float.nan : valid.reduce(0, +) / Float(valid.count)
        let top = heat.indices.filter { !heat[$0].isNaN }.sorted { heat[$0] > heat[$1] || (heat[$0] == heat[$1] && $0 < $1) }.prefix(5)
        let r4 = { (x: Float) -> JSON in x.isNaN ? .null : .number((Double(x) * 1e4).rounded() / 1e4) }
        if json {
            let summary: JSON = .object([
                ("input", .string(input)), ("text", .string(text)),
                ("points", .number(Double(result.count))), ("skipped_points", .number(Double(result.skippedCount))),
                ("voxels", .number(Double(result.voxelCount))), ("voxel_size", .number(result.voxelSize)),
                ("model", .string(segmenter.model.spec.variantName)), ("head", .string(segmenter.model.spec.heads[h].name)),
                ("score_min", r4(lo)), ("score_mean", r4(mean)), ("score_max", r4(hi)),
                ("top_points", .array(top.map { i in .object([("index", .number(Double(i))), ("score", r4(heat[i])),
                                                               ("xyz", .array((0..<3).map { .number(Double(loaded.cloud.positions[3 * i + $0])) }))]) })),
                ("timings_ms", .object([("network", .number((result.timings.networkMs * 10).rounded() / 10)),
                                        ("query", .number((queryMs * 100).rounded() / 100)),
                                        ("total", .number((Date().timeIntervalSince(t0) * 10000).rounded() / 10))])),
                ("outputs", .object(written.map { ($0.0, .string($0.1)) })),
            ])
            print(summary.description)
        } else {
            print("\(input): \"\(text)\" over \(result.count) points: similarity \(lo) ... \(hi) (mean \(mean)); network \(Int(result.timings.networkMs)) ms, query \(String(format: "%.1f", queryMs)) ms; load+read \(Int(tRead.timeIntervalSince(t0) * 1000)) ms")
            for (k, p) in written { print("wrote \(k): \(p)") }
        }
    }
}

extension SegmentationCLI {
    /// Blue (lowest similarity) → red (highest) per point, grey for NaN.
    static func heatColors(_ s: [Float]) -> [UInt8] {
        let valid = s.filter { !$0.isNaN }
        let lo = valid.min() ?? 0, hi = valid.max() ?? 1
        let span = hi > lo ? hi - lo : 1
        var out = [UInt8](repeating: 128, count: 3 * s.count)
        for (i, v) in s.enumerated() where !v.isNaN {
            let t = (v - lo) / span
            out[3 * i] = UInt8(255 * t)
            out[3 * i + 1] = UInt8(60 * (1 - abs(2 * t - 1)))
            out[3 * i + 2] = UInt8(255 * (1 - t))
        }
        return out
    }
}
