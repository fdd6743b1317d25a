#if canImport(Glibc)
import Glibc
#endif

/// The training step loop: zero the gradients, forward in training mode, the losses of the
/// supervised heads (on points through the voxel → point broadcast where the batch has points),
/// backward, optional gradient-norm clipping, the optimizer step with the schedule's learning
/// rates, then the schedule advances.
///
/// Deterministic: everything here runs in a fixed order; with a deterministic network the same
/// batches and thread count give the same weights bit for bit.
public final class Trainer {
    public let network: TrainableNetwork
    public let optimizer: Optimizer
    public let schedule: LearningRateSchedule
    public let losses: [TrainingLoss]
    /// `clip_grad_norm_`'s max_norm (nil: no clipping).
    public let clipNorm: Double?
    public let threads: Int
    /// Steps taken so far.
    public private(set) var step = 0
    /// The learning rate of the next step, per optimizer group.
    public private(set) var lrs: [Double]
    /// The memory limit of a step in bytes (`ov3d train --max-memory`); nil: `OV3D_MAX_MEMORY`
    /// when set, else none. Either way a step whose projected peak (`projectedPeak`) exceeds the
    /// limit or the address space left under `ulimit -v` is refused before it allocates, with
    /// `OV3DError.outOfMemory` (OV3D_ERR_OUT_OF_MEMORY) saying what it would need.
    public var memoryLimit: Int? = nil
    /// A recipe's objective (Recipes/): when set, it replaces the per-head `losses` (its heads'
    /// predictions at the loss rows in, their gradients out).
    public var objective: TrainingObjective?

    /// What one step did.
    public struct StepRecord: Sendable {
        /// 1-based number of the step.
        public var step: Int
        /// Per supervised head, in the network's head order: the unweighted loss.
        public var losses: [(head: String, loss: Double)]
        /// Σ weight·loss.
        public var total: Double
        /// The learning rate of every optimizer group in this step (the last is the default group).
        public var lrs: [Double]
        /// The L2 norm of all gradients before clipping (when clipping).
        public var gradNorm: Float?
        /// Network rows (voxels of the batch) and loss rows.
        public var voxels: Int
        public var lossRows: Int
        public var seconds: Double
        /// CPU time of the process during the step (all threads; on a shared machine the fairer
        /// measure of the work than `seconds`).
        public var cpuSeconds: Double = 0
        /// The step's projected peak memory (`projectedPeak`), bytes.
        public var projectedBytes: Int = 0
        public var voxelsPerSecond: Double { seconds > 0 ? Double(voxels) / seconds : 0 }

        /// The record as one JSON object (what `ov3d train --json` prints per step):
        /// `step`, `losses` {head: loss}, `total`, `lr` (the default group's), `lrs`, `grad_norm`
        /// (when clipping), `voxels`, `loss_rows`, `seconds`, `cpu_seconds`, `voxels_per_second`, `projected_peak_mb`.
        public var json: JSON {
            var o: [(String, JSON)] = [
                ("step", .number(Double(step))),
                ("losses", .object(losses.map { ($0.head, .number($0.loss)) })),
                ("total", .number(total)),
                ("lr", .number(lrs.last ?? 0)),
                ("lrs", .array(lrs.map { .number($0) })),
            ]
            if let g = gradNorm { o.append(("grad_norm", .number(Double(g)))) }
            o += [("voxels", .number(Double(voxels))), ("loss_rows", .number(Double(lossRows))),
                  ("seconds", .number(seconds)), ("cpu_seconds", .number(cpuSeconds)), ("voxels_per_second", .number(voxelsPerSecond)),
                  ("projected_peak_mb", .number((Double(projectedBytes) / 1048576).rounded()))]
            return .object(o)
        }
    }

    public init(network: TrainableNetwork, optimizer: Optimizer, schedule: LearningRateSchedule,
                losses: [TrainingLoss], clipNorm: Double? = nil, threads: Int = 1) throws {
        try schedule.validate()
        if let c = clipNorm { try require(c.isFinite && c > 0, "clip_grad_norm must be a positive number, got \(c)") }
        let heads = network.heads
        for l in losses {
            try require(heads.contains { $0.name == l.head }, "loss.\(l.head): the model has no head '\(l.head)' (heads: \(heads.map(\.name).joined(separator: ", ")))")
            try require(l.weight.isFinite, "loss.\(l.head).weight must be finite")
        }
        try require(Set(losses.map(\.head)).count == losses.count, "loss: a head is listed twice")
        self.network = network; self.optimizer = optimizer; self.schedule = schedule
        self.losses = losses; self.clipNorm = clipNorm; self.threads = threads
        lrs = optimizer.groups.map(\.baseLR)
    }

    /// Sets the step counter after restoring a checkpoint (the schedule is replayed to it; the
    /// optimizer's own step is restored with its state).
    public func restore(step s: Int, lrs saved: [Double]? = nil) throws {
        try require(s >= 0, "training state: negative step")
        step = s
        if let saved {
            try requireFormat(saved.count == optimizer.groups.count, "training state: \(saved.count) learning rates for \(optimizer.groups.count) groups")
            lrs = saved
        } else {
            lrs = optimizer.groups.map { schedule.rate(step: s, base: $0.baseLR) }
        }
    }

    /// Projected peak bytes of the process during a step on `b`: parameters, gradients and
    /// optimizer state (resident), the batch (coordinates, features, targets, mask), the
    /// network's step buffers (`projectedStepBytes`), and per supervised head the loss buffers
    /// (output copy, gradient, and on points the gathered prediction and the scattered gradient),
    /// plus 128 MiB for the runtime, libraries and OpenBLAS buffers (a MinkUNet14A step on 7.6k
    /// voxels peaks at 317 MiB RSS, of which the rest of this projection accounts for 199 MiB:
    /// tests/cli/test_train_memory_cli.py); the output phase (`TrainingRun.writeOutputs`: two copies of
    /// the parameters) when that is larger than the step's buffers.
    public func projectedPeak(_ b: PreparedBatch) -> Int {
        let rows = b.batch.rows
        let o = optimizer
        let stateFloats = o.expAvg.count + o.expAvgSq.count + o.maxExpAvgSq.count + o.momentumBuffer.count
        var bytes = Double(128 << 20) + 4 * Double(2 * network.parameters.count + stateFloats)
        bytes += 4 * Double(b.batch.coords.count + b.batch.features.count) + Double(b.mask?.count ?? 0)
        bytes += 4 * Double(b.targets.values.reduce(0) { $0 + $1.count }) + 4 * Double(b.lossToRow?.count ?? 0)
        let supervised = Set(losses.map(\.head) + (objective?.heads ?? []))
        for h in network.heads where supervised.contains(h.name) {
            bytes += 4 * Double(h.dim) * (Double(rows) + Double(b.lossRows) * (b.lossToRow == nil ? 1 : 2) + (b.lossToRow == nil ? 0 : Double(rows)))
        }
        let step = network.projectedStepBytes(b.batch)
        guard step < Int.max / 2, bytes < 4e18 else { return Int.max }
        // Writing `out` after the last step (work buffers released) holds a copy of the state
        // dict and its encoded file: about two more copies of the parameters.
        return Int(bytes) + max(step, 8 * network.parameters.count)
    }

    /// Refuses a step on `b` whose projected peak exceeds the memory limit or the address space
    /// left (outOfMemory, naming the batch and what it would need).
    @discardableResult
    public func checkMemory(_ b: PreparedBatch) throws -> Int {
        let limit = try memoryLimit ?? Memory.environmentLimit()
        let what = "training step \(step + 1) (\(b.batch.rows) voxels of \(b.scenes.count) scene\(b.scenes.count == 1 ? "" : "s")" +
            (b.lossToRow == nil ? "" : ", \(b.lossRows) points") + ")"
        let bytes = projectedPeak(b)
        try Memory.checkProjected(bytes, limit: limit, what: what)
        return bytes
    }

    /// One step on `b`.
    public func train(_ b: PreparedBatch) throws -> StepRecord {
        let projected = try checkMemory(b)
        let t0 = Self.now(), c0 = Self.cpuNow()
        network.training = true
        let params = network.parameters
        params.zeroGrads()
        let heads = network.heads
        let outs = try network.forward(b.batch, threads: threads)
        try require(outs.count == heads.count, "network returned \(outs.count) outputs for \(heads.count) heads")
        let rows = b.batch.rows
        var grads = [[Float]](repeating: [], count: heads.count)
        var record: [(head: String, loss: Double)] = []
        var total = 0.0
        if let obj = objective {
            var preds: [String: [Float]] = [:]
            for name in obj.heads {
                guard let h = heads.firstIndex(where: { $0.name == name }) else { throw OV3DError.invalidArgument("objective: the model has no head '\(name)'") }
                try require(outs[h].count == rows * heads[h].dim, "head \(name) returned \(outs[h].count) values for \(rows)×\(heads[h].dim)")
                preds[name] = b.lossToRow.map { PointBroadcast.gather(outs[h], cols: heads[h].dim, map: $0) } ?? outs[h]
            }
            let r = try obj.evaluate(predictions: preds, batch: b, step: step)
            guard r.total.isFinite else {
                throw OV3DError.invalidArgument("step \(step + 1): the recipe's loss is not finite (\(r.total)); lower optimizer.lr or check the targets")
            }
            for (name, g) in r.gradients {
                guard let h = heads.firstIndex(where: { $0.name == name }) else { continue }
                grads[h] = b.lossToRow.map { PointBroadcast.scatterAdd(g, cols: heads[h].dim, map: $0, voxelRows: rows) } ?? g
            }
            record = r.losses
            total = r.total
        } else {
            try require(!losses.isEmpty, "loss: no head has a loss")
        }
        for (h, head) in heads.enumerated() where objective == nil {
            guard let loss = losses.first(where: { $0.head == head.name }) else { continue }
            try require(outs[h].count == rows * head.dim, "head \(head.name) returned \(outs[h].count) values for \(rows)×\(head.dim)")
            guard let target = b.targets[head.name] else { throw OV3DError.invalidArgument("batch has no targets for head '\(head.name)'") }
            if b.lossToRow != nil {
                try Memory.reserve(Float.self, count: b.lossRows * head.dim, what: "head \(head.name) on the loss points (\(b.lossRows) × \(head.dim))")
            }
            let pred = b.lossToRow.map { PointBroadcast.gather(outs[h], cols: head.dim, map: $0) } ?? outs[h]
            let (value, g) = try loss.evaluate(pred: pred, target: target, mask: b.mask, rows: b.lossRows, dim: head.dim)
            guard value.isFinite else {
                throw OV3DError.invalidArgument("step \(step + 1): loss of head '\(head.name)' is not finite (\(value)); lower optimizer.lr or check the targets")
            }
            if b.lossToRow != nil {
                try Memory.reserve(Float.self, count: rows * head.dim, what: "head \(head.name) gradient per voxel (\(rows) × \(head.dim))")
            }
            grads[h] = b.lossToRow.map { PointBroadcast.scatterAdd(g, cols: head.dim, map: $0, voxelRows: rows) } ?? g
            record.append((head.name, value))
            total += loss.weight * value
        }
        try network.backward(grads, threads: threads)
        let norm = clipNorm.map { GradientClipping.clipNorm(params, maxNorm: $0) }
        let used = lrs
        try optimizer.step(params, lrs: used)
        try objective?.afterStep(lrs: used)
        step += 1
        lrs = zip(optimizer.groups, lrs).map { schedule.next(step: step, base: $0.baseLR, previous: $1) }
        return StepRecord(step: step, losses: record, total: total, lrs: used, gradNorm: norm,
                          voxels: rows, lossRows: b.lossRows, seconds: Self.now() - t0, cpuSeconds: Self.cpuNow() - c0, projectedBytes: projected)
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    static func cpuNow() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}
