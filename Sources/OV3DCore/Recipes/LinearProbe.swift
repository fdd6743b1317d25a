/// A CUA-O3D linear probe as a trainable network (minkunet.md §7.4): a bias-free 1×1 map
/// `logits = X · W` of frozen head outputs `X` (rows × `inputWidth`, e.g. the 512-d `final`
/// output for `final_seg_lseg`, or `cat[final, final_dinov2, final_sd]` for `final_seg`) to
/// class logits. `W` is stored as MinkowskiEngine stores a 1×1 kernel, `[inputWidth, classes]`,
/// under the probe's key (`final_seg_lseg.kernel`, ...), so today's loader composes it with the
/// feature heads (`MinkUNetProbeHeads`).
///
/// The rows' input features of the `TrainingBatch` are the frozen outputs (coordinates unused).
public final class LinearProbe: TrainableNetwork {
    public let name: String
    public let inputWidth: Int
    public let classes: Int
    public let parameters = ParameterSet()
    public var training = true
    private var kept: [Float]? = nil

    public var heads: [(name: String, dim: Int)] { [(name, classes)] }
    var key: String { name + ".kernel" }

    public init(name: String, inputWidth: Int, classes: Int) throws {
        try require(MinkUNetSpec.isProbeName(name), "linear probe: '\(name)' is not a probe head name (final_seg, final_seg_lseg, final_seg_dinov2, final_seg_stablediffusion)")
        try require(inputWidth > 0 && classes > 1 && inputWidth <= 1 << 20 && classes <= 1 << 16,
                    "linear probe: input width \(inputWidth) and classes \(classes) out of range")
        self.name = name; self.inputWidth = inputWidth; self.classes = classes
        try parameters.add(key, shape: [inputWidth, classes], role: .convKernel)
    }

    /// Seeded init as MinkowskiEngine initialises a convolution kernel (`reset_parameters`:
    /// kaiming-uniform with a = √5 over fan-in = `inputWidth`, i.e. U(±1/√inputWidth)).
    public func initialize(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let b = 1 / Float(inputWidth).squareRoot()
        for i in parameters.values.indices { parameters.values[i] = rng.uniform(-b...b) }
    }

    public func forward(_ batch: TrainingBatch, threads: Int) throws -> [[Float]] {
        try require(batch.inChannels == inputWidth, "linear probe '\(name)': rows have \(batch.inChannels) features, the probe reads \(inputWidth)")
        let n = batch.rows
        try require(batch.features.count == n * inputWidth, "linear probe '\(name)': \(batch.features.count) features for \(n) rows")
        kept = training ? batch.features : nil
        return [GEMM.multiply(batch.features, parameters.values, m: n, k: inputWidth, n: classes)]
    }

    public func backward(_ gradOutputs: [[Float]], threads: Int) throws {
        guard let x = kept else { throw OV3DError.invalidArgument("linear probe '\(name)': backward without a training-mode forward") }
        defer { kept = nil }
        guard let g = gradOutputs.first, !g.isEmpty else { return }
        let n = x.count / inputWidth
        try require(g.count == n * classes, "linear probe '\(name)': gradient holds \(g.count) values, expected \(n) × \(classes)")
        // dW += Xᵀ · G
        x.withUnsafeBufferPointer { xp in
            g.withUnsafeBufferPointer { gp in
                parameters.grads.withUnsafeMutableBufferPointer { wp in
                    GEMM.sgemm(transA: true, m: inputWidth, n: classes, k: n, a: xp.baseAddress!, lda: inputWidth,
                               b: gp.baseAddress!, ldb: classes, beta: 1, c: wp.baseAddress!, ldc: classes)
                }
            }
        }
    }

    public func stateDict() throws -> StateDict {
        var sd = StateDict()
        sd.set(key, try Tensor(parameters.values, shape: [inputWidth, classes]))
        return sd
    }

    public func load(_ raw: StateDict) throws {
        var sd = raw
        for p in ["module.", "net3d."] where sd.keys.contains(where: { $0.hasPrefix(p) }) { sd = sd.strippingPrefix(p) }
        guard let t = sd[key] else { throw OV3DError.format("linear probe: no '\(key)' in the state dict") }
        try require(t.dtype.isFloatingPoint && t.shape == [inputWidth, classes], "linear probe: '\(key)' has shape \(t.shape), expected [\(inputWidth), \(classes)]")
        let v = t.floats()
        try require(v.allSatisfy { $0.isFinite }, "linear probe: '\(key)' holds non-finite values")
        parameters.values = v
    }
}
