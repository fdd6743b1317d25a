import Testing
@testable import OV3DCore

/// Checkpoints whose heads have a bias (`final.bias`, MinkowskiEngine's example MinkUNets) load
/// for inference: the spec infers the bias, validation accepts it ([1, D] or [D]), the output
/// is the bias-free output plus the bias, and linear probes on biased heads compose exactly.
@Suite struct MinkUNetHeadBiasTests {
    @Test func headBiasIsInferredAndApplied() throws {
        var spec = TrainableMinkUNetTests.tinySpec
        spec.heads = [.init(name: "final", dim: 5, bias: true), .init(name: "final_seg_lseg", dim: 3, inputs: ["final"], bias: true)]
        let sd = try spec.randomStateDict(seed: 4)
        #expect(try MinkUNetSpec.infer(from: sd) == spec)
        let net = try MinkUNet(stateDict: sd)
        var noBias = sd
        noBias.remove("final.bias")
        noBias.remove("final_seg_lseg.bias")
        let plain = try MinkUNet(stateDict: noBias)
        var rng = SplitMix64(seed: 8)
        let coords = TrainingOpsTests.cloud(&rng, scenes: 1, side: 12, fill: 0.1).flatMap { $0[1...3] }
        let n = coords.count / 3
        let feats = (0..<(2 * n)).map { _ in rng.uniform(-1...1) }
        let o = try net.forward(coords: Array(coords), features: feats, threads: 1, workspace: Workspace())
        let p = try plain.forward(coords: Array(coords), features: feats, threads: 1, workspace: Workspace())
        let bias = sd["final.bias"]!.floats(), pw = sd["final_seg_lseg.kernel"]!.floats(), pb = sd["final_seg_lseg.bias"]!.floats()
        for r in 0..<n {
            for c in 0..<5 { #expect(abs(o.heads[0][r * 5 + c] - (p.heads[0][r * 5 + c] + bias[c])) < 1e-5) }
            // probe(final + b) + c: from the biased feature head's output.
            for c in 0..<3 {
                var s = Double(pb[c])
                for j in 0..<5 { s += Double(o.heads[0][r * 5 + j]) * Double(pw[j * 3 + c]) }
                #expect(abs(Double(o.heads[1][r * 3 + c]) - s) < 1e-4)
            }
        }
        // A [D]-shaped bias validates too.
        var flat = sd
        flat.set("final.bias", try Tensor(bias, shape: [5]))
        _ = try MinkUNet(stateDict: flat)
        var wrong = sd
        wrong.set("final.bias", try Tensor([Float](repeating: 0, count: 4), shape: [1, 4]))
        #expect(throws: OV3DError.self) { try MinkUNet(stateDict: wrong) }
    }
}
