@testable import OV3DCore

/// A small `TrainableNetwork` for the training-engine tests (not the MinkUNet): per row
/// `y = x·W + b + c·v` where `c` is the row's z coordinate (so coordinates matter), with a
/// BN-like running mean of the outputs (a buffer that training updates) and num_batches_tracked.
final class LinearTestNetwork: TrainableNetwork {
    let parameters = ParameterSet()
    let heads: [(name: String, dim: Int)]
    var training = true
    let inChannels: Int
    var runningMean: [Float]
    var batches: Int64 = 0
    private var kept: TrainingBatch?

    init(inChannels: Int, dim: Int, seed: UInt64) throws {
        self.inChannels = inChannels
        heads = [("final", dim)]
        try parameters.add("final.kernel", shape: [inChannels, dim], role: .convKernel)
        try parameters.add("final.bias", shape: [dim], role: .bias)
        try parameters.add("final.zscale", shape: [dim], role: .other)
        runningMean = [Float](repeating: 0, count: dim)
        var rng = SplitMix64(seed: seed)
        for i in 0..<parameters.count { parameters.values[i] = Float(rng.unit() - 0.5) }
    }

    var dim: Int { heads[0].dim }

    func forward(_ batch: TrainingBatch, threads: Int) throws -> [[Float]] {
        try require(batch.inChannels == inChannels, "in channels")
        let n = batch.rows, d = dim
        let w = parameters.entry("final.kernel")!.offset, b = parameters.entry("final.bias")!.offset
        let z = parameters.entry("final.zscale")!.offset
        var y = [Float](repeating: 0, count: n * d)
        for r in 0..<n {
            let zc = Float(batch.coords[4 * r + 3]) * 0.01
            for j in 0..<d {
                var s = parameters.values[b + j] + zc * parameters.values[z + j]
                for k in 0..<inChannels { s += batch.features[r * inChannels + k] * parameters.values[w + k * d + j] }
                y[r * d + j] = s
            }
        }
        if training {
            for j in 0..<d {
                var m = 0.0
                for r in 0..<n { m += Double(y[r * d + j]) }
                runningMean[j] = 0.9 * runningMean[j] + 0.1 * Float(m / Double(max(n, 1)))
            }
            batches += 1
            kept = batch
        }
        return [y]
    }

    func backward(_ gradOutputs: [[Float]], threads: Int) throws {
        guard let batch = kept else { throw OV3DError.internal("backward without forward") }
        let g = gradOutputs[0]
        let n = batch.rows, d = dim
        let w = parameters.entry("final.kernel")!.offset, b = parameters.entry("final.bias")!.offset
        let z = parameters.entry("final.zscale")!.offset
        for r in 0..<n {
            let zc = Float(batch.coords[4 * r + 3]) * 0.01
            for j in 0..<d {
                let gy = g[r * d + j]
                parameters.grads[b + j] += gy
                parameters.grads[z + j] += zc * gy
                for k in 0..<inChannels { parameters.grads[w + k * d + j] += batch.features[r * inChannels + k] * gy }
            }
        }
        kept = nil
    }

    func stateDict() throws -> StateDict {
        var sd = StateDict()
        for e in parameters.entries {
            sd.set(e.name, try Tensor(Array(parameters.values[e.range]), shape: e.shape))
        }
        sd.set("bn.running_mean", try Tensor(runningMean, shape: [dim]))
        sd.set("bn.num_batches_tracked", try withUnsafeBytes(of: batches) { try Tensor(dtype: .int64, shape: [], bytes: $0) })
        return sd
    }

    func load(_ sd: StateDict) throws {
        for e in parameters.entries {
            let t = try sd.tensor(e.name)
            try require(t.shape == e.shape, "shape of \(e.name)")
            parameters.values.replaceSubrange(e.range, with: t.floats())
        }
        runningMean = try sd.tensor("bn.running_mean").floats()
        batches = try sd.tensor("bn.num_batches_tracked").int64s()[0]
    }
}
