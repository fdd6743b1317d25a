/// A resumable training state as one safetensors file: the network's state dict (`model.<key>`:
/// weights, BN running statistics, num_batches_tracked), the optimizer's flat buffers
/// (`optimizer.exp_avg`, `optimizer.exp_avg_sq`, `optimizer.max_exp_avg_sq`,
/// `optimizer.momentum_buffer`) and step (`optimizer.step`), the trainer's step and next learning
/// rates (`trainer.step`, `trainer.lr`), and the data order (`data.rng`, `data.permutation`,
/// `data.cursor`). Resuming N steps after M gives the weights of M + N steps in one run, bit for bit.
public enum TrainingState {
    public static let formatKey = "ov3d.training_state"
    public static let optimizerKey = "ov3d.training.optimizer"
    public static let parametersKey = "ov3d.training.parameters"

    public static func encode(network: TrainableNetwork, trainer: Trainer, data: TrainingData) throws -> StateDict {
        var sd = StateDict()
        let model = try network.stateDict()
        for k in model.keys { sd.set("model." + k, try model.tensor(k)) }
        for (name, buf) in trainer.optimizer.state() { sd.set("optimizer." + name, try Tensor(buf, shape: [buf.count])) }
        sd.set("optimizer.step", try int64([Int64(trainer.optimizer.stepCount)]))
        sd.set("trainer.step", try int64([Int64(trainer.step)]))
        sd.set("trainer.lr", try raw(trainer.lrs, .float64))
        sd.set("data.rng", try int64([Int64(bitPattern: data.rng.state)]))
        sd.set("data.permutation", try int64(data.permutation.map { Int64($0) }))
        sd.set("data.cursor", try int64([Int64(data.cursor)]))
        sd.setMetadata(formatKey, "1")
        sd.setMetadata(optimizerKey, trainer.optimizer.config.kind.rawValue)
        sd.setMetadata(parametersKey, String(network.parameters.count))
        return sd
    }

    public static func save(path: String, network: TrainableNetwork, trainer: Trainer, data: TrainingData) throws {
        do { try Safetensors.write(try encode(network: network, trainer: trainer, data: data), path: path) } catch let e as OV3DError {
            throw e.context("save_state \(path)")
        }
    }

    /// Loads `path` into the network, optimizer, trainer and data order. The run must have the
    /// same model, optimizer type and scenes.
    public static func restore(path: String, network: TrainableNetwork, trainer: Trainer, data: TrainingData) throws {
        do {
            let sd = try Safetensors.read(path: path)
            try requireFormat(sd.metadata(formatKey) == "1", "not an ov3d training state (no \(formatKey) = 1)")
            let kind = sd.metadata(optimizerKey) ?? "?"
            try require(kind == trainer.optimizer.config.kind.rawValue,
                        "saved with optimizer \(kind), this run uses \(trainer.optimizer.config.kind.rawValue)")
            try require(sd.metadata(parametersKey) == String(network.parameters.count),
                        "saved for \(sd.metadata(parametersKey) ?? "?") parameters, this model has \(network.parameters.count)")
            var model = StateDict()
            var buffers: [String: [Float]] = [:]
            for k in sd.keys {
                if k.hasPrefix("model.") { model.set(String(k.dropFirst(6)), try sd.tensor(k)) }
                if k.hasPrefix("optimizer."), k != "optimizer.step" {
                    let t = try sd.tensor(k)
                    try requireFormat(t.dtype == .float32, "\(k) is not float32")
                    buffers[String(k.dropFirst(10))] = t.floats()
                }
            }
            try network.load(model)
            try trainer.optimizer.restore(step: Int(try scalar(sd, "optimizer.step")), buffers: buffers)
            let lr = try sd.tensor("trainer.lr")
            try requireFormat(lr.dtype == .float64, "trainer.lr is not float64")
            let lrs = (0..<lr.count).map { lr.bytes.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self) }
            try trainer.restore(step: Int(try scalar(sd, "trainer.step")), lrs: lrs)
            let perm = try sd.tensor("data.permutation").int64s()
            try requireFormat(perm.allSatisfy { $0 >= 0 && $0 < Int64(data.specs.count) }, "data.permutation is out of range")
            try data.restore(rng: SplitMix64(seed: UInt64(bitPattern: try scalar(sd, "data.rng"))),
                             permutation: perm.map { Int($0) }, cursor: Int(try scalar(sd, "data.cursor")))
        } catch let e as OV3DError {
            throw e.context("resume \(path)")
        }
    }

    static func scalar(_ sd: StateDict, _ k: String) throws -> Int64 {
        let v = try sd.tensor(k).int64s()
        try requireFormat(v.count == 1 && (k == "data.rng" || v[0] >= 0 && v[0] <= Int64(Int32.max) * 1024), "\(k) is not a valid counter")
        return v[0]
    }

    static func int64(_ a: [Int64]) throws -> Tensor { try raw(a, .int64) }

    static func raw<T>(_ a: [T], _ dtype: DType) throws -> Tensor {
        try a.withUnsafeBytes { try Tensor(dtype: dtype, shape: [a.count], bytes: $0) }
    }
}
