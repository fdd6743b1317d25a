/// The weights of one sparse convolution in MinkowskiEngine layout, `[volume][cin][cout]`,
/// plus an optional per-output-channel bias (from a folded BatchNorm).
public struct ConvWeights: Sendable {
    public let kernelSize: Int
    public let cin: Int
    public let cout: Int
    /// `volume · cin · cout` floats; offset `k`'s matrix is `cin × cout` row-major.
    public var weights: [Float]
    /// `cout` floats, or empty for no bias.
    public var bias: [Float]

    public var volume: Int { kernelSize * kernelSize * kernelSize }

    public init(kernelSize: Int, cin: Int, cout: Int, weights: [Float], bias: [Float] = []) throws {
        try require(kernelSize >= 1 && cin >= 1 && cout >= 1, "invalid convolution shape k\(kernelSize) \(cin)->\(cout)")
        try require(weights.count == kernelSize * kernelSize * kernelSize * cin * cout,
                    "convolution weights hold \(weights.count) values, expected \(kernelSize * kernelSize * kernelSize)·\(cin)·\(cout)")
        try require(bias.isEmpty || bias.count == cout, "bias holds \(bias.count) values, expected \(cout)")
        self.kernelSize = kernelSize
        self.cin = cin
        self.cout = cout
        self.weights = weights
        self.bias = bias
    }

    /// Folds an inference-mode BatchNorm `y = (x − mean)/sqrt(var + eps)·gamma + beta` that
    /// follows this (bias-free or biased) convolution into its weights and bias.
    public func foldingBatchNorm(gamma: [Float], beta: [Float], mean: [Float], variance: [Float],
                                 eps: Double = 1e-5) throws -> ConvWeights {
        try require(gamma.count == cout && beta.count == cout && mean.count == cout && variance.count == cout,
                    "BatchNorm has the wrong number of channels (expected \(cout))")
        var scale = [Double](repeating: 0, count: cout)
        var b = [Float](repeating: 0, count: cout)
        for c in 0..<cout {
            let v = Double(variance[c]) + eps
            try require(v > 0 && v.isFinite, "BatchNorm running_var[\(c)] = \(variance[c]) is invalid")
            scale[c] = Double(gamma[c]) / v.squareRoot()
            let b0 = bias.isEmpty ? 0 : Double(bias[c])
            b[c] = Float((b0 - Double(mean[c])) * scale[c] + Double(beta[c]))
        }
        var w = weights
        let rows = volume * cin
        for r in 0..<rows { for c in 0..<cout { w[r * cout + c] = Float(Double(w[r * cout + c]) * scale[c]) } }
        return try ConvWeights(kernelSize: kernelSize, cin: cin, cout: cout, weights: w, bias: b)
    }
}
