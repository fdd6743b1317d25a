/// CUA-O3D's distillation objective (minkunet.md §7.2–7.3): one loss per teacher head
/// (`cosine`, `l1`, `mse` or the released SD loss `demeaned_cosine`, each a mean over the rows
/// with a 2D feature), combined by `UncertaintyWeighting` (learned σ, or fixed weights as the
/// ablation). σ has its own Adam/AdamW/SGD with the network's hyper-parameters and weight decay
/// 0, stepped with the default group's learning rate (the released optimizer's second group);
/// σ is recorded every step (`SigmaHistory`).
public final class CUAObjective: TrainingObjective {
    public let losses: [TrainingLoss]
    public let weighting: UncertaintyWeighting
    public let sigmaOptimizer: Optimizer?
    public private(set) var history: SigmaHistory
    public var epochOfStep: (Int) -> Int = { _ in 0 }
    public var heads: [String] { losses.map(\.head) }

    public init(losses: [TrainingLoss], weighting: UncertaintyWeighting, optimizer: Optimizer.Config) throws {
        try require(!losses.isEmpty, "recipe cua_o3d: no head has a loss")
        try require(weighting.heads == losses.count, "recipe cua_o3d: \(weighting.heads) uncertainty weights for \(losses.count) losses")
        self.losses = losses
        self.weighting = weighting
        if weighting.isLearned {
            var c = optimizer
            c.weightDecay = 0
            let g = ParameterGroup(name: "uncertainty", entryIndices: [0], baseLR: optimizer.lr, weightDecay: 0)
            sigmaOptimizer = try Optimizer(c, groups: [g], over: weighting.parameters)
        } else {
            sigmaOptimizer = nil
        }
        history = SigmaHistory(heads: losses.map(\.head))
    }

    private var pendingLosses: [Double] = []
    private var pendingStep = 0

    public func evaluate(predictions: [String: [Float]], batch b: PreparedBatch, step: Int) throws
        -> (total: Double, losses: [(head: String, loss: Double)], gradients: [String: [Float]]) {
        var values = [Double](), grads = [[Float]]()
        for l in losses {
            guard let p = predictions[l.head], let t = b.targets[l.head] else { throw OV3DError.invalidArgument("recipe cua_o3d: no prediction or target for head '\(l.head)'") }
            let dim = p.count / max(b.lossRows, 1)
            var unit = l
            unit.weight = 1
            let (v, g) = try unit.evaluate(pred: p, target: t, mask: b.mask, rows: b.lossRows, dim: dim)
            guard v.isFinite else { throw OV3DError.invalidArgument("step \(step + 1): loss of head '\(l.head)' is not finite (\(v))") }
            values.append(v); grads.append(g)
        }
        weighting.parameters.zeroGrads()
        let (total, scales) = try weighting.combine(values)
        var out = [String: [Float]]()
        for (i, l) in losses.enumerated() {
            let s = Float(scales[i])
            out[l.head] = s == 1 ? grads[i] : grads[i].map { $0 * s }
        }
        pendingLosses = values
        pendingStep = step
        return (total, zip(losses, values).map { ($0.head, $1) }, out)
    }

    public func afterStep(lrs: [Double]) throws {
        if let o = sigmaOptimizer { try o.step(weighting.parameters, lrs: [lrs.last ?? o.config.lr]) }
        history.record(step: pendingStep + 1, epoch: epochOfStep(pendingStep), losses: pendingLosses, sigma: weighting.sigma)
    }
}
