/// Randomly initialised MinkUNet weights: for demos, benchmarks and tests that need a network
/// of a given shape without a trained checkpoint. Kaiming-normal kernels (fan-in), BatchNorm
/// with γ≈1, β≈0 and running statistics near (0, 1). Deterministic for a seed.
extension MinkUNetSpec {
    public func randomStateDict(seed: UInt64 = 0, prefix: String = "") throws -> StateDict {
        var rng = SplitMix64(seed: seed)
        var sd = StateDict()
        for (key, shape) in expectedTensors {
            let n = try Tensor.elementCount(shape)
            var v = [Float](repeating: 0, count: n)
            if key.hasSuffix(".kernel") {
                let fanIn = shape.count == 3 ? shape[0] * shape[1] : shape[0]
                let std = (2 / Float(max(fanIn, 1))).squareRoot()
                for i in 0..<n { v[i] = std * rng.normal() }
            } else if key.hasSuffix(".weight") {
                for i in 0..<n { v[i] = 1 + 0.1 * rng.normal() }
            } else if key.hasSuffix(".bias") || key.hasSuffix(".running_mean") {
                for i in 0..<n { v[i] = 0.05 * rng.normal() }
            } else if key.hasSuffix(".running_var") {
                for i in 0..<n { v[i] = 1 + 0.2 * abs(rng.normal()) }
            }
            sd.set(prefix + key, try Tensor(v, shape: shape))
        }
        return sd
    }
}
