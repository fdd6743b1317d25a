/// Running statistics of one BatchNorm (torch's buffers `running_mean`, `running_var`,
/// `num_batches_tracked`).
final class BatchNormBuffers {
    var runningMean: [Float]
    var runningVar: [Float]
    var tracked: Int64 = 0
    init(channels: Int) {
        runningMean = [Float](repeating: 0, count: channels)
        runningVar = [Float](repeating: 1, count: channels)
    }
}

/// A MinkUNet that trains: built from the same `MinkUNetSpec` (and the same graph walk,
/// `MinkUNetSpec.walk`) as the inference `MinkUNet`, with BatchNorm unfolded.
///
/// - Parameters (`parameters`) are the state-dict tensors that torch trains, in registration
///   order: every `*.kernel`, `*.bn.weight`, `*.bn.bias`, and head biases (`<head>.bias`, shape
///   `[1, dim]`, when the spec's head has `bias`). BN running statistics are buffers.
/// - `forward` in training mode normalises with batch statistics over every row of the batch,
///   updates running statistics (momentum 0.1, unbiased variance) and `num_batches_tracked`, and
///   keeps what `backward` needs on a tape; in evaluation mode it uses the running statistics.
/// - `backward` runs the tape in reverse through the kernel maps of the forward (cached in its
///   `CoordinateManager`), adding into `parameters.grads`, freeing activations as it goes.
/// - Batches of several scenes: `BatchLayout` (an exact equivalent of ME's batch index).
/// - Rows run in spatial (Morton) order inside; outputs and gradients are in batch row order.
///
/// Not thread-safe (one training run owns it); `threads` parallelises each operation, with
/// fixed reduction orders: the same inputs, weights and thread count give the same outputs and
/// gradients bit for bit.
public final class TrainableMinkUNet: TrainableNetwork {
    public let spec: MinkUNetSpec
    public let parameters: ParameterSet
    public var heads: [(name: String, dim: Int)] { spec.heads.map { ($0.name, $0.dim) } }
    public var training = true
    /// BatchNorm buffers by module name (`bn0`, `block1.0.norm1`, ...), and that order.
    let batchNorms: [String: BatchNormBuffers]
    let batchNormOrder: [String]
    /// Work buffers of forward and backward; `workspace.peakBytes` is the high-water mark.
    public let workspace = Workspace()
    /// The matrix-product kernels (`.blas` forces the OpenBLAS path).
    public var kernels: ComputeKernels {
        get { workspace.kernels }
        set { workspace.kernels = newValue }
    }

    /// What the last forward left for backward.
    private struct Pending {
        var tape: [TrainingExecutor.Step]
        var headIDs: [Int]
        var order: [Int32]
        var rows: Int
        var cm: CoordinateManager
    }
    private var pending: Pending?

    /// A network of architecture `spec` with the seeded initial weights of
    /// `MinkUNetInitialization` (OpenScene's init).
    public init(spec: MinkUNetSpec, seed: UInt64 = 0) throws {
        for h in spec.heads { _ = try spec.inputWidth(of: h) }
        try require(spec.layers.count == 8 && spec.planes.count == 8 && spec.layers.allSatisfy { $0 >= 1 }
                    && spec.planes.allSatisfy { $0 >= 1 } && spec.inChannels >= 1 && spec.initDim >= 1 && !spec.heads.isEmpty,
                    "invalid MinkUNet spec (8 stages of >= 1 block, positive widths, >= 1 head)")
        self.spec = spec
        let ps = ParameterSet()
        try ps.reserve(total: spec.expectedTensors.reduce(0) { acc, t in
            t.0.hasSuffix(".kernel") || t.0.hasSuffix("bias") || t.0.hasSuffix(".bn.weight") ? acc + t.1.reduce(1, *) : acc
        })
        var bns = [String: BatchNormBuffers](), order = [String]()
        for (key, shape) in spec.expectedTensors {
            if key.hasSuffix(".kernel") {
                try ps.add(key, shape: shape, role: .convKernel)
            } else if key.hasSuffix(".bn.weight") {
                try ps.add(key, shape: shape, role: .bnWeight)
                let m = String(key.dropLast(".bn.weight".count))
                bns[m] = BatchNormBuffers(channels: shape[0]); order.append(m)
            } else if key.hasSuffix(".bn.bias") {
                try ps.add(key, shape: shape, role: .bnBias)
            } else if key.hasSuffix(".bias") {
                try ps.add(key, shape: shape, role: .bias)
            }
        }
        parameters = ps
        batchNorms = bns
        batchNormOrder = order
        MinkUNetInitialization.initialize(ps, spec: spec, seed: seed)
    }

    /// A network holding the weights and buffers of a state dict (architecture inferred).
    public convenience init(stateDict sd: StateDict) throws {
        try self.init(spec: MinkUNetSpec.infer(from: sd))
        try load(sd)
    }

    // MARK: - Forward / backward

    public func forward(_ batch: TrainingBatch, threads: Int) throws -> [[Float]] {
        pending = nil
        let n = batch.rows
        try require(n > 0 && batch.coords.count == 4 * n, "a training batch needs rows of 4 coordinates (batch, x, y, z), got \(batch.coords.count) values")
        try require(batch.inChannels == spec.inChannels, "the batch has \(batch.inChannels) input channels, the network \(spec.inChannels)")
        try require(batch.features.count == n * spec.inChannels, "batch features hold \(batch.features.count) values, expected \(n) × \(spec.inChannels)")
        for v in batch.features where !v.isFinite { throw OV3DError.invalidArgument("batch features contain NaN or Inf") }
        let layout = try BatchLayout(batchCoords: batch.coords)
        let order = SpatialOrder.morton(layout.coords)
        var sorted = [Int32](repeating: 0, count: 3 * n)
        for (i, r) in order.enumerated() { for a in 0..<3 { sorted[3 * i + a] = layout.coords[3 * Int(r) + a] } }
        let input: CoordinateMap
        do { input = try CoordinateMap(unique: sorted) } catch let e as OV3DError {
            throw OV3DError(e.status, e.message + " (in the batch; coordinates must be unique per scene)")
        }
        Threads.setBLASThreads(threads)
        let cm = CoordinateManager(input: input, threads: threads, workspace: workspace)
        let cin = spec.inChannels
        var outs = [[Float]]()
        var ids = [Int]()
        var tape = [TrainingExecutor.Step]()
        try parameters.values.withUnsafeBufferPointer { vp in
            let ex = TrainingExecutor(network: self, cm: cm, values: vp.baseAddress!, threads: threads)
            let x0 = try ex.value(rows: n, cols: cin, needsGrad: false)
            batch.features.withUnsafeBufferPointer { f in
                for (i, r) in order.enumerated() { (x0.matrix.data + i * cin).update(from: f.baseAddress! + Int(r) * cin, count: cin) }
            }
            let heads = try spec.walk(x0, ex)
            for h in heads {
                let d = h.matrix.cols
                try Memory.reserve(Float.self, count: n * d, what: "head output (\(n) × \(d))")
                ids.append(h.id)
                outs.append([Float](unsafeUninitializedCapacity: n * d) { buf, done in
                    for (i, r) in order.enumerated() {
                        (buf.baseAddress! + Int(r) * d).initialize(from: h.matrix.data + i * d, count: d)
                    }
                    done = n * d
                })
            }
            tape = ex.takeTape()
        }
        pending = Pending(tape: tape, headIDs: ids, order: order, rows: n, cm: cm)
        return outs
    }

    public func backward(_ gradOutputs: [[Float]], threads: Int) throws {
        guard var p = pending else { throw OV3DError.invalidArgument("backward without a forward (or called twice)") }
        pending = nil
        let hs = spec.heads
        try require(gradOutputs.count == hs.count, "backward got \(gradOutputs.count) output gradients, the network has \(hs.count) heads")
        let store = GradientStore(workspace: workspace, threads: threads)
        defer { store.clear() }
        Threads.setBLASThreads(threads)
        for (i, g) in gradOutputs.enumerated() where !g.isEmpty {
            let d = hs[i].dim
            try require(g.count == p.rows * d, "gradient of head '\(hs[i].name)' holds \(g.count) values, expected \(p.rows) × \(d)")
            let m = try workspace.matrix(rows: p.rows, cols: d)
            g.withUnsafeBufferPointer { gp in
                for (r, src) in p.order.enumerated() { (m.data + r * d).update(from: gp.baseAddress! + Int(src) * d, count: d) }
            }
            store.accumulate(p.headIDs[i], m)
        }
        try parameters.values.withUnsafeBufferPointer { vp in
            try parameters.grads.withUnsafeMutableBufferPointer { gp in
                let ctx = BackwardContext(values: vp.baseAddress!, grads: gp.baseAddress!, store: store)
                while let step = p.tape.popLast() { try step(ctx) }
            }
        }
    }

    /// Drops what the last forward kept for backward (a forward without backward, e.g. evaluation).
    public func releaseActivations() { pending = nil }

    /// Drops the kept activations and returns the workspace's pooled buffers to the system.
    public func releaseWorkBuffers() { pending = nil; workspace.trim() }

    // MARK: - State dict

    public func stateDict() throws -> StateDict {
        var sd = StateDict()
        for (key, shape) in spec.expectedTensors {
            if let e = parameters.entry(key) {
                sd.set(key, try Tensor(Array(parameters.values[e.range]), shape: e.shape))
            } else if key.hasSuffix(".bn.running_mean") || key.hasSuffix(".bn.running_var") {
                let isMean = key.hasSuffix(".bn.running_mean")
                let m = String(key.dropLast(isMean ? ".bn.running_mean".count : ".bn.running_var".count))
                guard let b = batchNorms[m] else { throw OV3DError.internal("no BatchNorm '\(m)'") }
                sd.set(key, try Tensor(isMean ? b.runningMean : b.runningVar, shape: shape))
                if !isMean {
                    let t = b.tracked
                    sd.set(m + ".bn.num_batches_tracked", try withUnsafeBytes(of: t.littleEndian) {
                        try Tensor(dtype: .int64, shape: [], bytes: $0)
                    })
                }
            } else {
                throw OV3DError.internal("state dict key '\(key)' has no parameter or buffer")
            }
        }
        return sd
    }

    public func load(_ raw: StateDict) throws {
        try spec.validate(raw)
        let sd = MinkUNetSpec.stripPrefix(raw)
        for e in parameters.entries {
            let v = try sd.tensor(e.name).floats()
            try require(v.count == e.count, "'\(e.name)' holds \(v.count) values, expected \(e.count)")
            for v in v where !v.isFinite { throw OV3DError.invalidArgument("'\(e.name)' contains NaN or Inf") }
            parameters.values.replaceSubrange(e.range, with: v)
        }
        for m in batchNormOrder {
            let b = batchNorms[m]!
            let mean = try sd.tensor(m + ".bn.running_mean").floats(), variance = try sd.tensor(m + ".bn.running_var").floats()
            try require(mean.count == b.runningMean.count && variance.count == b.runningVar.count, "'\(m)' running statistics have the wrong size")
            b.runningMean = mean
            b.runningVar = variance
            if let t = sd[m + ".bn.num_batches_tracked"] {
                let v = t.dtype.isFloatingPoint ? t.floats().map { $0.isFinite && abs($0) < 1e18 ? Int64($0) : 0 } : try t.int64s()
                try require(v.count == 1, "'\(m).bn.num_batches_tracked' must hold one value")
                b.tracked = v[0]
            } else {
                b.tracked = 0
            }
        }
        pending = nil
    }
}
