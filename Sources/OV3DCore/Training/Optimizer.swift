#if canImport(Glibc)
import Glibc
#endif

/// torch.optim's SGD, Adam and AdamW over a `ParameterSet`'s flat buffers, element for element
/// as torch's single-tensor (CPU) paths compute them in float32: the same operations in the same
/// order, scalars computed in double and rounded to float where torch does.
///
/// - SGD: `g += wd·p`; momentum buffer `b = g` on the first step, else `b = μ·b + (1−dampening)·g`;
///   nesterov `g += μ·b` else `g = b`; `p −= lr·g`.
/// - Adam: `g += wd·p`; `m = lerp(m, g, 1−β1)`; `v = β2·v + (1−β2)·g²`; (amsgrad `v̂ = max(v̂, v)`);
///   `p −= (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + eps)`.
/// - AdamW: `p *= 1 − lr·wd` first, then Adam without the L2 term.
///
/// State (moments, momentum buffers, step) is flat as the parameters and can be saved and
/// restored (`state` / `restore`).
///
/// torch's `add(x, alpha=a)` runs as a fused multiply-add on CPU (`vec::fmadd`), so those
/// updates use `addingProduct` (FMA): SGD then matches torch bit for bit; Adam within a few ulp.
public final class Optimizer {
    public enum Kind: String, Sendable, CaseIterable { case sgd, adam, adamw }

    /// Hyper-parameters (torch's defaults where torch has them; `lr` has none).
    public struct Config: Sendable, Equatable {
        public var kind: Kind
        public var lr: Double
        public var betas: (Double, Double) = (0.9, 0.999)
        public var eps: Double = 1e-8
        /// Default 0 (torch's Adam/SGD default; AdamW's torch default is 0.01: give it explicitly).
        public var weightDecay: Double = 0
        public var amsgrad = false
        public var momentum: Double = 0
        public var dampening: Double = 0
        public var nesterov = false
        public init(kind: Kind, lr: Double) { self.kind = kind; self.lr = lr }
        public static func == (a: Config, b: Config) -> Bool {
            a.kind == b.kind && a.lr == b.lr && a.betas == b.betas && a.eps == b.eps && a.weightDecay == b.weightDecay
                && a.amsgrad == b.amsgrad && a.momentum == b.momentum && a.dampening == b.dampening && a.nesterov == b.nesterov
        }

        /// Checks the values as torch's constructors do (plus finiteness).
        public func validate() throws {
            try require(lr.isFinite && lr >= 0, "optimizer.lr must be a finite number >= 0, got \(lr)")
            try require(eps.isFinite && eps >= 0, "optimizer.eps must be a finite number >= 0, got \(eps)")
            try require(weightDecay.isFinite && weightDecay >= 0, "optimizer.weight_decay must be a finite number >= 0, got \(weightDecay)")
            try require(betas.0.isFinite && betas.0 >= 0 && betas.0 < 1, "optimizer.betas[0] must be in [0, 1), got \(betas.0)")
            try require(betas.1.isFinite && betas.1 >= 0 && betas.1 < 1, "optimizer.betas[1] must be in [0, 1), got \(betas.1)")
            try require(momentum.isFinite && momentum >= 0, "optimizer.momentum must be a finite number >= 0, got \(momentum)")
            try require(dampening.isFinite, "optimizer.dampening must be finite, got \(dampening)")
            if nesterov {
                try require(momentum > 0 && dampening == 0, "optimizer.nesterov needs momentum > 0 and dampening 0 (as torch)")
            }
        }
    }

    public let config: Config
    public let groups: [ParameterGroup]
    /// Steps taken (torch's per-parameter `step`; equal for every parameter here).
    public private(set) var stepCount = 0
    /// Adam: exp_avg / exp_avg_sq (/ max_exp_avg_sq with amsgrad); SGD: momentum_buffer.
    /// Flat as `ParameterSet.values`; empty when the optimizer keeps no such state.
    public private(set) var expAvg: [Float] = []
    public private(set) var expAvgSq: [Float] = []
    public private(set) var maxExpAvgSq: [Float] = []
    public private(set) var momentumBuffer: [Float] = []
    private let parameterCount: Int
    private let ranges: [[Range<Int>]]

    /// An optimizer over `set` with `groups` (from `ParameterGroupSpec.resolve`).
    public init(_ config: Config, groups: [ParameterGroup], over set: ParameterSet) throws {
        try config.validate()
        for g in groups {
            try require(g.baseLR.isFinite && g.baseLR >= 0, "optimizer.param_groups '\(g.name)': lr must be finite and >= 0")
            try require(g.weightDecay.isFinite && g.weightDecay >= 0, "optimizer.param_groups '\(g.name)': weight_decay must be finite and >= 0")
            for i in g.entryIndices { try require(set.entries.indices.contains(i), "optimizer: group '\(g.name)' names no parameter \(i)") }
        }
        self.config = config
        self.groups = groups
        parameterCount = set.count
        ranges = groups.map { $0.entryIndices.map { set.entries[$0].range } }
        let n = set.count
        switch config.kind {
        case .adam, .adamw:
            expAvg = try Memory.array(repeating: Float(0), count: n, what: "optimizer state exp_avg (\(n) parameters)")
            expAvgSq = try Memory.array(repeating: Float(0), count: n, what: "optimizer state exp_avg_sq (\(n) parameters)")
            if config.amsgrad { maxExpAvgSq = try Memory.array(repeating: Float(0), count: n, what: "optimizer state max_exp_avg_sq (\(n) parameters)") }
        case .sgd:
            if config.momentum != 0 { momentumBuffer = try Memory.array(repeating: Float(0), count: n, what: "optimizer state momentum_buffer (\(n) parameters)") }
        }
    }

    /// One step over every group with its learning rate `lrs[g]` (from the schedule).
    public func step(_ set: ParameterSet, lrs: [Double]) throws {
        try require(set.count == parameterCount, "optimizer: parameter set changed size")
        try require(lrs.count == groups.count, "optimizer: \(lrs.count) learning rates for \(groups.count) groups")
        stepCount += 1
        for (g, group) in groups.enumerated() {
            for r in ranges[g] where !r.isEmpty {
                switch config.kind {
                case .sgd: sgd(set, r, lr: lrs[g], wd: group.weightDecay)
                case .adam: adam(set, r, lr: lrs[g], wd: group.weightDecay, decoupled: false)
                case .adamw: adam(set, r, lr: lrs[g], wd: group.weightDecay, decoupled: true)
                }
            }
        }
    }

    private func sgd(_ set: ParameterSet, _ r: Range<Int>, lr: Double, wd: Double) {
        let wdF = Float(wd), negLR = Float(-lr)
        let mom = Float(config.momentum), keep = Float(1 - config.dampening)
        let useMomentum = config.momentum != 0, first = stepCount == 1, nesterov = config.nesterov
        set.values.withUnsafeMutableBufferPointer { p in
            set.grads.withUnsafeBufferPointer { gr in
                momentumBuffer.withUnsafeMutableBufferPointer { b in
                    for i in r {
                        var g = gr[i]
                        if wd != 0 { g = g.addingProduct(p[i], wdF) }
                        if useMomentum {
                            let buf: Float = first ? g : (b[i] * mom).addingProduct(g, keep)
                            b[i] = buf
                            g = nesterov ? g.addingProduct(buf, mom) : buf
                        }
                        p[i] = p[i].addingProduct(g, negLR)
                    }
                }
            }
        }
    }

    private func adam(_ set: ParameterSet, _ r: Range<Int>, lr: Double, wd: Double, decoupled: Bool) {
        let (b1, b2) = config.betas
        let t = Double(stepCount)
        let bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t)
        let negStep = Float(-(lr / bc1))
        let bc2Sqrt = Float(bc2.squareRoot())
        let epsF = Float(config.eps)
        let w1 = Float(1 - b1), b2F = Float(b2), c2 = Float(1 - b2)
        let wdF = Float(wd), decay = Float(1 - lr * wd)
        let ams = config.amsgrad
        set.values.withUnsafeMutableBufferPointer { p in
            set.grads.withUnsafeBufferPointer { gr in
                expAvg.withUnsafeMutableBufferPointer { m in
                    expAvgSq.withUnsafeMutableBufferPointer { v in
                        maxExpAvgSq.withUnsafeMutableBufferPointer { vmax in
                            for i in r {
                                var g = gr[i]
                                if decoupled {
                                    if wd != 0 { p[i] = p[i] * decay }
                                } else if wd != 0 {
                                    g = g.addingProduct(p[i], wdF)
                                }
                                m[i] = Self.lerp(m[i], g, w1)
                                v[i] = v[i] * b2F + c2 * g * g
                                var vv = v[i]
                                if ams { vmax[i] = Swift.max(vmax[i], vv); vv = vmax[i] }
                                let denom = vv.squareRoot() / bc2Sqrt + epsF
                                p[i] = p[i] + negStep * (m[i] / denom)
                            }
                        }
                    }
                }
            }
        }
    }

    /// torch's lerp: `a + w·(b − a)` for w < 0.5, else `b − (b − a)·(1 − w)`.
    @inline(__always) static func lerp(_ a: Float, _ b: Float, _ w: Float) -> Float {
        w < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w)
    }

    // MARK: - State

    /// The optimizer's state as named flat tensors (for checkpoints): `step`, and per kind
    /// `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`, `momentum_buffer`.
    public func state() -> [(String, [Float])] {
        var s: [(String, [Float])] = []
        if !expAvg.isEmpty { s.append(("exp_avg", expAvg)) }
        if !expAvgSq.isEmpty { s.append(("exp_avg_sq", expAvgSq)) }
        if !maxExpAvgSq.isEmpty { s.append(("max_exp_avg_sq", maxExpAvgSq)) }
        if !momentumBuffer.isEmpty { s.append(("momentum_buffer", momentumBuffer)) }
        return s
    }

    /// Restores what `state()` returned plus the step count; every buffer this optimizer keeps
    /// must be present with the parameter count.
    public func restore(step: Int, buffers: [String: [Float]]) throws {
        try require(step >= 0, "optimizer state: negative step \(step)")
        func take(_ name: String, _ into: inout [Float]) throws {
            guard !into.isEmpty else { return }
            guard let b = buffers[name] else { throw OV3DError.format("optimizer state: '\(name)' is missing (optimizer \(config.kind.rawValue))") }
            try requireFormat(b.count == parameterCount, "optimizer state: '\(name)' has \(b.count) values, the parameters \(parameterCount)")
            into = b
        }
        try take("exp_avg", &expAvg)
        try take("exp_avg_sq", &expAvgSq)
        try take("max_exp_avg_sq", &maxExpAvgSq)
        try take("momentum_buffer", &momentumBuffer)
        stepCount = step
    }
}
