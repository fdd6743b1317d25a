import Foundation
import Testing
@testable import OV3DCore

/// Recipe pieces around the step: the linear probe as a trainable network (gradient against
/// torch autograd via the CE fixture and finite differences), evaluation during training,
/// best-checkpoint keeping and the σ log.
@Suite struct RecipeTrainingTests {
    static func probe(seed: UInt64 = 3, name: String = "final_seg", width: Int = 5, classes: Int = 4) throws -> LinearProbe {
        let p = try LinearProbe(name: name, inputWidth: width, classes: classes)
        p.initialize(seed: seed)
        return p
    }

    @Test func linearProbeGradientMatchesFiniteDifferences() throws {
        let x = RecipeLossTests.floats("probe_features"), y = RecipeLossTests.ints("probe_labels")
        let width = 10, k = 4, rows = y.count
        let p = try LinearProbe(name: "final_seg_lseg", inputWidth: width, classes: k)
        p.parameters.values = RecipeLossTests.floats("probe_w0")
        let batch = TrainingBatch(coords: [Int32](repeating: 0, count: rows * 4), features: x, inChannels: width)
        let logits = try p.forward(batch, threads: 1)[0]
        let (loss, g) = try CrossEntropyLoss.evaluate(logits: logits, labels: y, classes: k)
        // torch's first-step loss on the same weights (before any update).
        #expect(abs(Double(loss) - RecipeLossTests.doubles("probe_losses")[0]) < 2e-6)
        p.parameters.zeroGrads()
        try p.backward([g], threads: 1)
        let analytic = p.parameters.grads.map(Double.init)
        let w0 = p.parameters.values
        func lossAt(_ w: [Double]) throws -> Double {
            let z = GEMM.multiply(x, w.map { Float($0) }, m: rows, k: width, n: k).map(Double.init)
            return try (CrossEntropyLoss.evaluate(logits: z, labels: y, classes: k) as (Double, [Double])).0
        }
        try RecipeLossTests.checkFiniteDifferences(w0.map(Double.init), grad: analytic, step: 1e-2, tolerance: 2e-3) { try lossAt($0) }
        // Backward adds into the gradients; a second backward without forward is an error.
        #expect(throws: OV3DError.self) { try p.backward([g], threads: 1) }
        // State dict: the probe key with MinkowskiEngine's [in, out] layout, loadable back.
        let sd = try p.stateDict()
        #expect(sd.keys == ["final_seg_lseg.kernel"] && sd["final_seg_lseg.kernel"]!.shape == [10, 4])
        var prefixed = StateDict()
        prefixed.set("net3d.final_seg_lseg.kernel", sd["final_seg_lseg.kernel"]!)
        let q = try LinearProbe(name: "final_seg_lseg", inputWidth: width, classes: k)
        try q.load(prefixed)
        #expect(q.parameters.values == p.parameters.values)
        #expect(throws: OV3DError.self) { try LinearProbe(name: "final", inputWidth: 4, classes: 3) }
    }

    static func scenes(_ count: Int, width: Int, dim: Int, seed: UInt64) throws -> [EvaluationScene] {
        var rng = SplitMix64(seed: seed)
        return try (0..<count).map { s -> EvaluationScene in
            let voxels = 20 + s * 7, points = voxels * 2
            let coords: [Int32] = (0..<voxels).flatMap { [Int32($0), 0, 0] }
            let feats: [Float] = (0..<(voxels * width)).map { _ in rng.uniform(-1...1) }
            let inverse: [Int32] = (0..<points).map { Int32($0 % voxels) }
            let labels: [Int32] = (0..<points).map { i -> Int32 in i % 11 == 0 ? 255 : Int32(rng.next() % 3) }
            let f2: [Float] = (0..<(points * dim)).map { _ in rng.uniform(-1...1) }
            var mask = [UInt8](repeating: 1, count: points)
            for i in stride(from: 0, to: points, by: 5) { mask[i] = 0 }
            return try EvaluationScene(name: "s\(s)", coords: coords, features: feats, inverse: inverse, labels: labels,
                                       fused2D: f2, mask2D: mask)
        }
    }

    /// Three classes in 4-d, three held-out scenes, a 5→4 probe as the network.
    static func evaluationFixture(width: Int, dim: Int) throws -> (Vocabulary, [EvaluationScene], LinearProbe) {
        var rng = SplitMix64(seed: 8)
        let vocab = try Vocabulary(names: ["a", "b", "c"], embeddings: (0..<(3 * dim)).map { _ in rng.uniform(-1...1) }, dimension: dim)
        return (vocab, try scenes(3, width: width, dim: dim, seed: 2), try probe())
    }

    @Test func evaluatorScoresDistillFusionAndEnsemble() throws {
        let width = 5, dim = 4
        let (vocab, scenes, net) = try Self.evaluationFixture(width: width, dim: dim)
        net.training = true
        let modes: [FeatureEnsemble.Mode] = [.distill, .fusion, .ensemble(.maxScore), .ensemble(.average)]
        let ev = try TrainingEvaluator(scenes: scenes, vocabulary: vocab, modes: modes, head: "final_seg", convention: .openScene)
        let got = try ev.evaluate(net)
        #expect(net.training, "the training flag is restored")
        #expect(got.map(\.mode) == ["distill", "fusion", "ensemble", "ensemble_average"])
        // The same by hand: per-point features through the inverse map, one matrix over all scenes.
        for (mi, mode) in modes.enumerated() {
            var pred = [Int32](), gt = [Int32]()
            for s in scenes {
                let v = GEMM.multiply(s.features!, net.parameters.values, m: s.voxelCount, k: width, n: dim)
                let f3 = Elementwise.gatherRows(v, cols: dim, index: s.inverse)
                pred += try FeatureEnsemble.labels(mode: mode, features3D: mode == .fusion ? [] : f3,
                                                   features2D: mode == .distill ? [] : s.fused2D!, mask2D: s.mask2D, vocabulary: vocab)
                gt += s.labels
            }
            let want = try SegmentationMetrics.evaluate(predictions: pred, groundTruth: gt, classes: 3, ignore: 255, convention: .openScene)
            #expect(got[mi].metrics == want, "\(got[mi].mode)")
        }
        #expect(got[0].metrics != got[1].metrics)
        #expect(throws: OV3DError.self) { try TrainingEvaluator(scenes: scenes, vocabulary: vocab, head: "final").evaluate(net) }
    }

    /// `recipe.eval.centred`: the ensemble modes score the head's features mapped back into the
    /// text space (`TextSpaceCentering.uncentred`); distill and fusion are unchanged.
    @Test func centredEvaluatorMapsTheHeadBackForTheEnsembles() throws {
        let width = 5, dim = 4
        let (vocab, scenes, net) = try Self.evaluationFixture(width: width, dim: dim)
        let modes: [FeatureEnsemble.Mode] = [.distill, .fusion, .ensemble(.maxScore), .ensemble(.average)]
        let plain = try TrainingEvaluator(scenes: scenes, vocabulary: vocab, modes: modes, head: "final_seg").evaluate(net)
        let got = try TrainingEvaluator(scenes: scenes, vocabulary: vocab, modes: modes, head: "final_seg", centred: true).evaluate(net)
        for (mi, mode) in modes.enumerated() {
            var pred = [Int32](), gt = [Int32]()
            for s in scenes {
                let v = GEMM.multiply(s.features!, net.parameters.values, m: s.voxelCount, k: width, n: dim)
                let f3 = Elementwise.gatherRows(try TextSpaceCentering.uncentred(v, vocabulary: vocab), cols: dim, index: s.inverse)
                let d3 = Elementwise.gatherRows(v, cols: dim, index: s.inverse)
                pred += try FeatureEnsemble.labels(mode: mode, features3D: mode == .fusion ? [] : (mode == .distill ? d3 : f3),
                                                   features2D: mode == .distill ? [] : s.fused2D!, mask2D: s.mask2D, vocabulary: vocab)
                gt += s.labels
            }
            let want = try SegmentationMetrics.evaluate(predictions: pred, groundTruth: gt, classes: 3, ignore: 255, convention: .openScene)
            #expect(got[mi].metrics == want, "\(got[mi].mode)")
        }
        #expect(got[0].metrics == plain[0].metrics && got[1].metrics == plain[1].metrics)
        #expect(got[2].metrics != plain[2].metrics || got[3].metrics != plain[3].metrics, "the mapping changes an ensemble")
    }

    @Test func bestCheckpointKeepsTheStrictMaximumAcrossResume() throws {
        var b = BestCheckpoint()
        let offers = [b.offer(0.31, epoch: 1), b.offer(0.31, epoch: 2), b.offer(.nan, epoch: 2), b.offer(0.4, epoch: 3), b.offer(0.2, epoch: 4)]
        #expect(offers == [true, false, false, true, false])
        let resumed = try BestCheckpoint(metadata: [("other", "x")] + b.metadata)
        #expect(resumed == b && resumed.bestEpoch == 3 && resumed.bestMetric == 0.4)
        #expect(throws: OV3DError.self) { try BestCheckpoint(metadata: [(BestCheckpoint.metricKey, "abc")]) }
        let dir = NSTemporaryDirectory() + "best-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileIO.write(dir + "/last.safetensors", [1, 2, 3])
        try BestCheckpoint.copy(from: dir + "/last.safetensors", to: dir + "/best.safetensors")
        #expect(try FileIO.read(dir + "/best.safetensors") == [1, 2, 3])
    }

    @Test func sigmaHistoryPerEpochAndJSON() throws {
        var h = SigmaHistory(heads: ["final", "final_dinov2"])
        h.record(step: 1, epoch: 0, losses: [0.5, 0.25], sigma: [1, 1])
        h.record(step: 2, epoch: 0, losses: [0.5, 0.25], sigma: [1.5, 0.5])
        h.record(step: 3, epoch: 1, losses: [0.5, 0.25], sigma: [2, 0.25])
        #expect(h.perEpoch.map(\.epoch) == [0, 1] && h.perEpoch.map(\.sigma) == [[1.5, 0.5], [2, 0.25]])
        let lines = h.jsonLines().split(separator: "\n")
        #expect(lines.count == 3)
        let j = try JSON.parse(String(lines[2]))
        #expect(j["sigma"]?["final"]?.doubleValue == 2 && j["loss"]?["final_dinov2"]?.doubleValue == 0.25)
    }
    /// CUA-O3D's objective in the step: each head's gradient scaled by 0.5/σ², the total
    /// Σ 0.5/σ²·L + log(1 + σ²), and σ's own Adam (weight decay 0 even when the network's is
    /// not): torch's first Adam step moves σ by lr·sign(∂L/∂σ) with ∂L/∂σ = 1 − L at σ = 1
    /// (m̂/√v̂ = g/|g|, eps aside), so a head with loss > 1 grows its σ, one below 1 shrinks it.
    @Test func cuaObjectiveScalesHeadsAndStepsSigma() throws {
        let rows = 6
        var rng = SplitMix64(seed: 21)
        let dims = ["a": 3, "b": 4, "c": 2]
        var preds = [String: [Float]](), targets = [String: [Float]]()
        for (h, d) in dims {
            preds[h] = (0..<(rows * d)).map { _ in rng.uniform(-1...1) }
            targets[h] = (0..<(rows * d)).map { _ in rng.uniform(-1...1) }
        }
        // Head c: mse against far-away targets (loss > 1); a, b: cosines against near targets (< 1).
        targets["c"] = targets["c"]!.map { $0 + 3 }
        for h in ["a", "b"] { targets[h] = zip(preds[h]!, targets[h]!).map { $0 + 0.3 * $1 } }
        let losses = [TrainingLoss(head: "a", kind: .cosine, weight: 1), TrainingLoss(head: "b", kind: .demeanedCosine, weight: 1),
                      TrainingLoss(head: "c", kind: .mse, weight: 1)]
        var oc = Optimizer.Config(kind: .adam, lr: 0.05)
        oc.weightDecay = 0.5
        let w = try UncertaintyWeighting(heads: 3, mode: .learned, initialSigma: 1)
        let o = try CUAObjective(losses: losses, weighting: w, optimizer: oc)
        #expect(o.sigmaOptimizer?.groups.first?.weightDecay == 0)
        let mask: [UInt8] = [1, 1, 0, 1, 1, 1]
        let batch = PreparedBatch(batch: TrainingBatch(coords: [Int32](repeating: 0, count: rows * 4), features: [Float](repeating: 1, count: rows), inChannels: 1),
                                  scenes: [0], lossRows: rows, lossToRow: nil, targets: targets, mask: mask)
        let r = try o.evaluate(predictions: preds, batch: batch, step: 0)
        var want = 0.0
        for (k, l) in losses.enumerated() {
            let (v, g) = try l.evaluate(pred: preds[l.head]!, target: targets[l.head]!, mask: mask, rows: rows, dim: dims[l.head]!)
            #expect(r.losses[k].head == l.head && r.losses[k].loss == v)
            want += 0.5 * v + log1p(1)
            #expect(r.gradients[l.head]! == g.map { $0 * 0.5 }, "\(l.head): gradient scaled by 0.5/σ²")
        }
        #expect(abs(r.total - want) < 1e-12)
        let lossValues = r.losses.map(\.loss)
        #expect(lossValues[2] > 1 && lossValues[0] < 1 && lossValues[1] < 1)
        try o.afterStep(lrs: [0.001, 0.05])   // σ steps with the default (last) group's rate
        for (k, v) in lossValues.enumerated() {
            let g = 1 - v
            #expect(abs(Double(w.sigma[k]) - (1 - 0.05 * (g > 0 ? 1 : -1))) < 1e-5, "σ[\(k)] = \(w.sigma[k]) after one Adam step")
        }
        #expect(o.history.records.count == 1 && o.history.records[0].sigma == w.sigma)
        // Fixed weights: no σ optimizer, gradients scaled by the weights, σ unchanged.
        let f = try CUAObjective(losses: losses, weighting: try UncertaintyWeighting(heads: 3, mode: .fixed([1, 2, 0.5])), optimizer: oc)
        #expect(f.sigmaOptimizer == nil)
        let rf = try f.evaluate(predictions: preds, batch: batch, step: 0)
        #expect(abs(rf.total - (lossValues[0] + 2 * lossValues[1] + 0.5 * lossValues[2])) < 1e-12)
        try f.afterStep(lrs: [0.05])
        #expect(f.weighting.sigma == [1, 1, 1])
    }
}
