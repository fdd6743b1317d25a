import Foundation
import Testing
@testable import OV3DCore

/// The training engine around the network (`LinearTestNetwork`; the MinkUNet's own step is
/// tested against PyTorch elsewhere): config parsing, data order, the point broadcast and its
/// backward, determinism, resume, `out` and the torch `.pth` export.
@Suite struct TrainingEngineTests {
    /// A temporary folder with `count` voxel scenes (and one point scene when `points`), and a config.
    static func makeRun(_ dir: String, scenes count: Int = 3, points: Bool = false, extra: String = "",
                        optimizer: String = #"{"type": "adam", "lr": 0.01}"#, steps: Int = 4, batch: Int = 2) throws -> String {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var rng = SplitMix64(seed: 42)
        var entries: [String] = []
        for s in 0..<count {
            let n = 20 + 7 * s
            var seen = Set<[Int32]>(), c: [Int32] = []
            while seen.count < n {
                let v = [Int32(rng.below(8)), Int32(rng.below(8)), Int32(rng.below(8))]
                if seen.insert(v).inserted { c += v }
            }
            try NPY.write(try Tensor(int32: c, shape: [n, 3]), path: "\(dir)/c\(s).npy")
            try NPY.write((0..<(n * 2)).map { _ in Float(rng.unit()) }, shape: [n, 2], path: "\(dir)/f\(s).npy")
            try NPY.write((0..<(n * 3)).map { _ in Float(rng.unit() - 0.5) }, shape: [n, 3], path: "\(dir)/t\(s).npy")
            let m = (0..<n).map { UInt8($0 % 5 == 0 ? 0 : 1) }
            try NPY.write(try m.withUnsafeBytes { try Tensor(dtype: .uint8, shape: [n], bytes: $0) }, path: "\(dir)/m\(s).npy")
            entries.append(#"{"coords": "c\#(s).npy", "features": "f\#(s).npy", "targets": {"final": "t\#(s).npy"}, "mask": "m\#(s).npy"}"#)
        }
        if points {
            let p = 60
            try NPY.write((0..<(p * 3)).map { _ in Float(rng.unit() * 0.1) }, shape: [p, 3], path: "\(dir)/p.npy")
            try NPY.write((0..<(p * 3)).map { _ in Float(rng.unit() - 0.5) }, shape: [p, 3], path: "\(dir)/pt.npy")
            entries.append(#"{"points": "p.npy", "voxel_size": 0.02, "targets": {"final": "pt.npy"}}"#)
        }
        let cfg = """
        {"model": {"architecture": "LinearTest", "in_channels": 2, "heads": {"final": 3}},
         "data": {"scenes": [\(entries.joined(separator: ","))], "batch_size": \(batch), "shuffle": false, "augment": false},
         "loss": {"final": {"type": "cosine", "weight": 1.0}},
         "optimizer": \(optimizer),
         "schedule": {"type": "constant"},
         "steps": \(steps), "seed": 0, "threads": 1, "out": "trained.safetensors"\(extra)}
        """
        try cfg.write(toFile: "\(dir)/run.json", atomically: true, encoding: .utf8)
        return "\(dir)/run.json"
    }

    static func tmp(_ name: String) -> String {
        NSTemporaryDirectory() + "ov3d-train-\(name)-\(getpid())-\(UInt32.random(in: 0 ... .max))"
    }

    static func factory(_ m: TrainingConfig.Model, _ seed: UInt64) throws -> TrainableNetwork {
        try LinearTestNetwork(inChannels: m.inChannels, dim: m.heads[0].dim, seed: seed)
    }

    static func weights(_ run: TrainingRun) throws -> [String: [UInt32]] {
        let sd = try run.network.stateDict()
        var out: [String: [UInt32]] = [:]
        for k in sd.keys {
            let t = try sd.tensor(k)
            out[k] = t.dtype == .float32 ? t.floats().map(\.bitPattern) : try t.int64s().map { UInt32(truncatingIfNeeded: $0) }
        }
        return out
    }

    @Test func sceneOrderWrapsInFileOrder() throws {
        let dir = Self.tmp("order")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cfg = try TrainingConfig.load(path: try Self.makeRun(dir))
        let data = try TrainingData(specs: cfg.scenes, batchSize: 2, shuffle: false, augmentation: nil, inChannels: 2,
                                    lossHeads: [("final", 3)], seed: 0)
        #expect(data.nextScenes() == [0, 1])
        #expect(data.nextScenes() == [2, 0])
        #expect(data.nextScenes() == [1, 2])
        let sh = try TrainingData(specs: cfg.scenes, batchSize: 3, shuffle: true, augmentation: nil, inChannels: 2,
                                  lossHeads: [("final", 3)], seed: 7)
        for _ in 0..<4 { #expect(sh.nextScenes().sorted() == [0, 1, 2]) }  // each step one whole epoch
        let b = try data.nextBatch()
        #expect(b.scenes == [0, 1])
        #expect(b.batch.rows == 20 + 27 && b.lossToRow == nil && b.mask?.count == 47)
        #expect(b.batch.coords[0] == 0 && b.batch.coords[4 * 20] == 1)  // batch index column
    }

    @Test func augmentationKeepsVoxelsUniqueAndMoves() throws {
        var c: [Int32] = [0, 0, 0, 1, 0, 0, 0, 2, 0, 3, 1, 1]
        var rng = SplitMix64(seed: 3)
        var moved = false
        for _ in 0..<8 {
            var a = c
            TrainingAugmentation().apply(voxels: &a, rng: &rng)
            let rows = stride(from: 0, to: a.count, by: 3).map { [a[$0], a[$0 + 1], a[$0 + 2]] }
            #expect(Set(rows).count == 4 && a.allSatisfy { $0 >= 0 })
            if a != c { moved = true }
        }
        #expect(moved)
        c = [0, 0, 0]
        var r2 = SplitMix64(seed: 3)
        let res = try TrainingAugmentation().voxelize(points: [0, 0, 0, 0.05, 0.01, 0, 0.1, 0.1, 0.1], voxelSize: 0.02, rng: &r2)
        #expect(res.inverse.count == 3 && res.coords.count == 3 * res.voxelCount)
    }

    /// The broadcast's backward is its adjoint, and the loss through it matches central differences.
    @Test func pointBroadcastBackwardMatchesFiniteDifferences() throws {
        let map: [Int32] = [2, 0, 2, 1, 2, 0]
        let cols = 3, voxels = 3
        var rng = SplitMix64(seed: 11)
        let v = (0..<(voxels * cols)).map { _ in Float(rng.unit() - 0.5) }
        let target = (0..<(map.count * cols)).map { _ in Float(rng.unit() - 0.5) }
        let p = (0..<(map.count * cols)).map { _ in Float(rng.unit() - 0.5) }
        // <gather(v), p> == <v, scatterAdd(p)>
        let gv = PointBroadcast.gather(v, cols: cols, map: map), sp = PointBroadcast.scatterAdd(p, cols: cols, map: map, voxelRows: voxels)
        let lhs = zip(gv, p).reduce(0.0) { $0 + Double($1.0 * $1.1) }, rhs = zip(v, sp).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        #expect(Swift.abs(lhs - rhs) < 1e-6)
        for kind in [TrainingLoss.Kind.cosine, .mse] {
            let loss = TrainingLoss(head: "final", kind: kind)
            let mask: [UInt8] = [1, 1, 0, 1, 1, 1]
            let g = try loss.evaluate(pred: PointBroadcast.gather(v, cols: cols, map: map), target: target, mask: mask, rows: map.count, dim: cols).grad
            let gVox = PointBroadcast.scatterAdd(g, cols: cols, map: map, voxelRows: voxels)
            for i in 0..<v.count {
                var a = v, b = v
                a[i] += 1e-2; b[i] -= 1e-2
                let la = try loss.evaluate(pred: PointBroadcast.gather(a, cols: cols, map: map), target: target, mask: mask, rows: map.count, dim: cols).loss
                let lb = try loss.evaluate(pred: PointBroadcast.gather(b, cols: cols, map: map), target: target, mask: mask, rows: map.count, dim: cols).loss
                let fd = (la - lb) / 2e-2
                #expect(Swift.abs(Double(gVox[i]) - fd) <= 2e-3 * Swift.max(1, Swift.abs(fd)), "\(kind) voxel value \(i): \(gVox[i]) vs fd \(fd)")
            }
        }
    }

    @Test func trainingIsDeterministicAndLearns() throws {
        let dir = Self.tmp("det")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try Self.makeRun(dir, points: true, extra: #", "clip_grad_norm": 5.0"#, steps: 12)
        var cfg = try TrainingConfig.load(path: path)
        cfg.augmentation = TrainingAugmentation()
        cfg.shuffle = true
        var records: [[Trainer.StepRecord]] = [[], []]
        var w: [[String: [UInt32]]] = []
        for r in 0..<2 {
            let run = try TrainingRun(config: cfg, makeNetwork: Self.factory)
            try run.run { records[r].append($0) }
            w.append(try Self.weights(run))
        }
        #expect(w[0] == w[1])
        #expect(records[0].map(\.total) == records[1].map(\.total))
        #expect(records[0].count == 12 && records[0].allSatisfy { $0.gradNorm != nil && $0.voxels > 0 })
        // The output file holds the state dict with metadata.
        let sd = try Safetensors.read(path: dir + "/trained.safetensors")
        #expect(sd.keys == ["final.kernel", "final.bias", "final.zscale", "bn.running_mean", "bn.num_batches_tracked"])
        #expect(sd.metadata(ModelMetadata.architectureKey) == "LinearTest" && sd.metadata(ModelMetadata.headsKey) == "final=3")
        // Without augmentation the same batches repeat: the loss must fall.
        var plain = try TrainingConfig.load(path: try Self.makeRun(dir + "/plain", steps: 30, batch: 3))
        plain.optimizer.lr = 0.05
        let run = try TrainingRun(config: plain, makeNetwork: Self.factory)
        var totals: [Double] = []
        try run.run { totals.append($0.total) }
        #expect(totals.last! < totals.first! * 0.9, "loss \(totals.first!) -> \(totals.last!)")
    }

    @Test(arguments: [#"{"type": "adam", "lr": 0.01, "amsgrad": true}"#,
                      #"{"type": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": true}"#])
    func resumeGivesTheSameWeightsAsOneRun(_ optimizer: String) throws {
        let dir = Self.tmp("resume")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try Self.makeRun(dir, points: true, extra: #", "save_state": "state.safetensors""#,
                                    optimizer: optimizer, steps: 7)
        var cfg = try TrainingConfig.load(path: path)
        cfg.augmentation = TrainingAugmentation()
        cfg.shuffle = true
        cfg.schedule = .cosine(tMax: 7, etaMin: 0.001)
        let straight = try TrainingRun(config: cfg, makeNetwork: Self.factory)
        try straight.run()
        var first = cfg
        first.steps = 3
        first.saveState = dir + "/state3.safetensors"
        first.out = nil
        try TrainingRun(config: first, makeNetwork: Self.factory).run()
        var second = cfg
        second.resume = dir + "/state3.safetensors"
        second.saveState = nil
        let resumed = try TrainingRun(config: second, makeNetwork: Self.factory)
        #expect(resumed.trainer.step == 3)
        var steps: [Int] = []
        try resumed.run { steps.append($0.step) }
        #expect(steps == [4, 5, 6, 7])
        #expect(try Self.weights(resumed) == Self.weights(straight))
        #expect(resumed.trainer.lrs == straight.trainer.lrs && resumed.data.rng == straight.data.rng)
        // A state of another optimizer type is refused by name.
        var other = cfg
        other.optimizer = Optimizer.Config(kind: optimizer.contains("adam") ? .sgd : .adam, lr: 0.1)
        other.resume = second.resume
        #expect(throws: OV3DError.self) { try TrainingRun(config: other, makeNetwork: Self.factory) }
    }

    @Test func pthExportRoundTripsBitForBit() throws {
        var sd = StateDict()
        var rng = SplitMix64(seed: 9)
        sd.set("conv0p1s1.kernel", try Tensor((0..<(27 * 3 * 4)).map { _ in Float(rng.unit() - 0.5) }, shape: [27, 3, 4]))
        sd.set("bn0.bn.running_var", try Tensor([1, 2, 3, 4], shape: [4]))
        let big: Int64 = 123_456_789_012
        sd.set("bn0.bn.num_batches_tracked", try withUnsafeBytes(of: big) { try Tensor(dtype: .int64, shape: [], bytes: $0) })
        sd.set("final.kernel", try Tensor((0..<(4 * 300)).map { Float($0) * 0.5 }, shape: [4, 300]))
        for prefix in ["", "net3d."] {
            let bytes = try TorchCheckpointWriter.encode(sd, prefix: prefix)
            let back = try CheckpointReader.decode(ByteStorage(bytes))
            #expect(back.keys == sd.keys.map { prefix + $0 })
            for k in sd.keys {
                let a = try sd.tensor(k), b = try back.tensor(prefix + k)
                #expect(a.dtype == b.dtype && a.shape == b.shape, "\(k)")
                #expect(Array(a.bytes) == Array(b.bytes), "\(k) bytes")
            }
            // Every storage is 64-byte aligned inside the archive (as torch writes them).
            let zip = try ZipArchive(storage: ByteStorage(bytes))
            for e in zip.entries where e.name.contains("/data/") { #expect(e.dataOffset % 64 == 0, "\(e.name)") }
            #expect(zip.entry(named: "archive/data.pkl") != nil && zip.entry(named: "archive/version") != nil)
        }
    }

    @Test func configErrorsNameTheKeyOrFile() throws {
        let dir = Self.tmp("errors")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try Self.makeRun(dir)
        let good = try String(contentsOfFile: path, encoding: .utf8)
        func expectError(_ edit: (String) -> String, _ needle: String) throws {
            try edit(good).write(toFile: path, atomically: true, encoding: .utf8)
            do {
                let cfg = try TrainingConfig.load(path: path)
                let run = try TrainingRun(config: cfg, makeNetwork: Self.factory)
                try run.run()
                Issue.record("no error for \(needle)")
            } catch let e as OV3DError {
                #expect(e.message.contains(needle), "message '\(e.message)' should name \(needle)")
            }
        }
        try expectError({ $0.replacingOccurrences(of: #""type": "adam""#, with: #""type": "adagrad""#) }, "optimizer.type")
        try expectError({ $0.replacingOccurrences(of: #""lr": 0.01"#, with: #""lr": "fast""#) }, "optimizer.lr")
        try expectError({ $0.replacingOccurrences(of: #""steps": 4,"#, with: "") }, "steps")
        try expectError({ $0.replacingOccurrences(of: #""type": "cosine""#, with: #""type": "huber""#) }, "loss.final.type")
        try expectError({ $0.replacingOccurrences(of: #""loss": {"final""#, with: #""loss": {"final_sd""#) }, "loss.final_sd")
        try expectError({ $0.replacingOccurrences(of: "c1.npy", with: "missing.npy") }, "data.scenes[1].coords")
        try expectError({ $0.replacingOccurrences(of: #""batch_size": 2"#, with: #""batch_size": 0"#) }, "data.batch_size")
        try expectError({ $0.replacingOccurrences(of: #""schedule": {"type": "constant"}"#, with: #""schedule": {"type": "step"}"#) }, "schedule.step_size")
        try expectError({ $0.replacingOccurrences(of: #""mask": "m0.npy""#, with: #""mask": "f0.npy""#) }, "data.scenes[0].mask")
        try expectError({ $0.replacingOccurrences(of: #""features": "f2.npy""#, with: #""features": "t2.npy""#) }, "data.scenes[2].features")
        try expectError({ $0.replacingOccurrences(of: #""targets": {"final": "t0.npy"}"#, with: "\"targets\": {}") }, "data.scenes[0].targets")
        try expectError({ $0.replacingOccurrences(of: "\"betas\"", with: "\"betas\"").replacingOccurrences(of: #""lr": 0.01}"#, with: #""lr": 0.01, "betas": [0.9]}"#) }, "optimizer.betas")
        try expectError({ _ in "{not json" }, "not valid JSON")
        // Unknown keys warn, not fail.
        try good.replacingOccurrences(of: #""seed": 0"#, with: #""seed": 0, "sead": 1"#).write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try TrainingConfig.load(path: path).warnings.contains { $0.contains("sead") })
        // Duplicate coordinates are refused with the row.
        try NPY.write(try Tensor(int32: [0, 0, 0, 1, 1, 1, 0, 0, 0], shape: [3, 3]), path: dir + "/dup.npy")
        let dup = TrainingSceneSpec(geometry: .voxels(dir + "/dup.npy"), targets: [:], label: "data.scenes[0]")
        #expect(throws: OV3DError.self) { try TrainingScene.load(dup, inChannels: 2, headDims: []) }
    }
}
