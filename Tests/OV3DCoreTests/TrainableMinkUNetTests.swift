import Testing
@testable import OV3DCore

/// The trainable MinkUNet as a whole: its gradients against central finite differences of the
/// same graph run in float64 (`RefExecutor`, naive kernel maps keyed by (batch, x, y, z)), eval
/// mode against the inference network, determinism, batches, the state dict and the init.
@Suite struct TrainableMinkUNetTests {
    static let tinySpec = MinkUNetSpec(inChannels: 2, initDim: 4, layers: [1, 1, 1, 1, 1, 1, 1, 1],
                                       planes: [4, 6, 8, 8, 6, 6, 5, 4],
                                       heads: [.init(name: "final", dim: 3, bias: true)])

    static func batch(_ coords: [[Int32]], _ rng: inout SplitMix64, cin: Int) -> TrainingBatch {
        TrainingBatch(coords: coords.flatMap { $0 }, features: (0..<(coords.count * cin)).map { _ in rng.uniform(-1...1) }, inChannels: cin)
    }

    static func running(_ net: TrainableMinkUNet) -> [String: ([Double], [Double])] {
        var r = [String: ([Double], [Double])]()
        for (m, b) in net.batchNorms { r[m] = (b.runningMean.map { Double($0) }, b.runningVar.map { Double($0) }) }
        return r
    }

    @Test func gradientsMatchFiniteDifferencesOfTheFloat64Graph() throws {
        var rng = SplitMix64(seed: 11)
        let coords = TrainingOpsTests.cloud(&rng, scenes: 2, side: 14, fill: 0.06)
        let spec = Self.tinySpec
        let net = try TrainableMinkUNet(spec: spec, seed: 7)
        let b = Self.batch(coords, &rng, cin: 2)
        let g = (0..<(coords.count * 3)).map { _ in rng.uniform(-1...1) }
        let ref = RefExecutor(coords: coords, set: net.parameters, training: true, running: Self.running(net))
        let out = try net.forward(b, threads: 1)
        try net.backward([g], threads: 1)
        let gd = g.map { Double($0) }
        let input = RefValue(b.features.map { Double($0) }, cols: 2, ts: 1)
        func loss(_ params: [Double]) throws -> Double {
            ref.params = params
            let o = try spec.walk(input, ref)[0]
            return TrainingOpsTests.dot(o.data, gd)
        }
        let base = net.parameters.values.map { Double($0) }
        ref.params = base
        let refOut = try spec.walk(input, ref)[0].data
        #expect(maxRelativeError(out[0].map { Double($0) }, refOut) < 1e-4, "training-mode forward vs float64")
        // A few entries of every tensor.
        var idx = [Int]()
        for e in net.parameters.entries { idx += [e.offset, e.offset + e.count / 2, e.offset + e.count - 1] }
        idx = Array(Set(idx)).sorted()
        let fd = try idx.map { i -> Double in
            var a = base, c = base
            a[i] += 1e-5; c[i] -= 1e-5
            return (try loss(a) - loss(c)) / 2e-5
        }
        let mine = idx.map { Double(net.parameters.grads[$0]) }
        let err = maxRelativeError(mine, fd)
        #expect(err < 2e-3, "gradient vs finite differences: max error \(err) of the largest")
        // Per-entry check with an absolute floor (ReLU kinks aside, every entry agrees).
        let scale = fd.map(abs).max() ?? 1
        var bad = 0
        for (m, f) in zip(mine, fd) where abs(m - f) > 2e-3 * scale + 1e-3 * abs(f) { bad += 1 }
        #expect(bad == 0, "\(bad) of \(idx.count) gradient entries disagree")
    }

    @Test func evalModeEqualsTheInferenceNetwork() throws {
        var rng = SplitMix64(seed: 12)
        let coords = TrainingOpsTests.cloud(&rng, scenes: 1, side: 16, fill: 0.08)
        var spec = Self.tinySpec
        spec.heads = [.init(name: "final", dim: 5, bias: true), .init(name: "final_dinov2", dim: 4)]
        let sd = try spec.randomStateDict(seed: 3)
        let net = try TrainableMinkUNet(stateDict: sd)
        #expect(net.spec == spec)
        net.training = false
        let b = Self.batch(coords, &rng, cin: 2)
        let mine = try net.forward(b, threads: 1)
        let inf = try MinkUNet(stateDict: sd)
        let o = try inf.forward(coords: coords.flatMap { $0[1...3] }, features: b.features, threads: 1, workspace: Workspace())
        for h in 0..<2 {
            #expect(maxRelativeError(mine[h].map { Double($0) }, o.heads[h].map { Double($0) }) < 1e-5, "head \(h)")
        }
    }

    @Test func deterministicAndThreadIndependent() throws {
        var rng = SplitMix64(seed: 13)
        let coords = TrainingOpsTests.cloud(&rng, scenes: 2, side: 14, fill: 0.08)
        let b = Self.batch(coords, &rng, cin: 2)
        let g = (0..<(coords.count * 3)).map { _ in rng.uniform(-1...1) }
        func run(_ threads: Int) throws -> ([Float], [Float], StateDict) {
            let net = try TrainableMinkUNet(spec: Self.tinySpec, seed: 21)
            let o = try net.forward(b, threads: threads)
            try net.backward([g], threads: threads)
            return (o[0], net.parameters.grads, try net.stateDict())
        }
        let a = try run(1), a2 = try run(1), c = try run(2)
        #expect(a.0 == a2.0 && a.1 == a2.1, "same seed and threads: identical outputs and gradients")
        #expect(maxRelativeError(c.1.map { Double($0) }, a.1.map { Double($0) }) < 1e-4)
        #expect(maxRelativeError(c.0.map { Double($0) }, a.0.map { Double($0) }) < 1e-5)
        let n1 = try TrainableMinkUNet(spec: Self.tinySpec, seed: 21), n2 = try TrainableMinkUNet(spec: Self.tinySpec, seed: 22)
        #expect(n1.parameters.values == (try TrainableMinkUNet(spec: Self.tinySpec, seed: 21)).parameters.values)
        #expect(n1.parameters.values != n2.parameters.values)
    }

    @Test func scenesOfABatchDoNotInteract() throws {
        var rng = SplitMix64(seed: 14)
        // Two scenes with overlapping coordinates (the second is the first shifted by one voxel).
        let a = TrainingOpsTests.cloud(&rng, scenes: 1, side: 14, fill: 0.1)
        let bScene = a.map { [1, $0[1] + 1, $0[2], $0[3] - 3] }
        let net = try TrainableMinkUNet(stateDict: try Self.tinySpec.randomStateDict(seed: 5))
        net.training = false
        let fa = (0..<(a.count * 2)).map { _ in rng.uniform(-1...1) }, fb = (0..<(a.count * 2)).map { _ in rng.uniform(-1...1) }
        let both = try net.forward(TrainingBatch(coords: (a + bScene).flatMap { $0 }, features: fa + fb, inChannels: 2), threads: 1)[0]
        let alone = try net.forward(TrainingBatch(coords: a.flatMap { $0 }, features: fa, inChannels: 2), threads: 1)[0]
        let aloneB = try net.forward(TrainingBatch(coords: bScene.map { [0] + $0[1...3] }.flatMap { $0 }, features: fb, inChannels: 2), threads: 1)[0]
        let n = a.count * 3
        #expect(maxRelativeError(Array(both[0..<n]).map { Double($0) }, alone.map { Double($0) }) < 1e-6)
        #expect(maxRelativeError(Array(both[n...]).map { Double($0) }, aloneB.map { Double($0) }) < 1e-6)
        // And the float64 graph keyed by the batch column agrees with the batched run.
        let ref = RefExecutor(coords: a + bScene, set: net.parameters, training: false, running: Self.running(net))
        let r = try Self.tinySpec.walk(RefValue((fa + fb).map { Double($0) }, cols: 2, ts: 1), ref)[0].data
        #expect(maxRelativeError(both.map { Double($0) }, r) < 1e-5)
    }

    @Test func stateDictRoundTripAndRunningStatistics() throws {
        var rng = SplitMix64(seed: 15)
        let coords = TrainingOpsTests.cloud(&rng, scenes: 2, side: 12, fill: 0.1)
        let net = try TrainableMinkUNet(spec: Self.tinySpec, seed: 1)
        let sd0 = try net.stateDict()
        let expected = Self.tinySpec.expectedTensors
        #expect(sd0.keys.filter { !$0.hasSuffix("num_batches_tracked") } == expected.map(\.key))
        #expect(sd0["final.bias"]?.shape == [1, 3])
        #expect(net.parameters.entries.map(\.name) == expected.map(\.key).filter { !$0.contains("running") })
        let b = Self.batch(coords, &rng, cin: 2)
        _ = try net.forward(b, threads: 1)
        _ = try net.forward(b, threads: 1)
        let sd = try net.stateDict()
        #expect(try sd.tensor("bn0.bn.num_batches_tracked").int64s() == [2])
        // running_mean moved from 0 by momentum 0.1 twice: 0.19 · batch mean.
        let rm = sd["bn0.bn.running_mean"]!.floats()
        #expect(rm.contains { $0 != 0 })
        let other = try TrainableMinkUNet(spec: Self.tinySpec, seed: 2)
        try other.load(sd)
        let sd2 = try other.stateDict()
        for k in sd.keys { #expect(sd2[k]!.floats() == sd[k]!.floats(), "\(k)") }
        // A state dict with a [dim]-shaped bias loads too; a missing key does not.
        var flat = sd
        flat.set("final.bias", try Tensor(sd["final.bias"]!.floats(), shape: [3]))
        try other.load(flat)
        var missing = sd
        missing.remove("bn0.bn.weight")
        #expect(throws: OV3DError.self) { try other.load(missing) }
    }

    @Test func initialisationFollowsOpenSceneAndMinkowskiEngine() throws {
        let spec = MinkUNetSpec(inChannels: 3, initDim: 16, layers: [1, 1, 1, 1, 1, 1, 1, 1], planes: [16, 32, 32, 32, 32, 32, 32, 32],
                                heads: [.init(name: "final", dim: 64, bias: true)])
        let net = try TrainableMinkUNet(spec: spec, seed: 9)
        let ps = net.parameters
        func values(_ k: String) -> [Float] { Array(ps.values[ps.entry(k)!.range]) }
        func std(_ v: [Float]) -> Double {
            let m = v.reduce(0.0) { $0 + Double($1) } / Double(v.count)
            return (v.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(v.count)).squareRoot()
        }
        // kaiming normal, fan_out = K · out (3-D) or dimension 0 = in (2-D).
        let s = std(values("block2.0.conv2.kernel"))
        #expect(abs(s / (2.0 / (27 * 32)).squareRoot() - 1) < 0.03, "conv kernel std \(s)")
        let sd = std(values("block2.0.downsample.0.kernel"))
        #expect(abs(sd / (2.0 / 16).squareRoot() - 1) < 0.1, "1x1 kernel std \(sd)")
        let sf = std(values("final.kernel"))
        #expect(abs(sf / (2.0 / 32).squareRoot() - 1) < 0.05, "head kernel std \(sf)")
        // transposed: U(-1/sqrt(out·8), +)
        let t = values("convtr5p8s2.kernel"), bound = Float(1 / (32.0 * 8).squareRoot())
        #expect(t.allSatisfy { abs($0) <= bound } && t.map(abs).max()! > 0.9 * bound)
        let fb = values("final.bias"), bb = Float(1 / 32.0.squareRoot())
        #expect(fb.allSatisfy { abs($0) <= bb } && fb.contains { $0 != 0 })
        #expect(values("bn0.bn.weight").allSatisfy { $0 == 1 } && values("bn0.bn.bias").allSatisfy { $0 == 0 })
        let sdict = try net.stateDict()
        #expect(sdict["bn0.bn.running_var"]!.floats().allSatisfy { $0 == 1 })
    }
}
