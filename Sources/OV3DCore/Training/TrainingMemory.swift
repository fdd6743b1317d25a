/// Projected peak memory of a MinkUNet training step, from the batch's coordinates alone, so
/// that a batch too large for the memory limit is refused before the step allocates (issue 11,
/// on the fallible memory path of issue 17: `Memory.checkProjected` with `--max-memory`,
/// `OV3D_MAX_MEMORY` or `ulimit -v`; `Trainer.checkMemory`).
///
/// Rows per tensor stride are counted exactly (distinct (batch, ⌊x/s⌋, ⌊y/s⌋, ⌊z/s⌋) for s = 2,
/// 4, 8, 16: a hash pass per level, milliseconds). The work buffers are counted by walking the
/// same graph (`MinkUNetSpec.walk`) with an executor that keeps, per value, what
/// `TrainingExecutor`'s tape keeps: every convolution's output before BatchNorm, every ReLU
/// output, every concatenation, the network input; plus the largest backward transient (dA, dZ
/// and dX of one layer at once, with the gradients of the skip connections waiting in the
/// gradient store), the head outputs (pooled buffer and the returned copy) and, as the
/// inference projection, kernel maps of 8 bytes per pair with ~⅓ of the offsets occupied (the
/// 5³ stem map, a 3³ map per level, the 2³ maps in both directions) and the stem's neighbour
/// table. Checked against `Workspace.peakBytes` in TrainingMemoryTests and against the peak
/// RSS of `ov3d train` on the ~108k-voxel room in bench/results/train_step.md.
extension TrainableMinkUNet {
    /// Projected peak bytes of the work buffers and kernel maps of a training step on `batch`
    /// (not the parameters, optimizer state or the batch itself: `Trainer.projectedPeak` adds them).
    public func projectedStepBytes(_ batch: TrainingBatch) -> Int {
        let p = projectedStep(batch)
        let (t, o) = p.workBytes.addingReportingOverflow(p.mapBytes)
        return o ? Int.max : t
    }

    /// The parts of `projectedStepBytes`: work buffers (what `workspace.peakBytes` measures) and
    /// kernel maps; `rows` per tensor stride.
    func projectedStep(_ batch: TrainingBatch) -> (workBytes: Int, mapBytes: Int, rows: [Int32: Int]) {
        let n = batch.rows
        guard n > 0, batch.coords.count == 4 * n else { return (0, 0, [:]) }
        var rows: [Int32: Double] = [1: Double(n)]
        var keys = Set<UInt64>()
        keys.reserveCapacity(n)
        for s: Int32 in [2, 4, 8, 16] {
            keys.removeAll(keepingCapacity: true)
            for r in 0..<n {
                func q(_ v: Int32) -> UInt64 { UInt64(UInt32(bitPattern: (v >= 0 ? v / s : -((-v + s - 1) / s)) & 0xFFFFF)) }
                let b = UInt64(UInt32(bitPattern: batch.coords[4 * r]) & 0xFFF)
                keys.insert(b << 60 | q(batch.coords[4 * r + 1]) << 40 | q(batch.coords[4 * r + 2]) << 20 | q(batch.coords[4 * r + 3]))
            }
            rows[s] = Double(keys.count)
        }
        let counter = TrainingMemoryCounter(rows: rows)
        guard let outs = try? spec.walk(.init(stride: 1, cols: spec.inChannels), counter) else { return (Int.max, 0, [:]) }
        var floats = counter.held + counter.transient + Double(n * spec.inChannels)
        for o in outs { floats += 2 * counter.floats(o) }
        let k3 = 125.0   // the stem is a 5³ submanifold convolution
        // Pooled in the workspace too: the stem's neighbour table (4·k³ bytes per voxel), the
        // largest layer's packed and transposed weights, and the per-thread tile blocks.
        floats += Double(n) * k3 + 2 * counter.largestWeights + 2 * 4 * 256 * counter.widest
        var mapBytes = Double(n) * 8 * (k3 + 27) / 3
        for s: Int32 in [2, 4, 8, 16] { mapBytes += (rows[s] ?? 0) * 8 * (27 + 8 + 8) / 3 }
        func bytes(_ v: Double) -> Int { v < 4e18 ? Int(v.rounded(.up)) : Int.max / 4 }
        return (bytes(4 * floats), bytes(mapBytes), rows.mapValues { Int($0) })
    }
}

/// The counting executor of `projectedStepBytes`: values are (tensor stride, width); it sums the
/// floats the training tape holds after the forward and the largest backward transient.
final class TrainingMemoryCounter: MinkUNetExecutor {
    struct Value { let stride: Int32; let cols: Int }
    let rows: [Int32: Double]
    /// Floats held by the tape after the forward.
    var held = 0.0
    /// Floats of the largest simultaneous backward buffers.
    var transient = 0.0
    /// Floats of the concatenations (their gradients wait in the store during backward).
    var skips = 0.0
    /// Floats of the largest convolution's weights; the widest layer (cin + cout).
    var largestWeights = 0.0
    var widest = 0.0

    init(rows: [Int32: Double]) { self.rows = rows }

    func floats(_ v: Value) -> Double { Double(v.cols) * (rows[v.stride] ?? rows[1] ?? 0) }

    func convBN(_ x: Value, _ conv: MinkUNetConv, bn: String, relu: Bool, residual: Value?) throws -> Value {
        let out: Int32
        switch conv.kind {
        case .down: out = conv.inStride * 2
        case .up: out = conv.inStride / 2
        default: out = conv.inStride
        }
        let z = Value(stride: out, cols: conv.cout)
        largestWeights = max(largestWeights, Double(conv.volume * conv.cin * conv.cout))
        widest = max(widest, Double(conv.cin + conv.cout))
        held += floats(z)                   // the convolution output (BatchNorm's input)
        if relu { held += floats(z) }       // the ReLU output (its mask; the next layer's input)
        transient = max(transient, 2 * floats(z) + floats(x) + skips)   // dA, dZ, dX
        return z
    }

    func concat(_ parts: [Value]) throws -> Value {
        let v = Value(stride: parts[0].stride, cols: parts.reduce(0) { $0 + $1.cols })
        held += floats(v)
        skips += floats(v)
        return v
    }

    func head(_ x: Value, _ conv: MinkUNetConv) throws -> Value {
        let o = Value(stride: 1, cols: conv.cout)
        transient = max(transient, floats(o) + floats(x) + skips)
        return o
    }
}
