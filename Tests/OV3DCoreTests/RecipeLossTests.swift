import Foundation
import Testing
@testable import OV3DCore

/// The recipe losses against PyTorch autograd (fixture from tools/recipe_reference.py, torch
/// 2.13.0) and against central finite differences of the float64 build.
///
/// Tolerances: float64 cases 1e-10 (relative to the largest value); float32 cases 2e-6 on the
/// loss and 1e-5 on the gradient, relative to the largest gradient entry (ov3d sums in Double,
/// torch in float32); finite differences with step 1e-6 in float64, 1e-6 relative.
@Suite struct RecipeLossTests {
    static let fixture: StateDict = {
        try! Safetensors.read(path: TestPaths.fixture("recipes/recipes.safetensors"))
    }()

    static func doubles(_ key: String) -> [Double] {
        let t = fixture[key]!
        if t.dtype == .float64 {
            return (0..<t.count).map { t.bytes.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self) }
        }
        return t.floats().map(Double.init)
    }
    static func floats(_ key: String) -> [Float] { fixture[key]!.floats() }
    static func ints(_ key: String) -> [Int32] {
        let t = fixture[key]!
        return (0..<t.count).map { t.bytes.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self) }
    }
    static func bytes(_ key: String) -> [UInt8] { Array(fixture[key]!.bytes) }

    static func maxAbsDiff<T: BinaryFloatingPoint>(_ a: [T], _ b: [Double]) -> (diff: Double, scale: Double) {
        precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
        var d = 0.0, s = 0.0
        for (x, y) in zip(a, b) { d = max(d, abs(Double(x) - y)); s = max(s, abs(y)) }
        return (d, s)
    }

    /// Central differences of `f` at `x`, compared with `grad`, on a few coordinates.
    static func checkFiniteDifferences(_ x: [Double], grad: [Double], step: Double = 1e-6, tolerance: Double = 1e-6,
                                       coordinates: [Int]? = nil, _ f: ([Double]) throws -> Double) rethrows {
        let idx = coordinates ?? Array(x.indices)
        let scale = max(grad.map { abs($0) }.max() ?? 0, 1e-12)
        for i in idx {
            var xp = x, xm = x
            xp[i] += step; xm[i] -= step
            let fd = (try f(xp) - f(xm)) / (2 * step)
            #expect(abs(fd - grad[i]) <= tolerance * scale, "coordinate \(i): finite difference \(fd), analytic \(grad[i])")
        }
    }

    // MARK: CUA-O3D de-meaned cosine

    @Test func demeanedCosineMatchesTorch() throws {
        let dim = 17
        let mask = Self.bytes("demean64_mask")
        let r64 = try DemeanedCosineLoss.evaluate(prediction: Self.doubles("demean64_pred"), target: Self.doubles("demean64_target"),
                                                  dim: dim, mask: mask) as (Double, [Double])
        #expect(abs(r64.0 - Self.doubles("demean64_loss")[0]) < 1e-12)
        let g64 = Self.maxAbsDiff(r64.1, Self.doubles("demean64_grad"))
        #expect(g64.diff <= 1e-10 * g64.scale, "float64 gradient differs by \(g64.diff)")

        let r32 = try DemeanedCosineLoss.evaluate(prediction: Self.floats("demean32_pred"), target: Self.floats("demean32_target"),
                                                  dim: dim, mask: Self.bytes("demean32_mask"))
        #expect(abs(Double(r32.loss) - Self.doubles("demean32_loss")[0]) < 2e-6)
        let g32 = Self.maxAbsDiff(r32.gradient, Self.doubles("demean32_grad"))
        #expect(g32.diff <= 1e-5 * g32.scale, "float32 gradient differs by \(g32.diff)")
        // Unmasked rows get no gradient; the constant-target row (4) contributes loss 1 and none.
        let mask32 = Self.bytes("demean32_mask")
        #expect(mask32.contains(0))
        for i in mask32.indices where mask32[i] == 0 { #expect(r32.gradient[(i * dim)..<((i + 1) * dim)].allSatisfy { $0 == 0 }) }
        #expect(r32.gradient[(4 * dim)..<(5 * dim)].allSatisfy { $0 == 0 })
    }

    @Test func demeanedCosineFiniteDifferences() throws {
        let dim = 17
        let p = Self.doubles("demean64_pred"), t = Self.doubles("demean64_target"), mask = Self.bytes("demean64_mask")
        let (_, g) = try DemeanedCosineLoss.evaluate(prediction: p, target: t, dim: dim, mask: mask) as (Double, [Double])
        try Self.checkFiniteDifferences(p, grad: g) { x in
            try (DemeanedCosineLoss.evaluate(prediction: x, target: t, dim: dim, mask: mask) as (Double, [Double])).0
        }
    }

    @Test func demeanedCosineIgnoresTheTargetsOwnMean() throws {
        // Adding a constant to a target row does not change the loss (it is de-meaned per row);
        // scaling a prediction row does not either (cosine).
        let dim = 17
        let p = Self.floats("demean32_pred"), t = Self.floats("demean32_target")
        let a = try DemeanedCosineLoss.evaluate(prediction: p, target: t, dim: dim)
        let shifted = t.enumerated().map { $0.element + Float($0.offset / dim) * 3 }
        let scaled = p.map { $0 * 4 }
        let b = try DemeanedCosineLoss.evaluate(prediction: scaled, target: shifted, dim: dim)
        #expect(abs(a.loss - b.loss) < 1e-5)
        #expect(throws: OV3DError.self) { try DemeanedCosineLoss.evaluate(prediction: p, target: Array(t.dropLast()), dim: dim) }
        let none = try DemeanedCosineLoss.evaluate(prediction: p, target: t, dim: dim, mask: [UInt8](repeating: 0, count: p.count / dim))
        #expect(none.loss == 0 && none.gradient.allSatisfy { $0 == 0 })
    }

    // MARK: CUA-O3D uncertainty weighting

    @Test func uncertaintyWeightingMatchesTorch() throws {
        for name in ["awl64", "awl32"] {
            let losses = Self.doubles("\(name)_losses"), sigma = Self.doubles("\(name)_sigma")
            let tol = name == "awl64" ? 1e-12 : 2e-6
            let r = UncertaintyWeighting.learned(losses: losses, sigma: sigma)
            #expect(abs(r.total - Self.doubles("\(name)_total")[0]) <= tol * 4)
            for (a, b) in zip(r.scales, Self.doubles("\(name)_dloss")) { #expect(abs(a - b) <= tol * max(1, abs(b))) }
            for (a, b) in zip(r.sigmaGradient, Self.doubles("\(name)_dsigma")) { #expect(abs(a - b) <= tol * max(1, abs(b))) }
            // Finite differences in σ and in the losses.
            try Self.checkFiniteDifferences(sigma, grad: r.sigmaGradient) { UncertaintyWeighting.learned(losses: losses, sigma: $0).total }
            try Self.checkFiniteDifferences(losses, grad: r.scales) { UncertaintyWeighting.learned(losses: $0, sigma: sigma).total }
        }
    }

    @Test func uncertaintyWeightingParametersAndCheckpoint() throws {
        let w = try UncertaintyWeighting(heads: 3)
        #expect(w.sigma == [1, 1, 1])
        #expect(w.parameters.entries.map(\.name) == ["params"] && w.parameters.entries[0].shape == [3])
        let losses = Self.doubles("awl32_losses")
        let (total, scales) = try w.combine(losses)
        #expect(scales == [0.5, 0.5, 0.5])
        #expect(abs(total - (0.5 * losses.reduce(0, +) + 3 * log(2.0))) < 1e-12)
        // ∂L/∂σ = −L + 1 at σ = 1, added into the gradient buffer.
        for i in 0..<3 { #expect(abs(Double(w.parameters.grads[i]) - (1 - losses[i])) < 1e-6) }
        // Written as the released awl_model state dict: one key `params`, shape [heads].
        w.parameters.values = [0.9, 1.2, 2.0]
        let sd = try w.stateDict()
        #expect(sd.keys == ["params"] && sd["params"]!.shape == [3])
        let path = NSTemporaryDirectory() + "awl-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Safetensors.write(sd, path: path)
        let back = try UncertaintyWeighting(heads: 3)
        try back.load(try CheckpointReader.load(path: path))
        #expect(back.sigma == [0.9, 1.2, 2.0])
        #expect(try UncertaintyWeights.load(path: path).sigmas == [0.9, 1.2, 2.0])
        #expect(throws: OV3DError.self) { try UncertaintyWeighting(heads: 2).load(sd) }
        // The ablation: fixed equal weights, σ untouched.
        let fixed = try UncertaintyWeighting(heads: 3, mode: .fixed([1, 1, 1]))
        let f = try fixed.combine(losses)
        #expect(abs(f.total - losses.reduce(0, +)) < 1e-12 && f.scales == [1, 1, 1])
        #expect(fixed.parameters.grads == [0, 0, 0] && !fixed.isLearned)
    }

    // MARK: SAS stage 1

    @Test func superpointDistillationMatchesTorch() throws {
        let dim = 8
        let segs = Self.ints("sp64_segments"), mask = Self.bytes("sp64_mask")
        var rng = SplitMix64(seed: 1)
        let sd = SuperpointDistillation(maxRows: nil)
        let r = try sd.evaluate(prediction: Self.doubles("sp64_pred"), target: Self.doubles("sp64_target"), dim: dim,
                                segments: segs, mask: mask, rng: &rng)
        let want = Self.doubles("sp64_losses")
        #expect(abs(r.loss - want[0]) < 1e-12 && abs(r.pointLoss - want[1]) < 1e-12 && abs(r.superpointLoss - want[2]) < 1e-12)
        let g = Self.maxAbsDiff(r.gradient, Self.doubles("sp64_grad"))
        #expect(g.diff <= 1e-10 * g.scale)

        let r32 = try sd.evaluate(prediction: Self.floats("sp32_pred"), target: Self.floats("sp32_target"), dim: dim,
                                  segments: Self.ints("sp32_segments"), mask: Self.bytes("sp32_mask"), rng: &rng)
        let w32 = Self.doubles("sp32_losses")
        #expect(abs(r32.loss - w32[0]) < 4e-6, "\(r32.loss) vs \(w32[0])")
        let g32 = Self.maxAbsDiff(r32.gradient, Self.doubles("sp32_grad"))
        #expect(g32.diff <= 1e-5 * g32.scale, "float32 gradient differs by \(g32.diff)")

        let p = Self.doubles("sp64_pred"), t = Self.doubles("sp64_target")
        try Self.checkFiniteDifferences(p, grad: r.gradient) { x in
            var rr = SplitMix64(seed: 1)
            return try sd.evaluate(prediction: x, target: t, dim: dim, segments: segs, mask: mask, rng: &rr).loss
        }
    }

    @Test func superpointSubsampleIsASeededSubset() throws {
        let dim = 8
        let p = Self.floats("sp32_pred"), t = Self.floats("sp32_target"), segs = Self.ints("sp32_segments"), mask = Self.bytes("sp32_mask")
        var a = SplitMix64(seed: 7), b = SplitMix64(seed: 7)
        let sel = try RowSubsample(segments: segs, mask: mask, maxRows: 10, rng: &a)
        #expect(sel.rows.count == 10 && sel.rows == sel.rows.sorted())
        #expect(sel.rows.allSatisfy { mask[$0] != 0 })
        #expect(sel.segmentSizes.reduce(0, +) == 10)
        // The subsampled loss equals the full loss on exactly those rows.
        let sub = try SuperpointDistillation(maxRows: 10).evaluate(prediction: p, target: t, dim: dim, segments: segs, mask: mask, rng: &b)
        var only = [UInt8](repeating: 0, count: segs.count)
        for r in sel.rows { only[r] = 1 }
        var c = SplitMix64(seed: 0)
        let full = try SuperpointDistillation(maxRows: nil).evaluate(prediction: p, target: t, dim: dim, segments: segs, mask: only, rng: &c)
        #expect(sub.rowsUsed == 10 && sub.loss == full.loss && sub.gradient == full.gradient)
    }

    // MARK: SAS stage 2

    @Test func selfDistillationMatchesTorch() throws {
        let dim = 8, k = 5
        let text = try Vocabulary(names: (0..<k).map { "c\($0)" }, embeddings: Self.floats("sd32_text"), dimension: dim)
        var rng = SplitMix64(seed: 3)
        let loss = SelfDistillationLoss(maxRows: nil)
        let p = Self.floats("sd32_pred"), h = Self.floats("sd32_history"), segs = Self.ints("sd32_segments")
        let r = try loss.evaluate(prediction: p, history: h, segments: segs, text: text, rng: &rng)
        #expect(r.superpointLabels == Self.ints("sd32_labels"))
        let w = Self.doubles("sd32_losses")
        #expect(abs(r.loss - w[0]) < 4e-6 && abs(r.pointLoss - w[1]) < 2e-6 && abs(r.superpointLoss - w[2]) < 2e-6)
        let g = Self.maxAbsDiff(r.gradient, Self.doubles("sd32_grad"))
        #expect(g.diff <= 1e-5 * g.scale, "gradient differs by \(g.diff)")
        // Finite differences (float32 logits: step 1e-2, 1e-3 relative; the pseudo-labels depend
        // on the history only, so the loss is smooth in the predictions).
        try Self.checkFiniteDifferences(p.map(Double.init), grad: r.gradient.map(Double.init), step: 1e-2, tolerance: 1e-3,
                                        coordinates: Array(stride(from: 0, to: p.count, by: 7))) { x in
            var rr = SplitMix64(seed: 3)
            return try loss.evaluate(prediction: x.map { Float($0) }, history: h, segments: segs, text: text, rng: &rr).loss
        }
    }

    @Test func temporalEnsembleMatchesTorchHalfStorage() throws {
        let dim = 8
        let ema = try TemporalEnsemble(dim: dim)
        #expect(ema.momentum == 0.9999 && ema.storeHalf)
        // Initialise with one superpoint per point (the mean is the point itself), from the fp16 state.
        let h0 = Self.floats("ema_h0")
        let n = h0.count / dim
        try ema.initialize(scene: 0, pointPredictions: h0, superpoints: Superpoints(ids: (0..<Int32(n)).map { $0 }, count: n))
        #expect(ema.state(scene: 0) == h0)
        for step in 0..<3 {
            let got = try ema.update(scene: 0, pointPredictions: Self.floats("ema_p\(step)"))
            #expect(got == Self.floats("ema_h\(step + 1)"), "step \(step): not bit-equal to torch's float16 history")
        }
        // Superpoint-averaged initialisation and gathering at representative points.
        let sp = Superpoints(ids: [0, 0, 1, 1, 1, -1], count: 2)
        let p = (0..<(6 * dim)).map { Float($0 / dim) }
        let e2 = try TemporalEnsemble(dim: dim, storeHalf: false)
        try e2.initialize(scene: 5, pointPredictions: p, superpoints: sp)
        let g = try e2.gather(scene: 5, points: [1, 4, 5])
        #expect(g[0] == 0.5 && g[dim] == 3 && g[2 * dim] == 5)
        #expect(throws: OV3DError.self) { try e2.update(scene: 9, pointPredictions: p) }
    }

    // MARK: cross-entropy

    @Test func crossEntropyMatchesTorch() throws {
        let k = 6
        let r64 = try CrossEntropyLoss.evaluate(logits: Self.doubles("ce64_logits"), labels: Self.ints("ce64_labels"), classes: k) as (Double, [Double])
        #expect(abs(r64.0 - Self.doubles("ce64_loss")[0]) < 1e-12)
        let g = Self.maxAbsDiff(r64.1, Self.doubles("ce64_grad"))
        #expect(g.diff <= 1e-12)
        let r32 = try CrossEntropyLoss.evaluate(logits: Self.floats("ce32_logits"), labels: Self.ints("ce32_labels"), classes: k)
        #expect(abs(Double(r32.loss) - Self.doubles("ce32_loss")[0]) < 2e-6)
        #expect(Self.maxAbsDiff(r32.gradient, Self.doubles("ce32_grad")).diff < 1e-6)
        let labels = Self.ints("ce64_labels")
        try Self.checkFiniteDifferences(Self.doubles("ce64_logits"), grad: r64.1) { x in
            try (CrossEntropyLoss.evaluate(logits: x, labels: labels, classes: k) as (Double, [Double])).0
        }
        #expect(throws: OV3DError.self) { try CrossEntropyLoss.evaluate(logits: [0, 0], labels: [2], classes: 2) }
        let ignored = try CrossEntropyLoss.evaluate(logits: [1, 2], labels: [255], classes: 2)
        #expect(ignored.loss == 0 && ignored.gradient == [0, 0])
    }
}
