#if canImport(Glibc)
import Glibc
#endif

/// Open-vocabulary segmentation of a point cloud in one call: a MinkUNet (OpenScene / CUA-O3D /
/// SAS) and a vocabulary give every point a label, a score and, on request, probabilities over
/// the vocabulary; the result answers further queries ("where is the fire extinguisher?")
/// without running the network again. The one pipeline behind the CLI (`ov3d segment`,
/// `ov3d query`), the C ABI (`ov3d_segment`, `ov3d_query`), the C++ and Python bindings.
///
/// Work is per voxel: the network's features of the scored head are L2-normalised and scored
/// per voxel, then labels and scores are broadcast to the points (a point's feature is its
/// voxel's, as in OpenScene). Only fused 2D features, which differ per point, are scored per
/// point, in blocks.
///
/// Immutable and shareable between threads (the model is); each concurrent call needs its own
/// `Workspace`. Same input, weights and thread count → same output bit for bit.
public struct Segmenter: Sendable {
    public let model: MinkUNet
    /// The voxel size recorded in the checkpoint (`ov3d.voxel_size`), if any.
    public let recordedVoxelSize: Double?

    /// The voxel size used when neither the caller nor the checkpoint gives one.
    public static let defaultVoxelSize = 0.02

    /// Where a segmentation's voxel size came from.
    public enum VoxelSizeSource: String, Sendable {
        case requested, checkpoint, `default`
        /// No voxels: per-point features (`segment(pointFeatures:...)`).
        case perPoint = "per-point"
    }

    public init(model: MinkUNet, recordedVoxelSize: Double? = nil) {
        self.model = model
        self.recordedVoxelSize = recordedVoxelSize
    }

    /// Loads a checkpoint (torch .pth / .pth.tar, safetensors) and its ov3d metadata.
    public static func load(path: String) throws -> Segmenter {
        let sd = try MinkUNet.readStateDict(path: path)
        do {
            let meta = try ModelMetadata(stateDict: sd)
            return Segmenter(model: try MinkUNet(stateDict: sd), recordedVoxelSize: meta.voxelSize)
        } catch let e as OV3DError { throw e.context(path) }
    }

    /// The voxel size to use for a request (nil = none given), as the voxeliser takes it
    /// (`Voxelizer.canonicalVoxelSize`: a float32's 0.05f and a double's 0.05 are both 0.05).
    public func voxelSize(_ requested: Double?) throws -> (size: Double, source: VoxelSizeSource) {
        if let requested {
            try require(requested.isFinite && requested > 0, "voxel size must be a positive finite number, got \(requested)")
            return (Voxelizer.canonicalVoxelSize(requested), .requested)
        }
        if let r = recordedVoxelSize { return (Voxelizer.canonicalVoxelSize(r), .checkpoint) }
        return (Self.defaultVoxelSize, .default)
    }

    /// Segments `positions` (x y z per point; points with a NaN coordinate are skipped and get
    /// label -1) against `vocabulary`, whose dimension must equal the scored head's.
    public func segment(positions: [Float], vocabulary: Vocabulary, params: SegmentationParams = SegmentationParams(),
                        workspace: Workspace, progress: Progress = .none) throws -> SegmentationResult {
        // The products of this call use its own thread count (per thread, never process-wide).
        try Threads.withBLASThreads(params.threads) {
            try segmentBody(positions: positions, vocabulary: vocabulary, params: params, workspace: workspace, progress: progress)
        }
    }

    /// The head exists and its features have the vocabulary's dimension (checked by every
    /// segmentation; callers that read the embeddings from a file check first to name it).
    public func check(vocabulary: Vocabulary, head: Int) throws {
        let heads = model.spec.heads
        try require(head >= 0 && head < heads.count,
                    "head \(head) is out of range 0..<\(heads.count) (\(heads.map(\.name).joined(separator: ", ")))")
        let d = heads[head].dim
        try require(d == vocabulary.dimension,
                    "head '\(heads[head].name)' gives \(d)-d features but the vocabulary's embeddings have \(vocabulary.dimension) values (pick the matching head or embeddings)")
    }

    private func segmentBody(positions: [Float], vocabulary: Vocabulary, params: SegmentationParams,
                             workspace: Workspace, progress: Progress) throws -> SegmentationResult {
        let t0 = Self.nowMs()
        try check(vocabulary: vocabulary, head: params.head)
        let d = vocabulary.dimension
        try require(params.temperature.isFinite && params.temperature > 0, "temperature must be finite and > 0, got \(params.temperature)")
        let (voxel, source) = try voxelSize(params.voxelSize)
        let threads = Threads.resolve(params.threads)
        let valid = try ValidPoints(positions: positions)
        let n = valid.inputCount
        if let f = params.fused {
            try require(f.features.count == n * d, "fused 2D features hold \(f.features.count) values, expected \(n) points × \(d)")
            if let m = f.mask { try require(m.count == n, "fused 2D mask has \(m.count) entries for \(n) points") }
            try f.features.withUnsafeBufferPointer { b in
                for i in 0..<b.count where !b[i].isFinite {
                    throw OV3DError.invalidArgument("fused 2D features: point \(i / d) has a non-finite value")
                }
            }
        }
        if let s = params.superpoints { try require(s.count == n, "superpoints: \(s.count) ids for \(n) points") }
        var timings = SegmentationResult.Timings()

        // 1. Voxels and the network (the head that is scored only). Memory limits (issue 17): the
        // point phase before voxelising, the whole run once the voxel count is known. Per point
        // the pipeline keeps the valid copy, the voxel map, a label and a score, probabilities
        // when asked, and with 2D features a fused row; never the 3D per-point features.
        let perPoint = 12 + 4 + 8 + (params.probabilities ? 4 * vocabulary.count : 0) + (params.fused != nil ? 8 * d : 0)
        try model.checkMemory(points: n, voxels: nil, headSelection: [params.head], outputCopies: 0, extraPerPoint: perPoint,
                              workspace: workspace)
        let vox = try Voxelizer.voxelize(positions: valid.positions, voxelSize: voxel, augmentation: params.augmentation)
        try model.checkMemory(points: n, voxels: vox.voxelCount, headSelection: [params.head], outputCopies: 0,
                              extraPerPoint: perPoint, workspace: workspace)
        try progress.report(0, "voxelized")
        let t1 = Self.nowMs()
        timings.voxelizeMs = t1 - t0
        let ones = try Memory.array(repeating: Float(1), count: vox.voxelCount * model.spec.inChannels, what: "input features")
        var out = try model.forward(coords: vox.coords, features: ones, headSelection: [params.head], threads: threads,
                                    workspace: workspace, progress: progress)
        var features = out.heads.removeFirst()
        out.heads = []
        let t2 = Self.nowMs()
        timings.networkMs = t2 - t1
        Elementwise.l2NormalizeRows(&features, cols: d, threads: threads)
        var broadcastMs = 0.0
        let tb = Self.nowMs()
        let voxelOfPoint = valid.expandInverse(vox.inverse)
        broadcastMs += Self.nowMs() - tb
        var result = SegmentationResult(vocabulary: vocabulary, labels: [], scores: [], probabilities: [],
                                        voxelOfPoint: voxelOfPoint, voxelFeatures: features, voxelSize: voxel,
                                        voxelSizeSource: source, timings: timings)

        // 2. Scores. Per voxel, unless 2D features make every point differ.
        let mode = params.fused?.mode ?? .distill
        if mode == .distill {
            broadcastMs += result.scoreRows(withProbabilities: params.probabilities && params.superpoints == nil,
                                            temperature: params.temperature, threads: threads)
            if let sp = params.superpoints {
                result.labels = try SuperpointOps.refine(labels: result.labels, segments: sp, abstain: nil)
                try Self.rescore(&result, fused: nil, params: params, threads: threads)
            }
        } else {
            try Self.rescore(&result, fused: params.fused, params: params, threads: threads, chooseLabels: true)
            if let sp = params.superpoints {
                result.labels = try SuperpointOps.refine(labels: result.labels, segments: sp, abstain: nil)
                try Self.rescore(&result, fused: params.fused, params: params, threads: threads)
            }
        }
        try progress.report(1, "scored")
        let t3 = Self.nowMs()
        result.timings = SegmentationResult.Timings(voxelizeMs: timings.voxelizeMs, networkMs: timings.networkMs,
                                                    scoringMs: t3 - t2 - broadcastMs, broadcastMs: broadcastMs,
                                                    totalMs: t3 - t0)
        return result
    }

    /// Per point, in blocks: the point's feature (its unit voxel feature, or per the ensemble
    /// rule with its 2D feature), then the best label (`chooseLabels`) or the cosine of the label
    /// it has, and probabilities when asked for.
    static func rescore(_ r: inout SegmentationResult, fused: FusedFeatures?, params: SegmentationParams, threads: Int,
                 chooseLabels: Bool = false) throws {
        let n = r.count, d = r.dimension, k = r.vocabulary.count
        let mode = fused?.mode ?? .distill
        let oldLabels = r.labels
        var labels = [Int32](repeating: -1, count: n)
        var scores = [Float](repeating: .nan, count: n)
        var probs = params.probabilities ? [Float](repeating: 0, count: n * k) : []
        let e = r.vocabulary.embeddings
        let block = CosineScoring.block
        var chosen = [Float](repeating: 0, count: block * d)
        var rows = [Int](), fixed = [Int32](), bl = [Int32](repeating: 0, count: block), bs = [Float](repeating: 0, count: block)
        var bp = params.probabilities ? [Float](repeating: 0, count: block * k) : []
        rows.reserveCapacity(block); fixed.reserveCapacity(block)
        var i0 = 0
        while i0 < n {
            let i1 = min(n, i0 + block)
            rows.removeAll(keepingCapacity: true); fixed.removeAll(keepingCapacity: true)
            try chosen.withUnsafeMutableBufferPointer { c in
                try r.voxelFeatures.withUnsafeBufferPointer { vf in
                    for i in i0..<i1 {
                        let vr = Int(r.voxelOfPoint[i])
                        guard vr >= 0 else { continue }
                        if !chooseLabels { guard oldLabels[i] >= 0 else { continue } }
                        let dst = c.baseAddress! + rows.count * d
                        let f3 = vf.baseAddress! + vr * d
                        if let fused, mode != .distill {
                            let has2D = Self.has2D(fused, point: i, dim: d)
                            try fused.features.withUnsafeBufferPointer { fb in
                                let f2 = fb.baseAddress! + i * d
                                switch mode {
                                case .fusion:
                                    dst.update(from: f2, count: d)
                                case .ensemble(.average):
                                    for j in 0..<d { dst[j] = has2D ? (f3[j] + f2[j]) / 2 : f3[j] }
                                case .ensemble(.maxScore):
                                    let use2D = has2D && Self.bestCosine(f2, d, e, k) > Self.bestCosine(f3, d, e, k)
                                    dst.update(from: use2D ? f2 : f3, count: d)
                                case .distill:
                                    throw OV3DError.internal("unreachable")
                                }
                            }
                            if mode == .fusion && !has2D { continue }
                        } else {
                            dst.update(from: f3, count: d)
                        }
                        rows.append(i)
                        fixed.append(oldLabels.isEmpty ? 0 : oldLabels[i])
                    }
                }
            }
            let m = rows.count
            if m > 0 {
                chosen.withUnsafeBufferPointer { c in
                    fixed.withUnsafeBufferPointer { fx in
                        bl.withUnsafeMutableBufferPointer { l in
                            bs.withUnsafeMutableBufferPointer { s in
                                bp.withUnsafeMutableBufferPointer { p in
                                    CosineScoring.classify(features: c.baseAddress!, rows: m, vocabulary: r.vocabulary,
                                                           fixedLabels: chooseLabels ? nil : fx.baseAddress!,
                                                           labels: l.baseAddress!, scores: s.baseAddress!,
                                                           probabilities: p.isEmpty ? nil : p.baseAddress!,
                                                           temperature: params.temperature, threads: threads)
                                }
                            }
                        }
                    }
                }
                for (j, i) in rows.enumerated() {
                    labels[i] = bl[j]
                    scores[i] = bs[j]
                    if !probs.isEmpty { for c in 0..<k { probs[i * k + c] = bp[j * k + c] } }
                }
            }
            i0 = i1
        }
        r.labels = labels
        r.scores = scores
        r.probabilities = probs
    }

    static func has2D(_ f: FusedFeatures, point i: Int, dim d: Int) -> Bool {
        if let m = f.mask { return m[i] != 0 }
        return f.features.withUnsafeBufferPointer { b in
            for j in 0..<d where b[i * d + j] != 0 { return true }
            return false
        }
    }

    /// OpenScene's ensemble score: max over words of `f · e / (‖f‖ + 1e-5)`.
    static func bestCosine(_ f: UnsafePointer<Float>, _ d: Int, _ e: [Float], _ k: Int) -> Float {
        var nrm: Float = 0
        for j in 0..<d { nrm += f[j] * f[j] }
        let inv = 1 / (nrm.squareRoot() + 1e-5)
        var best = -Float.infinity
        e.withUnsafeBufferPointer { eb in
            for c in 0..<k {
                var dot: Float = 0
                for j in 0..<d { dot += f[j] * eb[c * d + j] }
                best = max(best, dot * inv)
            }
        }
        return best
    }

    static func broadcastRows(_ perVoxel: [Float], width: Int, index: [Int32]) -> [Float] {
        var out = [Float](repeating: 0, count: index.count * width)
        perVoxel.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { o in
                for (i, r) in index.enumerated() where r >= 0 {
                    (o.baseAddress! + i * width).update(from: v.baseAddress! + Int(r) * width, count: width)
                }
            }
        }
        return out
    }

    /// Monotonic wall clock in milliseconds.
    static func nowMs() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) * 1000 + Double(t.tv_nsec) / 1e6
    }
}
