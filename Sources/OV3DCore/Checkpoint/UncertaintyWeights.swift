/// CUA-O3D's learned per-teacher uncertainty weights ("AutomaticWeightedLoss", minkunet.md §7.2):
/// one parameter vector `params` of length 3 (LSeg/CLIP, DINOv2, Stable Diffusion), saved separately
/// as `<exp>/awl_model/model_{last,best}.pth.tar`. The distillation loss is
/// `Σ_i 0.5 / p_i² · L_i + log(1 + p_i²)`; not needed for inference, but exposed for fusion and
/// for reporting how the teachers were weighted.
public struct UncertaintyWeights: Sendable, Equatable {
    /// Teacher names in file order.
    public static let defaultTeachers = ["lseg", "dinov2", "sd"]

    public var teachers: [String]
    /// The learned σ_i (`params`), as stored.
    public var sigmas: [Float]

    /// The loss weights `0.5 / σ_i²`.
    public var lossWeights: [Float] { sigmas.map { 0.5 / ($0 * $0) } }

    /// Normalised teacher weights `w_i ∝ 1 / σ_i²` summing to 1.
    public var normalizedWeights: [Float] {
        let inv = sigmas.map { 1 / ($0 * $0) }
        let s = inv.reduce(0, +)
        return inv.map { $0 / s }
    }

    public init(sigmas: [Float], teachers: [String] = UncertaintyWeights.defaultTeachers) throws {
        try require(sigmas.count == teachers.count, "uncertainty weights: \(sigmas.count) values for \(teachers.count) teachers")
        try require(sigmas.allSatisfy { $0.isFinite && $0 != 0 }, "uncertainty weights must be finite and non-zero, got \(sigmas)")
        self.sigmas = sigmas
        self.teachers = teachers
    }

    /// Reads the weights from a state dict holding `params` (optionally under a `module.` prefix).
    public init(stateDict sd: StateDict) throws {
        guard let key = sd.keys.first(where: { $0 == "params" || $0.hasSuffix(".params") }), let t = sd[key] else {
            throw OV3DError.format("uncertainty weights: no 'params' tensor (keys: \(sd.keys.prefix(8).joined(separator: ", ")))")
        }
        guard t.dtype.isFloatingPoint, t.shape == [3] else {
            throw OV3DError.format("uncertainty weights: 'params' has shape \(t.shape) (\(t.dtype.rawValue)); expected [3] floats (LSeg, DINOv2, SD)")
        }
        try self.init(sigmas: t.floats())
    }

    /// Loads CUA-O3D's `awl_model/model_best.pth.tar` (or a safetensors copy).
    public static func load(path: String) throws -> UncertaintyWeights {
        do { return try UncertaintyWeights(stateDict: try CheckpointReader.load(path: path)) } catch let e as OV3DError {
            throw e.message.hasPrefix(path) ? e : e.context(path)
        }
    }
}
