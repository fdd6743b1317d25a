#if canImport(Glibc)
import Glibc
#endif

/// CUA-O3D's multi-teacher weighting (minkunet.md §7.2, `models/adaptiveWeightLoss.py`): the
/// per-head losses `Lᵢ` are combined as
///
///     L = Σᵢ 0.5 / σᵢ² · Lᵢ + log(1 + σᵢ²)
///
/// with σ a learnable parameter vector named `params`, shape `[heads]`, initialised to 1.0 and
/// optimised in its own parameter group with weight decay 0 (the released optimizer is
/// `Adam([{params: model}, {params: awl, weight_decay: 0}])`). The ablation `fixed` sums the
/// losses with constant weights (the released commented-out `loss_lseg + loss_dinov2 + loss_sd`
/// is `fixed([1, 1, 1])`).
///
/// σ lives in its own `ParameterSet` (one entry `params`, role `.other`), so the trainer can put
/// it in a separate group and the checkpoint can store it the way the released code does: a
/// separate state dict with the single key `params` (`awl_model/model_{last,best}.pth.tar`).
public final class UncertaintyWeighting {
    public enum Mode: Sendable, Equatable {
        /// Learnable σ (CUA-O3D, the default).
        case learned
        /// Constant weights per head (the ablation).
        case fixed([Float])
    }

    /// The state-dict key of σ, as released.
    public static let key = "params"

    public let mode: Mode
    public let heads: Int
    /// σ and its gradient (`params`, `[heads]`); present in both modes, updated only when learned.
    public let parameters: ParameterSet

    public init(heads: Int, mode: Mode = .learned, initialSigma: Float = 1) throws {
        try require(heads > 0 && heads <= 1 << 16, "uncertainty weighting: heads must be in 1...65536, got \(heads)")
        if case .fixed(let w) = mode {
            try require(w.count == heads, "uncertainty weighting: \(w.count) fixed weights for \(heads) heads")
            try require(w.allSatisfy { $0.isFinite && $0 >= 0 }, "uncertainty weighting: fixed weights must be finite and ≥ 0, got \(w)")
        }
        try require(initialSigma.isFinite && initialSigma != 0, "uncertainty weighting: initial σ must be finite and non-zero")
        self.mode = mode
        self.heads = heads
        parameters = ParameterSet()
        let e = try parameters.add(Self.key, shape: [heads], role: .other)
        for i in e.range { parameters.values[i] = initialSigma }
    }

    /// The current σ.
    public var sigma: [Float] { Array(parameters.values[0..<heads]) }

    /// Whether σ is trained (it must then be in an optimizer group with weight decay 0).
    public var isLearned: Bool { mode == .learned }

    /// Combines the per-head losses: returns the total and `∂L/∂Lᵢ` (the scale each head's
    /// gradient gets), and **adds** `∂L/∂σ` into `parameters.grads` when learned.
    public func combine(_ losses: [Double]) throws -> (total: Double, scales: [Double]) {
        try require(losses.count == heads, "uncertainty weighting: \(losses.count) losses for \(heads) heads")
        switch mode {
        case .fixed(let w):
            var t = 0.0
            for i in 0..<heads { t += Double(w[i]) * losses[i] }
            return (t, w.map(Double.init))
        case .learned:
            let r = Self.learned(losses: losses, sigma: sigma.map(Double.init))
            for i in 0..<heads { parameters.grads[i] += Float(r.sigmaGradient[i]) }
            return (r.total, r.scales)
        }
    }

    /// The learned combination in Double: total, `∂L/∂Lᵢ = 0.5/σᵢ²` and
    /// `∂L/∂σᵢ = −Lᵢ/σᵢ³ + 2σᵢ/(1 + σᵢ²)`.
    public static func learned(losses: [Double], sigma: [Double]) -> (total: Double, scales: [Double], sigmaGradient: [Double]) {
        var total = 0.0
        var scales = [Double](), gs = [Double]()
        for (l, s) in zip(losses, sigma) {
            let s2 = s * s
            total += 0.5 / s2 * l + log1p(s2)
            scales.append(0.5 / s2)
            gs.append(-l / (s2 * s) + 2 * s / (1 + s2))
        }
        return (total, scales, gs)
    }

    /// σ as the released code stores it: a state dict with the single key `params`, `[heads]` float32.
    public func stateDict() throws -> StateDict {
        var sd = StateDict()
        sd.set(Self.key, try Tensor(sigma, shape: [heads]))
        return sd
    }

    /// Loads σ from such a state dict (a `module.` prefix is accepted); the length must match.
    public func load(_ sd: StateDict) throws {
        guard let key = sd.keys.first(where: { $0 == Self.key || $0.hasSuffix("." + Self.key) }), let t = sd[key] else {
            throw OV3DError.format("uncertainty weights: no '\(Self.key)' tensor (keys: \(sd.keys.prefix(8).joined(separator: ", ")))")
        }
        try require(t.dtype.isFloatingPoint && t.shape == [heads],
                    "uncertainty weights: '\(key)' has shape \(t.shape), expected [\(heads)]")
        let v = t.floats()
        try require(v.allSatisfy { $0.isFinite && $0 != 0 }, "uncertainty weights: '\(key)' must be finite and non-zero")
        for i in 0..<heads { parameters.values[i] = v[i] }
    }
}
