import Foundation
import Testing
@testable import OV3DCore

/// torch.optim trajectories, schedules, clipping and losses from tools/optimizer_reference.py
/// (Tests/Fixtures/training/optimizer_reference.json, torch 2.13): every parameter after every
/// step within 1e-6 relative.
@Suite struct TrainingOptimizerTests {
    nonisolated(unsafe) static let fixture: [String: Any] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("training/optimizer_reference.json")))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static func floats(_ a: Any?) -> [Float] { (a as! [Any]).map { Float(($0 as! NSNumber).doubleValue) } }

    static func close(_ a: Float, _ b: Float, rel: Float = 1e-6, abs absTol: Float = 1e-9) -> Bool {
        Swift.abs(a - b) <= rel * Swift.max(Swift.abs(a), Swift.abs(b)) + absTol
    }

    func makeSet() throws -> ParameterSet {
        let set = ParameterSet()
        for p in Self.fixture["params"] as! [[Any]] {
            let name = p[0] as! String
            let role: ParameterSet.Role = name.hasSuffix(".kernel") ? .convKernel : name.hasSuffix("bn.weight") ? .bnWeight
                : name.hasSuffix("bn.bias") ? .bnBias : .bias
            try set.add(name, shape: (p[1] as! [Int]), role: role)
        }
        return set
    }

    @Test func optimizerTrajectoriesMatchTorch() throws {
        var exact = 0, total = 0
        for c in Self.fixture["cases"] as! [[String: Any]] {
            let name = c["name"] as! String
            let set = try makeSet()
            let initial = c["init"] as! [String: Any]
            for e in set.entries {
                let v = Self.floats(initial[e.name])
                for i in 0..<e.count { set.values[e.offset + i] = v[i] }
            }
            let o = c["optimizer"] as! [String: Any]
            var cfg = Optimizer.Config(kind: Optimizer.Kind(rawValue: o["type"] as! String)!, lr: o["lr"] as! Double)
            if let b = o["betas"] as? [Double] { cfg.betas = (b[0], b[1]) }
            if let v = o["eps"] as? Double { cfg.eps = v }
            cfg.weightDecay = (o["weight_decay"] as? Double) ?? (cfg.kind == .adamw ? 0.01 : 0)
            if let v = o["momentum"] as? Double { cfg.momentum = v }
            if let v = o["dampening"] as? Double { cfg.dampening = v }
            if let v = o["nesterov"] as? Bool { cfg.nesterov = v }
            if let v = o["amsgrad"] as? Bool { cfg.amsgrad = v }
            let specs: [ParameterGroupSpec] = ((c["groups"] as? [[String: Any]]) ?? []).map { g in
                ParameterGroupSpec(name: g["name"] as! String, selectors: (g["select"] as! [String]).map {
                    $0.hasPrefix("prefix:") ? .prefix(String($0.dropFirst(7))) : .exact($0)
                }, lr: g["lr"] as? Double, weightDecay: g["weight_decay"] as? Double)
            }
            let groups = try ParameterGroupSpec.resolve(specs, over: set, defaultLR: cfg.lr, defaultWeightDecay: cfg.weightDecay)
            let opt = try Optimizer(cfg, groups: groups, over: set)
            let s = c["schedule"] as? [String: Any] ?? ["type": "constant"]
            let schedule: LearningRateSchedule
            switch s["type"] as! String {
            case "step": schedule = .step(stepSize: s["step_size"] as! Int, gamma: s["gamma"] as! Double)
            case "poly": schedule = .poly(power: s["power"] as! Double, maxSteps: s["max_steps"] as! Int)
            case "cosine": schedule = .cosine(tMax: s["t_max"] as! Int, etaMin: s["eta_min"] as! Double)
            default: schedule = .constant
            }
            var lrs = groups.map(\.baseLR)
            let grads = c["grads"] as! [[String: Any]]
            let traj = c["trajectory"] as! [[String: Any]]
            let wantLRs = c["lrs"] as! [[Double]]
            for t in 0..<grads.count {
                for (g, lr) in lrs.enumerated() {
                    #expect(Swift.abs(lr - wantLRs[t][g]) <= 1e-12 * Swift.abs(wantLRs[t][g]), "\(name) step \(t) lr[\(g)] \(lr) vs \(wantLRs[t][g])")
                }
                for e in set.entries {
                    let v = Self.floats(grads[t][e.name])
                    for i in 0..<e.count { set.grads[e.offset + i] = v[i] }
                }
                if let clip = c["clip"] as? Double {
                    let n = GradientClipping.clipNorm(set, maxNorm: clip)
                    let want = Float(((c["grad_norms"] as! [Double])[t]))
                    #expect(Self.close(n, want), "\(name) step \(t) grad norm \(n) vs \(want)")
                }
                try opt.step(set, lrs: lrs)
                lrs = zip(groups, lrs).map { schedule.next(step: t + 1, base: $0.baseLR, previous: $1) }
                for e in set.entries {
                    let want = Self.floats(traj[t][e.name])
                    for i in 0..<e.count {
                        let got = set.values[e.offset + i]
                        total += 1
                        if got == want[i] { exact += 1 }
                        #expect(Self.close(got, want[i]), "\(name) step \(t + 1) \(e.name)[\(i)] = \(got), torch \(want[i])")
                    }
                }
            }
            // The replayed closed form agrees with the recursion.
            for (g, grp) in groups.enumerated() {
                #expect(Swift.abs(schedule.rate(step: grads.count - 1, base: grp.baseLR) - wantLRs[grads.count - 1][g]) <= 1e-12 * grp.baseLR)
            }
        }
        print("optimizer trajectories: \(exact) of \(total) values bit-identical to torch")
        #expect(total > 1000)
    }

    @Test func lossesAndGradientsMatchTorch() throws {
        let l = Self.fixture["losses"] as! [String: Any]
        let rows = l["rows"] as! Int, dim = l["dim"] as! Int
        let pred = Self.floats(l["pred"]), target = Self.floats(l["target"])
        let mask = (l["mask"] as! [Int]).map { UInt8($0) }
        for c in l["cases"] as! [[String: Any]] {
            let kind = TrainingLoss.Kind(rawValue: c["kind"] as! String)!
            let masked = c["masked"] as! Bool
            let loss = TrainingLoss(head: "final", kind: kind, weight: c["weight"] as! Double)
            let (v, g) = try loss.evaluate(pred: pred, target: target, mask: masked ? mask : nil, rows: rows, dim: dim)
            let want = c["loss"] as! Double
            #expect(Swift.abs(v - want) <= 1e-6 * Swift.abs(want), "\(kind) masked \(masked): loss \(v) vs \(want)")
            let wg = Self.floats(c["grad"])
            for i in 0..<g.count {
                #expect(Self.close(g[i], wg[i], rel: 1e-5, abs: 1e-8), "\(kind) masked \(masked): grad[\(i)] \(g[i]) vs \(wg[i])")
            }
        }
    }

    @Test func lossGradientsMatchFiniteDifferences() throws {
        var rng = SplitMix64(seed: 5)
        let rows = 5, dim = 4
        let pred = (0..<(rows * dim)).map { _ in Float(rng.unit() * 2 - 1) }
        let target = (0..<(rows * dim)).map { _ in Float(rng.unit() * 2 - 1) }
        let mask: [UInt8] = [1, 0, 1, 1, 1]
        for kind in [TrainingLoss.Kind.cosine, .mse] {
            let loss = TrainingLoss(head: "h", kind: kind, weight: 1.5)
            let (_, g) = try loss.evaluate(pred: pred, target: target, mask: mask, rows: rows, dim: dim)
            for i in 0..<pred.count {
                var p = pred, m = pred
                let h: Float = 1e-2
                p[i] += h; m[i] -= h
                let lp = try loss.evaluate(pred: p, target: target, mask: mask, rows: rows, dim: dim).loss
                let lm = try loss.evaluate(pred: m, target: target, mask: mask, rows: rows, dim: dim).loss
                let fd = 1.5 * (lp - lm) / Double(2 * h)
                #expect(Swift.abs(Double(g[i]) - fd) <= 2e-3 * Swift.max(1, Swift.abs(fd)), "\(kind) d/dpred[\(i)] \(g[i]) vs fd \(fd)")
            }
        }
    }

    @Test func noSupervisedRowGivesZero() throws {
        let (v, g) = try TrainingLoss(head: "h", kind: .cosine).evaluate(pred: [1, 2], target: [3, 4], mask: [0], rows: 1, dim: 2)
        #expect(v == 0 && g == [0, 0])
    }

    @Test func selectorsAndGroups() throws {
        typealias S = ParameterGroupSpec.Selector
        #expect(S.glob("*.bn.weight").matches("block1.0.norm1.bn.weight"))
        #expect(!S.glob("*.bn.weight").matches("block1.0.norm1.bn.bias"))
        #expect(S.glob("final*").matches("final_dinov2.kernel"))
        #expect(S.glob("block?.0.*").matches("block2.0.conv1.kernel"))
        #expect(!S.glob("block?.0.*").matches("block12.0.conv1.kernel"))
        #expect(S.prefix("final").matches("final.bias") && S.exact("final.bias").matches("final.bias") && !S.exact("final").matches("final.bias"))
        let set = try makeSet()
        let g = try ParameterGroupSpec.resolve([ParameterGroupSpec(name: "bn", selectors: [.glob("*.bn.*")], weightDecay: 0)],
                                               over: set, defaultLR: 0.1, defaultWeightDecay: 0.01)
        #expect(g.count == 2 && g[0].entryIndices == [1, 2] && g[0].weightDecay == 0 && g[0].baseLR == 0.1)
        #expect(g[1].name == "default" && g[1].entryIndices == [0, 3, 4] && g[1].weightDecay == 0.01)
        #expect(throws: OV3DError.self) {
            try ParameterGroupSpec.resolve([ParameterGroupSpec(name: "typo", selectors: [.exact("fianl.bias")])], over: set, defaultLR: 0.1, defaultWeightDecay: 0)
        }
    }

    @Test func invalidHyperParametersAreRejected() throws {
        let set = try makeSet()
        let groups = try ParameterGroupSpec.resolve([], over: set, defaultLR: 0.1, defaultWeightDecay: 0)
        var c = Optimizer.Config(kind: .adam, lr: 0.1)
        c.betas = (1.0, 0.999)
        #expect(throws: OV3DError.self) { try Optimizer(c, groups: groups, over: set) }
        var s = Optimizer.Config(kind: .sgd, lr: 0.1)
        s.nesterov = true
        #expect(throws: OV3DError.self) { try Optimizer(s, groups: groups, over: set) }
        #expect(throws: OV3DError.self) { try Optimizer(Optimizer.Config(kind: .sgd, lr: .nan), groups: groups, over: set) }
        #expect(throws: OV3DError.self) { try LearningRateSchedule.step(stepSize: 0, gamma: 0.1).validate() }
    }
}
