import Testing
@testable import OV3DCore

/// A training step goes through the fallible memory path (issue 11 on issue 17's limits): its
/// projected peak (`Trainer.projectedPeak`, `TrainableMinkUNet.projectedStepBytes`) bounds what
/// the step's work buffers really reach, and a step over the limit is refused with
/// outOfMemory before it allocates anything or changes a weight. The tool-level check
/// (`ov3d train --max-memory`, `OV3D_MAX_MEMORY`, `ulimit -v`) is tests/cli/test_train_memory_cli.py.
@Suite struct TrainingMemoryTests {
    /// The voxels on the faces of an `a × b × c` box (a scanned room's surfaces), scene `scene`.
    static func boxSurface(_ a: Int32, _ b: Int32, _ c: Int32, scene: Int32 = 0) -> [[Int32]] {
        var out = [[Int32]]()
        for z in 0..<c { for y in 0..<b { for x in 0..<a where x == 0 || y == 0 || z == 0 || x == a - 1 || y == b - 1 || z == c - 1 {
            out.append([scene, x, y, z])
        } } }
        return out
    }

    static let spec = MinkUNetSpec(inChannels: 3, initDim: 8, layers: [1, 1, 1, 1, 1, 1, 1, 1],
                                   planes: [8, 12, 16, 16, 12, 12, 10, 8],
                                   heads: [.init(name: "final", dim: 24, bias: true)])

    static func trainer(_ net: TrainableMinkUNet) throws -> Trainer {
        let groups = try ParameterGroupSpec.resolve([], over: net.parameters, defaultLR: 1e-3, defaultWeightDecay: 0)
        let opt = try Optimizer(.init(kind: .adam, lr: 1e-3), groups: groups, over: net.parameters)
        return try Trainer(network: net, optimizer: opt, schedule: .constant, losses: [TrainingLoss(head: "final", kind: .cosine)])
    }

    static func batch(_ coords: [[Int32]], dim: Int) -> PreparedBatch {
        var rng = SplitMix64(seed: 9)
        let n = coords.count
        return PreparedBatch(batch: TrainingBatch(coords: coords.flatMap { $0 }, features: (0..<(3 * n)).map { _ in rng.uniform(-1...1) }, inChannels: 3),
                             scenes: Array(0..<Int(Set(coords.map { $0[0] }).count)), lossRows: n, lossToRow: nil,
                             targets: ["final": (0..<(n * dim)).map { _ in rng.uniform(-1...1) }], mask: nil)
    }

    @Test func projectionBoundsTheStepsWorkBuffers() throws {
        let coords = Self.boxSurface(40, 36, 20) + Self.boxSurface(30, 30, 16, scene: 1)
        let b = Self.batch(coords, dim: 24)
        let net = try TrainableMinkUNet(spec: Self.spec, seed: 2)
        let p = net.projectedStep(b.batch)
        // Level counts are exact: distinct (batch, ⌊x/s⌋, ⌊y/s⌋, ⌊z/s⌋).
        for s: Int32 in [2, 4, 8, 16] {
            let want = Set(coords.map { c in [c[0]] + c[1...3].map { $0 / s } }).count
            #expect(p.rows[s] == want, "rows at stride \(s)")
        }
        let t = try Self.trainer(net)
        _ = try t.train(b)
        let measured = net.workspace.peakBytes
        print("training step of \(coords.count) voxels: work buffers \(measured) bytes, projected \(p.workBytes) (x\(Double(p.workBytes) / Double(measured)))")
        #expect(measured > 0 && p.workBytes >= measured, "projection \(p.workBytes) below the measured \(measured)")
        #expect(Double(p.workBytes) <= 1.6 * Double(measured), "projection \(p.workBytes) too loose for the measured \(measured)")
    }

    @Test func stepOverTheLimitIsRefusedBeforeAllocating() throws {
        let coords = Self.boxSurface(30, 30, 14)
        let b = Self.batch(coords, dim: 24)
        let net = try TrainableMinkUNet(spec: Self.spec, seed: 2)
        let t = try Self.trainer(net)
        let need = t.projectedPeak(b)
        #expect(need > net.projectedStepBytes(b.batch) && net.projectedStepBytes(b.batch) > 0)
        let before = net.parameters.values
        t.memoryLimit = need - 1
        do {
            _ = try t.train(b)
            Issue.record("a step over the limit ran")
        } catch let e as OV3DError {
            #expect(e.status == .outOfMemory)
            #expect(e.message.contains("training step 1 (\(coords.count) voxels of 1 scene)") && e.message.contains("would need about")
                    && e.message.contains("more than the memory limit of"), "\(e.message)")
        }
        #expect(net.workspace.peakBytes == 0, "the refused step allocated work buffers")
        #expect(net.parameters.values == before && t.step == 0)
        // At the limit it runs.
        t.memoryLimit = need
        let r = try t.train(b)
        #expect(r.step == 1 && r.total.isFinite && net.parameters.values != before)
    }
}
