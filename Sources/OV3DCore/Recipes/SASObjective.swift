/// SAS's objectives on the `final` head (sas-and-superpoints.md §5–6), on the batch's loss rows
/// (points of point scenes; the released code uses voxels, each weighted once — ov3d's trainer
/// supervises points, as OpenScene's path through the inverse map does):
///
/// - stage 1 (`superpointDistillation`): `SuperpointDistillation` against the scene targets;
/// - stage 2 (`selfDistillation`): before the first step every training scene's EMA state is
///   initialised from the network in evaluation mode (`initializeHistory`); each step updates the
///   states of the batch's scenes with the current predictions (`TemporalEnsemble`, momentum
///   0.9999) and applies `SelfDistillationLoss` with the text embeddings.
///
/// Superpoints: one id per loss row of each scene (ov3d's superpoints of its points); ids are
/// offset per scene in a batch. Row subsampling (20,000) is seeded per step.
public final class SASObjective: TrainingObjective {
    public enum Stage: Sendable { case superpointDistillation, selfDistillation }

    public let stage: Stage
    public let head: String
    /// Per training scene (config order), superpoint id per loss row.
    public let superpoints: [[Int32]]
    public let maxRows: Int?
    public let seed: UInt64
    public let text: Vocabulary?
    public let ensemble: TemporalEnsemble?
    public var heads: [String] { [head] }
    public private(set) var lastParts: (point: Double, superpoint: Double) = (0, 0)

    public init(stage: Stage, head: String = "final", superpoints: [[Int32]], maxRows: Int? = 20_000, seed: UInt64,
                text: Vocabulary? = nil, momentum: Double = TemporalEnsemble.releasedMomentum, storeHalf: Bool = true) throws {
        try require(!superpoints.isEmpty, "recipe sas: no superpoints")
        if stage == .selfDistillation {
            guard let text else { throw OV3DError.invalidArgument("recipe sas_stage2 needs the text embeddings (recipe.text)") }
            ensemble = try TemporalEnsemble(dim: text.dimension, momentum: momentum, storeHalf: storeHalf)
        } else {
            ensemble = nil
        }
        self.stage = stage; self.head = head; self.superpoints = superpoints
        self.maxRows = maxRows; self.seed = seed; self.text = text
    }

    /// The batch's superpoint ids (offset per scene) and each scene's row range.
    func segments(_ b: PreparedBatch) throws -> (ids: [Int32], ranges: [Range<Int>]) {
        var ids = [Int32](), ranges = [Range<Int>]()
        ids.reserveCapacity(b.lossRows)
        var offset: Int64 = 0
        for (k, s) in b.scenes.enumerated() {
            try require(s >= 0 && s < superpoints.count, "recipe sas: scene \(s) has no superpoints")
            var sp = superpoints[s]
            if k < b.sceneRows.count, let rows = b.sceneRows[k] {
                // a cropped scene (data.crop_points): the superpoints of its kept rows
                let all = sp
                sp = try rows.map { r in
                    try require(r >= 0 && Int(r) < all.count, "recipe sas: scene \(s) has \(all.count) superpoint ids, the crop row \(r)")
                    return all[Int(r)]
                }
            }
            let start = ids.count
            var mx: Int64 = -1
            for v in sp {
                if v < 0 { ids.append(-1); continue }
                let o = Int64(v) + offset
                try require(o < Int64(Int32.max), "recipe sas: too many superpoints in the batch")
                ids.append(Int32(o)); mx = max(mx, Int64(v))
            }
            ranges.append(start..<ids.count)
            offset += mx + 1
        }
        try require(ids.count == b.lossRows, "recipe sas: the batch has \(b.lossRows) loss rows, its scenes' superpoints \(ids.count) (one id per point of a point scene, per voxel of a voxel scene)")
        return (ids, ranges)
    }

    public func evaluate(predictions: [String: [Float]], batch b: PreparedBatch, step: Int) throws
        -> (total: Double, losses: [(head: String, loss: Double)], gradients: [String: [Float]]) {
        guard let p = predictions[head] else { throw OV3DError.invalidArgument("recipe sas: no prediction for head '\(head)'") }
        let (ids, ranges) = try segments(b)
        var rng = SplitMix64(seed: seed ^ (0xA5A5_5A5A_1234_5678 &+ UInt64(step) &* 0x9E37_79B9_7F4A_7C15))
        switch stage {
        case .superpointDistillation:
            guard let t = b.targets[head] else { throw OV3DError.invalidArgument("recipe sas_stage1: no targets for head '\(head)'") }
            let dim = p.count / max(b.lossRows, 1)
            let r = try SuperpointDistillation(maxRows: maxRows).evaluate(prediction: p, target: t, dim: dim, segments: ids, mask: b.mask, rng: &rng)
            lastParts = (r.pointLoss, r.superpointLoss)
            return (r.loss, [(head, r.loss)], [head: r.gradient])
        case .selfDistillation:
            let ema = ensemble!, d = ema.dim
            var hist = [Float]()
            hist.reserveCapacity(p.count)
            for (k, s) in b.scenes.enumerated() {
                let r = ranges[k]
                let slice = Array(p[(r.lowerBound * d)..<(r.upperBound * d)])
                let rows = k < b.sceneRows.count ? b.sceneRows[k] : nil
                hist += try ema.update(scene: s, rows: rows, pointPredictions: slice)
            }
            let r = try SelfDistillationLoss(maxRows: maxRows).evaluate(prediction: p, history: hist, segments: ids, mask: nil, text: text!, rng: &rng)
            lastParts = (r.pointLoss, r.superpointLoss)
            return (r.loss, [(head, r.loss)], [head: r.gradient])
        }
    }

    public func afterStep(lrs: [Double]) throws {}

    /// Stage 2's initial EMA state of scene `scene` from its per-loss-row predictions (network
    /// in evaluation mode, no augmentation), averaged per superpoint.
    public func initializeHistory(scene: Int, predictions: [Float]) throws {
        guard let ema = ensemble else { return }
        let sp = superpoints[scene]
        let dense = Superpoints.dense(sp.map { $0 < 0 ? -1 : $0 }, unassigned: -1)
        try ema.initialize(scene: scene, pointPredictions: predictions, superpoints: dense)
    }
}
