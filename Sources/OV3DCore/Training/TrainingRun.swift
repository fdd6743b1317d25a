/// A whole training run from a `TrainingConfig`: builds the network (initial weights from
/// `model.init`, else seeded init), the optimizer with its parameter groups, the schedule, the
/// data order; optionally resumes a saved state; runs the steps; writes `out` (safetensors with
/// every state-dict key and ov3d's model metadata), `export_pth` (torch zip) and `save_state`.
/// The `ov3d train` command is a thin wrapper around it.
public final class TrainingRun {
    /// Makes the network a config describes (seeded init).
    public typealias NetworkFactory = (_ model: TrainingConfig.Model, _ seed: UInt64) throws -> TrainableNetwork

    public let config: TrainingConfig
    public let network: TrainableNetwork
    public let trainer: Trainer
    public let data: TrainingData
    public let threads: Int

    public init(config: TrainingConfig, makeNetwork: NetworkFactory = TrainingRun.minkUNet) throws {
        self.config = config
        threads = Threads.resolve(config.threads)
        let net = try makeNetwork(config.model, config.seed)
        if let p = config.model.initPath {
            do { try net.load(try CheckpointReader.load(path: p)) } catch let e as OV3DError { throw e.context("model.init \(p)") }
        }
        let want = config.model.heads.map { "\($0.name)=\($0.dim)" }, got = net.heads.map { "\($0.name)=\($0.dim)" }
        try require(want == got, "model.heads \(want.joined(separator: ",")) do not match the network's \(got.joined(separator: ","))")
        let groups = try ParameterGroupSpec.resolve(config.paramGroups, over: net.parameters,
                                                    defaultLR: config.optimizer.lr, defaultWeightDecay: config.optimizer.weightDecay)
        let opt = try Optimizer(config.optimizer, groups: groups, over: net.parameters)
        trainer = try Trainer(network: net, optimizer: opt, schedule: config.schedule, losses: config.losses,
                              clipNorm: config.clipGradNorm, threads: threads)
        let lossHeads = net.heads.filter { h in config.losses.contains { $0.head == h.name } }
        data = try TrainingData(specs: config.scenes, batchSize: config.batchSize, shuffle: config.shuffle,
                                augmentation: config.augmentation, inChannels: config.model.inChannels,
                                lossHeads: lossHeads, seed: config.seed, cropPoints: config.cropPoints)
        network = net
        try limitMemory(nil)
        if let r = config.resume {
            try TrainingState.restore(path: r, network: net, trainer: trainer, data: data)
            try require(trainer.step <= config.steps, "resume \(r): the state is at step \(trainer.step), past steps = \(config.steps)")
        }
    }

    /// Applies a memory limit (`--max-memory`; nil: `OV3D_MAX_MEMORY`, else none): every step is
    /// checked up front against it (`Trainer.checkMemory`: the step's projected peak, refused with
    /// outOfMemory before it allocates), and the network's work buffers are capped by it too.
    public func limitMemory(_ explicit: Int?) throws {
        trainer.memoryLimit = explicit
        try (network as? TrainableMinkUNet)?.workspace.limitWorkBuffers(explicit)
    }

    /// Runs the remaining steps (up to `config.steps`), calling `onStep` after each, then writes
    /// the outputs. `onStep` may throw to stop the run (nothing is written then).
    public func run(onStep: (Trainer.StepRecord) throws -> Void = { _ in }) throws {
        Threads.setBLASThreads(threads)
        while trainer.step < config.steps {
            let b = try data.nextBatch()
            let rec = try trainer.train(b)
            try onStep(rec)
            if config.saveEvery > 0, trainer.step % config.saveEvery == 0, trainer.step < config.steps, let s = config.saveState {
                try TrainingState.save(path: s, network: network, trainer: trainer, data: data)
            }
        }
        try writeOutputs()
    }

    /// The network's state dict with ov3d's metadata (architecture, heads).
    public func finalStateDict() throws -> StateDict {
        var sd = try network.stateDict()
        var meta = ModelMetadata()
        meta.architecture = config.model.architecture
        meta.heads = network.heads.map { ModelMetadata.Head(name: $0.name, dim: $0.dim) }
        // The voxel size the model was trained at, when every scene has the same one (readers of
        // the checkpoint — `ov3d segment`, `ov3d probe`, the demo — default to it).
        let sizes = Set(config.scenes.compactMap { s -> Double? in if case .points(_, let v) = s.geometry { return v } else { return nil } })
        if sizes.count == 1, config.scenes.allSatisfy({ if case .points = $0.geometry { return true } else { return false } }) {
            meta.voxelSize = sizes.first
        }
        meta.apply(to: &sd)
        return sd
    }

    /// Writes `out`, `export_pth` and `save_state` as configured.
    public func writeOutputs() throws {
        network.releaseWorkBuffers()
        if let o = config.out {
            do { try Safetensors.write(try finalStateDict(), path: o) } catch let e as OV3DError { throw e.context("out \(o)") }
        }
        if let p = config.exportPth {
            try TorchCheckpointWriter.write(try Self.minkowskiLayout(network.stateDict()), path: p, prefix: config.exportPrefix)
        }
        if let s = config.saveState {
            try TrainingState.save(path: s, network: network, trainer: trainer, data: data)
        }
    }

    /// The state dict in MinkowskiEngine's parameter layouts for torch: a convolution's bias
    /// (`final.bias`, any `*.bias` outside BatchNorm) is `[1, out]` in ME; rank-1 biases are
    /// reshaped to that (same bytes). Everything else is unchanged.
    public static func minkowskiLayout(_ sd: StateDict) throws -> StateDict {
        var out = StateDict()
        out.metadata = sd.metadata
        for k in sd.keys {
            var t = try sd.tensor(k)
            if k.hasSuffix(".bias"), !k.hasSuffix(".bn.bias"), t.rank == 1 {
                t = try Tensor(dtype: t.dtype, shape: [1, t.shape[0]], storage: t.storage, byteOffset: t.byteOffset)
            }
            out.set(k, t)
        }
        return out
    }

    /// The MinkUNet family (`TrainableMinkUNet`).
    public static func minkUNet(_ model: TrainingConfig.Model, _ seed: UInt64) throws -> TrainableNetwork {
        // Feature heads read the trunk; `final_seg*` heads are CUA-O3D linear probes on them.
        var heads = [MinkUNetSpec.Head]()
        for h in model.heads where !MinkUNetSpec.isProbeName(h.name) {
            heads.append(MinkUNetSpec.Head(name: h.name, dim: h.dim, bias: h.name == "final" && model.finalBias))
        }
        for h in model.heads where MinkUNetSpec.isProbeName(h.name) {
            heads.append(MinkUNetSpec.Head(name: h.name, dim: h.dim, inputs: try MinkUNetSpec.probeInputs(h.name, featureHeads: heads)))
        }
        let spec = try MinkUNetSpec.named(model.architecture, inChannels: model.inChannels, heads: heads)
        return try TrainableMinkUNet(spec: spec, seed: seed)
    }
}
