/// A training run with a recipe (`RecipeConfig`): the engine's `TrainingRun` (network,
/// optimizer, schedule, data, checkpoints: every engine key keeps working) with the recipe's
/// objective in the trainer, epochs of `loop × scenes / batch` steps, evaluation every N epochs
/// on held-out scenes with best-checkpoint keeping, σ logged and written the way CUA-O3D stores
/// it, and the recipe's state (σ, best mIoU) beside `save_state` so a resumed run continues it.
public final class RecipeRun {
    public let recipe: RecipeConfig
    public let config: TrainingConfig
    public let run: TrainingRun
    public let objective: TrainingObjective
    public let evaluator: TrainingEvaluator?
    public let stepsPerEpoch: Int
    public private(set) var best = BestCheckpoint()
    /// Stage 2: the EMA state came from the resumed side file (no re-initialisation).
    public private(set) var historyRestored = false
    /// (epoch, per-mode metrics) of every evaluation so far.
    public private(set) var evaluations: [(epoch: Int, results: [(mode: String, metrics: SegmentationMetrics)])] = []

    /// Reads `path`; returns nil when it has no `recipe` section (run the engine alone then).
    public static func load(path: String, makeNetwork: @escaping TrainingRun.NetworkFactory = TrainingRun.minkUNet) throws -> RecipeRun? {
        let bytes = try FileIO.read(path, maxBytes: 64 << 20)
        let json: JSON
        do { json = try bytes.withUnsafeBytes { try JSON.parse(bytes: $0) } } catch let e as OV3DError {
            throw OV3DError.invalidArgument("\(path): not valid JSON: \(e.message)")
        }
        let base = FileIO.directory(of: path)
        do {
            let (engine, recipe) = try RecipeConfig.split(json, baseDirectory: base)
            guard let recipe else { return nil }
            return try RecipeRun(config: try TrainingConfig.parse(engine, baseDirectory: base), recipe: recipe, makeNetwork: makeNetwork)
        } catch let e as OV3DError {
            throw OV3DError(e.status, "\(path): \(e.message)")
        }
    }

    /// The side file of the recipe state: `<save_state>.recipe.safetensors`.
    static func sidePath(_ state: String) -> String { state + ".recipe.safetensors" }

    public init(config: TrainingConfig, recipe: RecipeConfig, makeNetwork: @escaping TrainingRun.NetworkFactory = TrainingRun.minkUNet) throws {
        self.recipe = recipe
        self.config = config
        let run = try TrainingRun(config: config, makeNetwork: makeNetwork)
        self.run = run
        stepsPerEpoch = recipe.stepsPerEpoch(scenes: config.scenes.count, batchSize: config.batchSize)
        let net = run.network
        switch recipe.kind {
        case .cuaO3D:
            var mode = recipe.uncertainty
            if case .fixed(let w) = mode, w.isEmpty { mode = .fixed([Float](repeating: 1, count: config.losses.count)) }
            let weighting = try UncertaintyWeighting(heads: config.losses.count, mode: mode, initialSigma: recipe.sigmaInit)
            let order = net.heads.map(\.name)
            let losses = config.losses.sorted { (order.firstIndex(of: $0.head) ?? 0) < (order.firstIndex(of: $1.head) ?? 0) }
            let o = try CUAObjective(losses: losses, weighting: weighting, optimizer: config.optimizer)
            let spe = stepsPerEpoch
            o.epochOfStep = { $0 / spe }
            objective = o
        case .sasStage1, .sasStage2:
            try require(recipe.superpoints.count == config.scenes.count,
                        "recipe.superpoints has \(recipe.superpoints.count) files for \(config.scenes.count) data.scenes")
            let sps = try recipe.superpoints.enumerated().map { (i, p) -> [Int32] in
                let t: Tensor
                do { t = try NPY.read(path: p) } catch let e as OV3DError { throw e.context("recipe.superpoints[\(i)] (\(p))") }
                try require(!t.dtype.isFloatingPoint && t.dtype != .bool && t.rank == 1, "recipe.superpoints[\(i)] (\(p)): expected a 1-d integer array")
                return try t.int64s().map { v in
                    try require(v >= -1 && v < Int64(Int32.max), "recipe.superpoints[\(i)]: id \(v) out of range")
                    return Int32(v)
                }
            }
            var text: Vocabulary? = nil
            if recipe.kind == .sasStage2 {
                guard let tp = recipe.text else { throw OV3DError.invalidArgument("recipe sas_stage2 needs recipe.text (K×D class embeddings .npy)") }
                text = try Self.vocabulary(tp)
            }
            objective = try SASObjective(stage: recipe.kind == .sasStage1 ? .superpointDistillation : .selfDistillation,
                                         superpoints: sps, maxRows: recipe.maxRows, seed: config.seed, text: text,
                                         momentum: recipe.emaMomentum, storeHalf: recipe.emaHalf)
        }
        for h in objective.heads {
            try require(net.heads.contains { $0.name == h }, "recipe: the model has no head '\(h)'")
        }
        run.trainer.objective = objective
        if let e = recipe.eval {
            let vocab = try Self.vocabulary(e.text)
            let scenes = try e.scenes.enumerated().map { (i, s) in try Self.evaluationScene(s, index: i, voxelSize: e.voxelSize, dim: vocab.dimension) }
            evaluator = try TrainingEvaluator(scenes: scenes, vocabulary: vocab, modes: e.modes, head: e.head, convention: e.convention,
                                          centred: e.centred)
        } else {
            evaluator = nil
        }
        if let r = config.resume, FileIO.exists(Self.sidePath(r)) {
            let side = try Safetensors.read(path: Self.sidePath(r))
            best = try BestCheckpoint(metadata: side.metadata)
            if let o = objective as? CUAObjective, side["params"] != nil {
                try o.weighting.load(side)
                // σ's own optimizer (moments and step), so a resumed run continues bit for bit.
                if let opt = o.sigmaOptimizer, let st = side["sigma_optimizer.step"] {
                    var buffers: [String: [Float]] = [:]
                    for k in side.keys where k.hasPrefix("sigma_optimizer.") && k != "sigma_optimizer.step" {
                        let t = try side.tensor(k)
                        try requireFormat(t.dtype == .float32, "\(Self.sidePath(r)): \(k) is not float32")
                        buffers[String(k.dropFirst(16))] = t.floats()
                    }
                    let step = try st.int64s()
                    try requireFormat(step.count == 1 && step[0] >= 0 && step[0] < Int64(Int32.max), "\(Self.sidePath(r)): bad sigma_optimizer.step")
                    try opt.restore(step: Int(step[0]), buffers: buffers)
                }
            }
            // Stage 2's EMA state (`ema.<scene>`), so a resumed stage 2 continues bit for bit.
            if let sas = objective as? SASObjective, let ema = sas.ensemble {
                let keys = side.keys.filter { $0.hasPrefix("ema.") }
                if !keys.isEmpty {
                    try requireFormat(keys.count == config.scenes.count,
                                      "\(Self.sidePath(r)): EMA state of \(keys.count) scenes, data.scenes has \(config.scenes.count)")
                    for i in config.scenes.indices {
                        guard side["ema.\(i)"] != nil else { throw OV3DError.format("\(Self.sidePath(r)): no ema.\(i)") }
                        let t = try side.tensor("ema.\(i)")
                        try requireFormat(t.shape[0] == sas.superpoints[i].count,
                                          "\(Self.sidePath(r)): ema.\(i) has \(t.shape[0]) points, recipe.superpoints[\(i)] \(sas.superpoints[i].count)")
                        try ema.restore(scene: i, tensor: t)
                    }
                    historyRestored = true
                }
            }
        }
    }

    /// A K×D float .npy of class embeddings (rows of T).
    static func vocabulary(_ path: String) throws -> Vocabulary {
        let t = try NPY.read(path: path)
        try require(t.dtype.isFloatingPoint && t.rank == 2 && t.shape[0] >= 1, "\(path): expected a K×D float array of class embeddings")
        return try Vocabulary(names: (0..<t.shape[0]).map { "class \($0)" }, embeddings: t.floats(), dimension: t.shape[1])
    }

    static func evaluationScene(_ s: RecipeConfig.EvalScene, index i: Int, voxelSize: Double, dim: Int) throws -> EvaluationScene {
        let label = "recipe.eval.scenes[\(i)]"
        let p = try NPY.read(path: s.points)
        try require(p.dtype.isFloatingPoint && p.rank == 2 && p.shape[1] == 3, "\(label).points: expected P×3 floats")
        let points = p.floats()
        let l = try NPY.read(path: s.labels)
        try require(!l.dtype.isFloatingPoint && l.count == p.shape[0], "\(label).labels: expected \(p.shape[0]) integers")
        let labels = try l.int64s().map { Int32(clamping: $0) }
        let vox = try Voxelizer.voxelize(positions: points, voxelSize: voxelSize)
        var fused: [Float]? = nil, mask: [UInt8]? = nil
        if let f = s.fused {
            let t = try NPY.read(path: f)
            try require(t.dtype.isFloatingPoint && t.shape == [p.shape[0], dim], "\(label).fused: expected \(p.shape[0])×\(dim) floats")
            fused = t.floats()
        }
        if let m = s.fusedMask {
            let t = try NPY.read(path: m)
            try require((t.dtype == .uint8 || t.dtype == .bool) && t.count == p.shape[0], "\(label).fused_mask: expected \(p.shape[0]) uint8/bool")
            mask = [UInt8](t.bytes)
        }
        return try EvaluationScene(name: label, coords: vox.coords, inverse: vox.inverse, labels: labels, fused2D: fused, mask2D: mask)
    }

    /// Stage 2: the EMA state of every training scene from the current network (evaluation
    /// mode, no augmentation), before the first step.
    func initializeHistory() throws {
        guard let sas = objective as? SASObjective, sas.stage == .selfDistillation else { return }
        let net = run.network
        let wasTraining = net.training
        net.training = false
        defer { net.training = wasTraining }
        guard let hi = net.heads.firstIndex(where: { $0.name == sas.head }) else { return }
        let d = net.heads[hi].dim
        for (i, spec) in config.scenes.enumerated() {
            let s = try TrainingScene.load(spec, inChannels: config.model.inChannels, headDims: [])
            var coords: [Int32], map: [Int32]? = nil, feats = s.features
            if let pts = s.points, let vs = s.voxelSize {
                let r = try Voxelizer.voxelize(positions: pts, voxelSize: vs)
                coords = r.coords; map = r.inverse
                if let f = s.features { feats = Elementwise.gatherRows(f, cols: config.model.inChannels, index: r.representative) }
            } else {
                coords = s.coords ?? []
            }
            let v = coords.count / 3
            var c4 = [Int32](repeating: 0, count: 4 * v)
            for r in 0..<v { for a in 0..<3 { c4[4 * r + 1 + a] = coords[3 * r + a] } }
            let batch = TrainingBatch(coords: c4, features: feats ?? [Float](repeating: 1, count: v * config.model.inChannels), inChannels: config.model.inChannels)
            let out = try net.forward(batch, threads: run.threads)[hi]
            let rows = map.map { Elementwise.gatherRows(out, cols: d, index: $0) } ?? out
            try sas.initializeHistory(scene: i, predictions: rows)
        }
    }

    /// What a step did, with the recipe's additions.
    public struct StepReport {
        public var record: Trainer.StepRecord
        public var epoch: Int
        public var sigma: [(head: String, sigma: Float)]
        /// Set on the steps that end an evaluated epoch.
        public var evaluation: [(mode: String, metrics: SegmentationMetrics)]?

        /// The engine's per-step JSON plus `epoch`, `sigma` {head: σ} and `eval` {mode: {miou, macc}}.
        public var json: JSON {
            guard case .object(var o) = record.json else { return record.json }
            o.append(("epoch", .number(Double(epoch))))
            if !sigma.isEmpty { o.append(("sigma", .object(sigma.map { ($0.head, .number(Double($0.sigma))) }))) }
            if let e = evaluation {
                o.append(("eval", .object(e.map { ($0.mode, .object([("miou", .number($0.metrics.meanIoU)), ("macc", .number($0.metrics.meanAccuracy))])) })))
            }
            return .object(o)
        }
    }

    public func run(onStep: (StepReport) throws -> Void = { _ in }) throws {
        // Stage 2 starts from the current weights' predictions; a resumed run from its saved EMA state.
        if !historyRestored { try initializeHistory() }
        try run.run { rec in
            let epochIndex = (rec.step - 1) / stepsPerEpoch
            var sigma: [(head: String, sigma: Float)] = []
            if let o = objective as? CUAObjective { sigma = Array(zip(o.heads, o.weighting.sigma)).map { ($0.0, $0.1) } }
            var evaluation: [(mode: String, metrics: SegmentationMetrics)]? = nil
            if let ev = evaluator, let e = recipe.eval, rec.step % stepsPerEpoch == 0, (epochIndex + 1) % e.everyEpochs == 0 {
                let r = try ev.evaluate(run.network, threads: run.threads)
                evaluation = r
                evaluations.append((epochIndex + 1, r))
                if let first = r.first, best.offer(first.metrics.meanIoU, epoch: epochIndex + 1), let bo = e.bestOut {
                    try Safetensors.write(try run.finalStateDict(), path: bo)
                    if let o = objective as? CUAObjective { try Safetensors.write(try o.weighting.stateDict(), path: Self.sigmaBestPath(bo)) }
                }
                if let log = e.log {
                    var line = ""
                    StepReport(record: rec, epoch: epochIndex + 1, sigma: sigma, evaluation: r).json.write(to: &line)
                    try Self.append(log, line + "\n")
                }
            }
            if config.saveEvery > 0, rec.step % config.saveEvery == 0, let s = config.saveState { try writeSide(s) }
            try onStep(StepReport(record: rec, epoch: epochIndex + 1, sigma: sigma, evaluation: evaluation))
        }
        try writeRecipeOutputs()
    }

    static func sigmaBestPath(_ best: String) -> String {
        best.hasSuffix(".safetensors") ? String(best.dropLast(12)) + ".awl.safetensors" : best + ".awl.safetensors"
    }

    static func append(_ path: String, _ text: String) throws {
        let old = FileIO.exists(path) ? try FileIO.read(path) : []
        try FileIO.write(path, old + Array(text.utf8))
    }

    func writeSide(_ state: String) throws {
        var sd = StateDict()
        if let o = objective as? CUAObjective {
            sd = try o.weighting.stateDict()
            if let opt = o.sigmaOptimizer {
                for (name, buf) in opt.state() { sd.set("sigma_optimizer." + name, try Tensor(buf, shape: [buf.count])) }
                sd.set("sigma_optimizer.step", try [Int64(opt.stepCount)].withUnsafeBytes { try Tensor(dtype: .int64, shape: [1], bytes: $0) })
            }
        } else { sd.set("epoch_steps", try Tensor(int32: [Int32(stepsPerEpoch)], shape: [1])) }
        if let sas = objective as? SASObjective, let ema = sas.ensemble {
            for i in config.scenes.indices { if let t = try ema.tensor(scene: i) { sd.set("ema.\(i)", t) } }
        }
        for (k, v) in best.metadata { sd.setMetadata(k, v) }
        try Safetensors.write(sd, path: Self.sidePath(state))
    }

    /// σ (`sigma_out` safetensors, `sigma_pth` torch zip, `sigma_log` JSON lines) and the side state.
    public func writeRecipeOutputs() throws {
        if let o = objective as? CUAObjective {
            if let p = recipe.sigmaOut { try Safetensors.write(try o.weighting.stateDict(), path: p) }
            if let p = recipe.sigmaPth { try TorchCheckpointWriter.write(try o.weighting.stateDict(), path: p, prefix: "") }
            if let p = recipe.sigmaLog { try FileIO.write(p, text: o.history.jsonLines()) }
        }
        if let s = config.saveState { try writeSide(s) }
    }
}
