#if canImport(Glibc)
import Glibc
#endif

/// Learning-rate schedules, stepped once per training step. Step `t` (0-based) trains with
/// `lr(t)`; `lr(0)` is the group's base rate (torch's schedulers after construction).
///
/// - `constant`: `base`.
/// - `step(stepSize, gamma)`: torch `StepLR`, computed as torch does recursively
///   (`lr ← lr·γ` whenever `t % stepSize == 0`, t > 0).
/// - `poly(power, maxSteps)`: OpenScene's `poly_learning_rate` used per iteration:
///   `base·(1 − t/maxSteps)^power` (maxSteps = the run's total steps unless given).
/// - `cosine(tMax, etaMin)`: torch `CosineAnnealingLR` with its recursive form (so the values
///   agree with torch's to the last bit of double arithmetic, also past `tMax`).
public enum LearningRateSchedule: Sendable, Equatable {
    case constant
    case step(stepSize: Int, gamma: Double)
    case poly(power: Double, maxSteps: Int)
    case cosine(tMax: Int, etaMin: Double)

    public var name: String {
        switch self {
        case .constant: return "constant"
        case .step: return "step"
        case .poly: return "poly"
        case .cosine: return "cosine"
        }
    }

    public func validate() throws {
        switch self {
        case .constant: break
        case let .step(s, g):
            try require(s >= 1, "schedule.step_size must be an integer >= 1, got \(s)")
            try require(g.isFinite && g >= 0, "schedule.gamma must be a finite number >= 0, got \(g)")
        case let .poly(p, m):
            try require(p.isFinite && p >= 0, "schedule.power must be a finite number >= 0, got \(p)")
            try require(m >= 1, "schedule.max_steps must be an integer >= 1, got \(m)")
        case let .cosine(t, e):
            try require(t >= 1, "schedule.t_max must be an integer >= 1, got \(t)")
            try require(e.isFinite && e >= 0, "schedule.eta_min must be a finite number >= 0, got \(e)")
        }
    }

    /// The learning rate of step `t` given the rate of step `t − 1` (`previous`; ignored for
    /// t == 0 and for the closed forms).
    public func next(step t: Int, base: Double, previous: Double) -> Double {
        if t == 0 { return base }
        switch self {
        case .constant:
            return base
        case let .step(s, g):
            return t % s == 0 ? previous * g : previous
        case let .poly(p, m):
            return base * pow(1 - Double(t) / Double(m), p)
        case let .cosine(tMax, etaMin):
            let T = Double(tMax)
            let k = 2 * tMax
            if ((t - 1 - tMax) % k + k) % k == 0 {
                return previous + (base - etaMin) * (1 - cos(Double.pi / T)) / 2
            }
            return (1 + cos(Double.pi * Double(t) / T)) / (1 + cos(Double.pi * Double(t - 1) / T)) * (previous - etaMin) + etaMin
        }
    }

    /// `lr(t)` from `base`, replaying the recursion (O(t); for resuming and tests).
    public func rate(step t: Int, base: Double) -> Double {
        var lr = base
        for s in 0...max(0, t) { lr = next(step: s, base: base, previous: lr) }
        return lr
    }
}
