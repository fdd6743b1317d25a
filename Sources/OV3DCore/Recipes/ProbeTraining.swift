/// `ov3d probe`: trains a CUA-O3D linear probe (`final_seg*`, minkunet.md §7.4) on a frozen
/// MinkUNet, as `run/distill_sep_prob_seg_*.py` does: cross-entropy with ignore index 255 on
/// voxel labels (each voxel takes its representative point's label, as OpenScene's voxeliser),
/// Adam (lr 1e-4, weight decay 1e-4 as L2, released), poly schedule `lr·(1 − t/max)^0.9` per
/// step, scenes in a seeded order with OpenScene's loop.
///
/// Deviation, stated: the released script keeps the model in `train()` mode, so the frozen
/// backbone's BatchNorm runs on batch statistics (and updates its running statistics) while the
/// probe trains; ov3d freezes the backbone in evaluation mode and computes each scene's head
/// outputs once (no augmentation), which is what "linear probing on a frozen backbone" means
/// and makes the probe independent of batch composition. The result is the input state dict
/// plus the probe's `<name>.kernel` `[inputWidth, classes]`, which today's loader composes
/// (`MinkUNetProbeHeads`). Memory: voxels × inputWidth floats per scene are kept.
public struct ProbeTraining {
    public struct Scene: Sendable {
        public var name: String
        /// P × 3 positions (metres).
        public var points: [Float]
        /// Per point, class id or 255.
        public var labels: [Int32]
        public init(name: String, points: [Float], labels: [Int32]) { self.name = name; self.points = points; self.labels = labels }
    }

    public struct Config: Sendable {
        public var probe = "final_seg_lseg"
        public var classes = 20
        public var voxelSize = 0.02
        public var epochs = 20
        public var batchSize = 4
        public var loop = 5
        public var lr = 1e-4
        public var weightDecay = 1e-4
        public var power = 0.9
        public var seed: UInt64 = 1463
        public var threads = 1
        /// Memory limit of the frozen network's runs (nil: `OV3D_MAX_MEMORY`, else none).
        public var memoryLimit: Int? = nil
        public init() {}
    }

    public struct Result {
        public var probe: LinearProbe
        /// The frozen model's state dict plus the probe kernel (and ov3d metadata naming it).
        public var stateDict: StateDict
        /// Mean cross-entropy per epoch.
        public var epochLosses: [Double]
        public var steps: Int
    }

    /// The frozen head outputs a probe reads for one scene, voxel labels, and the voxelisation.
    public static func features(model: MinkUNet, probe: String, scene: Scene, voxelSize: Double,
                                threads: Int, memoryLimit: Int? = nil) throws -> (features: [Float], width: Int, labels: [Int32]) {
        try require(scene.labels.count * 3 == scene.points.count, "probe scene '\(scene.name)': \(scene.labels.count) labels for \(scene.points.count / 3) points")
        let featureHeads = model.spec.heads.filter { !$0.isProbe }
        let inputs = try MinkUNetSpec.probeInputs(probe, featureHeads: featureHeads)
        let all = model.spec.heads.map(\.name)
        let selection = try inputs.map { n -> Int in
            guard let i = all.firstIndex(of: n) else { throw OV3DError.invalidArgument("probe '\(probe)' reads head '\(n)', which the model lacks") }
            return i
        }
        let r = try model.run(points: scene.points, voxelSize: voxelSize, headSelection: selection, threads: threads,
                              workspace: Workspace(memoryLimit: memoryLimit))
        let v = r.voxels.voxelCount
        let dims = selection.map { model.spec.heads[$0].dim }
        let width = dims.reduce(0, +)
        var f = [Float](repeating: 0, count: v * width)
        var col = 0
        for (k, h) in selection.enumerated() {
            guard let pos = r.output.headIndices.firstIndex(of: h) else { throw OV3DError.internal("probe: head \(h) not computed") }
            let src = r.output.heads[pos], d = dims[k]
            for row in 0..<v { for j in 0..<d { f[row * width + col + j] = src[row * d + j] } }
            col += d
        }
        let labels = r.voxels.representative.map { scene.labels[Int($0)] }
        return (f, width, labels)
    }

    public static func train(model: MinkUNet, stateDict: StateDict, scenes: [Scene], config c: Config,
                             onStep: (Int, Double) -> Void = { _, _ in }) throws -> Result {
        try require(!scenes.isEmpty, "probe: no training scenes")
        var data = [(features: [Float], labels: [Int32])]()
        var width = 0
        for s in scenes {
            let f = try features(model: model, probe: c.probe, scene: s, voxelSize: c.voxelSize, threads: c.threads,
                                   memoryLimit: c.memoryLimit)
            for l in f.labels where l != 255 {
                try require(l >= 0 && Int(l) < c.classes, "probe scene '\(s.name)': label \(l) outside 0..<\(c.classes) (255 = ignore)")
            }
            width = f.width
            data.append((f.features, f.labels))
        }
        let probe = try LinearProbe(name: c.probe, inputWidth: width, classes: c.classes)
        probe.initialize(seed: c.seed)
        let plan = try EpochPlan(scenes: scenes.count, loop: c.loop, batchSize: min(c.batchSize, scenes.count * c.loop),
                                 shuffle: true, dropLast: true, seed: c.seed)
        let maxSteps = max(1, c.epochs * plan.stepsPerEpoch)
        var oc = Optimizer.Config(kind: .adam, lr: c.lr)
        oc.weightDecay = c.weightDecay
        let groups = [ParameterGroup(name: "probe", entryIndices: [0], baseLR: c.lr, weightDecay: c.weightDecay)]
        let opt = try Optimizer(oc, groups: groups, over: probe.parameters)
        let schedule = LearningRateSchedule.poly(power: c.power, maxSteps: maxSteps)
        var lr = c.lr
        var step = 0
        var epochLosses = [Double]()
        for epoch in 0..<c.epochs {
            var sum = 0.0, n = 0
            for batch in plan.batches(epoch: epoch) {
                var x = [Float](), y = [Int32]()
                for s in batch { x += data[s].features; y += data[s].labels }
                probe.training = true
                probe.parameters.zeroGrads()
                let tb = TrainingBatch(coords: [Int32](repeating: 0, count: y.count * 4), features: x, inChannels: width)
                let z = try probe.forward(tb, threads: c.threads)[0]
                let (loss, g) = try CrossEntropyLoss.evaluate(logits: z, labels: y, classes: c.classes, ignore: 255) as (Double, [Float])
                try require(loss.isFinite, "probe: the loss is not finite at step \(step + 1)")
                try probe.backward([g], threads: c.threads)
                try opt.step(probe.parameters, lrs: [lr])
                step += 1
                lr = schedule.next(step: step, base: c.lr, previous: lr)
                sum += loss; n += 1
                onStep(step, loss)
            }
            epochLosses.append(sum / Double(max(n, 1)))
        }
        var sd = stateDict
        let probeSD = try probe.stateDict()
        for k in probeSD.keys { sd.set(k, probeSD[k]!) }
        return Result(probe: probe, stateDict: sd, epochLosses: epochLosses, steps: step)
    }
    /// Probe mIoU on held-out scenes through today's loader: `model` is a `MinkUNet` built from
    /// the probe's state dict (its `final_seg*` head composed by `MinkUNetProbeHeads`); the argmax
    /// of the probe's logits per voxel is broadcast to the points and scored against the labels
    /// (255 = ignore), one confusion matrix over all scenes.
    public static func evaluate(model: MinkUNet, probe: String, scenes: [Scene], voxelSize: Double,
                                convention: MetricConvention = .standard, threads: Int, memoryLimit: Int? = nil) throws -> SegmentationMetrics {
        try require(!scenes.isEmpty, "probe evaluation: no scenes")
        guard let hi = model.spec.heads.firstIndex(where: { $0.name == probe }) else {
            throw OV3DError.invalidArgument("probe evaluation: the model has no head '\(probe)' (heads: \(model.spec.heads.map(\.name).joined(separator: ", ")))")
        }
        let k = model.spec.heads[hi].dim
        var m = try ConfusionMatrix(classes: k)
        for s in scenes {
            try require(s.labels.count * 3 == s.points.count, "probe scene '\(s.name)': \(s.labels.count) labels for \(s.points.count / 3) points")
            let r = try model.run(points: s.points, voxelSize: voxelSize, threads: threads, workspace: Workspace(memoryLimit: memoryLimit))
            guard let pos = r.output.headIndices.firstIndex(of: hi) else { throw OV3DError.internal("probe evaluation: head \(hi) not computed") }
            let z = r.output.heads[pos]
            let v = r.voxels.voxelCount
            try require(z.count == v * k, "probe evaluation: head '\(probe)' returned \(z.count) values for \(v) × \(k)")
            var vl = [Int32](repeating: 0, count: v)
            for row in 0..<v {
                var best = 0
                for c in 1..<k where z[row * k + c] > z[row * k + best] { best = c }
                vl[row] = Int32(best)
            }
            try m.add(predictions: r.voxels.inverse.map { vl[Int($0)] }, groundTruth: s.labels, ignore: 255)
        }
        return SegmentationMetrics(m, convention: convention)
    }
}
