/// The run description of `ov3d train --config RUN.json` (every key: docs/training.md).
///
/// Parsing validates every value and names the key (`optimizer.betas[1]`, `data.scenes[2].coords`)
/// in errors; unknown keys are reported as warnings (`warnings`), not errors. Relative paths
/// resolve against the config file's folder.
public struct TrainingConfig: Sendable {
    public struct Model: Sendable {
        public var architecture: String
        public var inChannels: Int
        /// Output heads in order (name, width).
        public var heads: [(name: String, dim: Int)]
        /// Whether the `final` head has a bias (`final.bias`; MinkowskiEngine's example MinkUNets).
        public var finalBias: Bool
        /// Initial weights (safetensors or torch .pth); nil: seeded kaiming init.
        public var initPath: String?
    }

    public var model: Model
    public var scenes: [TrainingSceneSpec]
    public var batchSize: Int
    public var shuffle: Bool
    /// nil: no augmentation.
    public var augmentation: TrainingAugmentation?
    /// `data.crop_points`: a scene with more rows (points of a point scene, voxels of a voxel
    /// scene) keeps this many, a seeded vertical column (`PointCrop`), per scene and step; nil: no crop.
    public var cropPoints: Int? = nil
    public var losses: [TrainingLoss]
    public var optimizer: Optimizer.Config
    public var paramGroups: [ParameterGroupSpec]
    public var schedule: LearningRateSchedule
    public var clipGradNorm: Double?
    /// Total steps of the run (a resumed run continues up to it).
    public var steps: Int
    public var seed: UInt64
    /// 0: all cores.
    public var threads: Int
    /// Final weights (safetensors, every state-dict key).
    public var out: String?
    /// A torch `.pth` of the final state dict, keys prefixed by `exportPrefix`.
    public var exportPth: String?
    public var exportPrefix: String
    /// Training state for resuming (weights, BN buffers, optimizer state, step, RNG, scene order),
    /// written after the last step (and every `saveEvery` steps when > 0).
    public var saveState: String?
    public var saveEvery: Int
    /// A training state to continue from.
    public var resume: String?
    /// Unknown keys and other non-fatal remarks.
    public var warnings: [String]

    /// Reads and parses `path`.
    public static func load(path: String) throws -> TrainingConfig {
        let bytes = try FileIO.read(path, maxBytes: 64 << 20)
        let json: JSON
        do { json = try bytes.withUnsafeBytes { try JSON.parse(bytes: $0) } } catch let e as OV3DError {
            throw OV3DError.invalidArgument("\(path): not valid JSON: \(e.message)")
        }
        do { return try parse(json, baseDirectory: FileIO.directory(of: path)) } catch let e as OV3DError {
            throw OV3DError(e.status, "\(path): \(e.message)")
        }
    }

    /// Parses a config object; relative paths resolve against `baseDirectory`.
    public static func parse(_ json: JSON, baseDirectory: String) throws -> TrainingConfig {
        let log = WarningLog()
        let root = try Obj(json, "config", log)
        func path(_ s: String) -> String { FileIO.join(baseDirectory, s) }

        // model
        let m = try Obj(root.require("model"), "model", log)
        let arch = try m.string("architecture") ?? { throw OV3DError.invalidArgument("model.architecture is missing") }()
        let inCh = try m.int("in_channels", 1 ... 4096) ?? 3
        var heads: [(name: String, dim: Int)] = []
        if let h = m.value("heads") {
            guard let o = h.objectValue, !o.isEmpty else { throw OV3DError.invalidArgument("model.heads must be a non-empty object {name: width}") }
            for (k, v) in o {
                guard let d = v.intValue, d >= 1, d <= 1 << 16 else { throw OV3DError.invalidArgument("model.heads.\(k) must be an integer width 1...65536") }
                try require(!k.isEmpty, "model.heads: empty head name")
                heads.append((k, d))
            }
        } else {
            heads = [("final", 512)]
        }
        let model = Model(architecture: arch, inChannels: inCh, heads: heads,
                          finalBias: try m.bool("final_bias") ?? false, initPath: try m.string("init").map(path))
        m.finish()

        // data
        let d = try Obj(root.require("data"), "data", log)
        let defaultVoxel = try d.double("voxel_size")
        guard let sa = d.value("scenes")?.arrayValue, !sa.isEmpty else { throw OV3DError.invalidArgument("data.scenes must be a non-empty array") }
        try require(sa.count <= 1 << 20, "data.scenes has too many entries")
        var scenes: [TrainingSceneSpec] = []
        for (i, sj) in sa.enumerated() {
            let label = "data.scenes[\(i)]"
            let s = try Obj(sj, label, log)
            let geometry: TrainingSceneSpec.Geometry
            switch (try s.string("coords"), try s.string("points")) {
            case let (c?, nil):
                geometry = .voxels(path(c))
                if s.value("voxel_size") != nil { s.warn("\(label).voxel_size applies to points only; ignored") }
            case let (nil, p?):
                guard let vs = try s.double("voxel_size") ?? defaultVoxel else {
                    throw OV3DError.invalidArgument("\(label): points need voxel_size (in the scene or data.voxel_size)")
                }
                try require(vs.isFinite && vs > 0 && vs < 1000, "\(label).voxel_size must be a positive length in metres, got \(vs)")
                geometry = .points(path(p), voxelSize: vs)
            case (_?, _?): throw OV3DError.invalidArgument("\(label): give coords or points, not both")
            case (nil, nil): throw OV3DError.invalidArgument("\(label): needs coords (N×3 voxels) or points (P×3 metres)")
            }
            var targets: [String: String] = [:]
            if let t = s.value("targets") {
                guard let o = t.objectValue else { throw OV3DError.invalidArgument("\(label).targets must be an object {head: file}") }
                for (k, v) in o {
                    guard let f = v.stringValue else { throw OV3DError.invalidArgument("\(label).targets.\(k) must be a file name") }
                    try require(heads.contains { $0.name == k }, "\(label).targets.\(k): the model has no head '\(k)'")
                    targets[k] = path(f)
                }
            }
            let spec = TrainingSceneSpec(geometry: geometry, features: try s.string("features").map(path), targets: targets,
                                         mask: try s.string("mask").map(path), label: label)
            // Fail before any training when a file is missing (contents are checked when a step reads them).
            var files: [(String, String)] = []
            switch geometry {
            case .voxels(let c): files.append(("coords", c))
            case .points(let p, _): files.append(("points", p))
            }
            if let f = spec.features { files.append(("features", f)) }
            if let m = spec.mask { files.append(("mask", m)) }
            files += targets.sorted { $0.key < $1.key }.map { ("targets.\($0.key)", $0.value) }
            for (k, f) in files where !FileIO.exists(f) {
                throw OV3DError.io("\(label).\(k): cannot open \(f)")
            }
            scenes.append(spec)
            s.finish()
        }
        let batchSize = try d.int("batch_size", 1 ... 4096) ?? 1
        let shuffle = try d.bool("shuffle") ?? false
        var augmentation: TrainingAugmentation? = nil
        if let a = d.value("augment") {
            if let b = a.boolValue {
                augmentation = b ? TrainingAugmentation() : nil
            } else {
                let ao = try Obj(a, "data.augment", log)
                var aug = TrainingAugmentation()
                aug.flip = try ao.bool("flip") ?? true
                aug.rotate = try ao.bool("rotate") ?? true
                if let sv = ao.value("scale") {
                    if sv.boolValue == false { aug.scale = nil } else {
                        guard let arr = sv.arrayValue, arr.count == 2, let lo = arr[0].doubleValue, let hi = arr[1].doubleValue,
                              lo.isFinite, hi.isFinite, lo > 0, lo <= hi, hi < 100 else {
                            throw OV3DError.invalidArgument("data.augment.scale must be [lo, hi] with 0 < lo <= hi, or false")
                        }
                        aug.scale = lo ... hi
                    }
                }
                aug.translate = try ao.int("translate", 0 ... 100_000) ?? 100
                aug.elastic = try ao.bool("elastic") ?? false
                ao.finish()
                augmentation = aug
            }
        }
        let cropPoints = try d.int("crop_points", 0 ... Int(Int32.max)).flatMap { $0 == 0 ? nil : $0 }
        d.finish()

        // loss
        // An empty loss object is allowed: a recipe's objective (recipe.type sas_stage2) supervises without targets.
        guard let lo = root.value("loss")?.objectValue else { throw OV3DError.invalidArgument("loss must be an object {head: {type, weight}}") }
        var losses: [TrainingLoss] = []
        for (head, lj) in lo {
            let l = try Obj(lj, "loss.\(head)", log)
            try require(heads.contains { $0.name == head }, "loss.\(head): the model has no head '\(head)' (model.heads: \(heads.map(\.name).joined(separator: ", ")))")
            guard let ts = try l.string("type") else { throw OV3DError.invalidArgument("loss.\(head).type is missing (cosine, l1 or mse)") }
            guard let kind = TrainingLoss.Kind(rawValue: ts) else { throw OV3DError.invalidArgument("loss.\(head).type '\(ts)' is not one of \(TrainingLoss.Kind.allCases.map(\.rawValue).joined(separator: ", "))") }
            let w = try l.double("weight") ?? 1
            try require(w.isFinite, "loss.\(head).weight must be finite")
            losses.append(TrainingLoss(head: head, kind: kind, weight: w))
            l.finish()
        }
        for (i, s) in scenes.enumerated() {
            for l in losses where s.targets[l.head] == nil {
                throw OV3DError.invalidArgument("data.scenes[\(i)].targets: no file for head '\(l.head)', which has a loss")
            }
        }

        // optimizer
        let o = try Obj(root.require("optimizer"), "optimizer", log)
        guard let ot = try o.string("type") else { throw OV3DError.invalidArgument("optimizer.type is missing (adam, adamw or sgd)") }
        guard let kind = Optimizer.Kind(rawValue: ot) else { throw OV3DError.invalidArgument("optimizer.type '\(ot)' is not one of adam, adamw, sgd") }
        guard let lr = try o.double("lr") else { throw OV3DError.invalidArgument("optimizer.lr is missing") }
        var oc = Optimizer.Config(kind: kind, lr: lr)
        oc.weightDecay = kind == .adamw ? 0.01 : 0  // torch's defaults
        if let b = o.value("betas") {
            guard let a = b.arrayValue, a.count == 2, let b0 = a[0].doubleValue, let b1 = a[1].doubleValue else {
                throw OV3DError.invalidArgument("optimizer.betas must be [beta1, beta2]")
            }
            oc.betas = (b0, b1)
        }
        if let v = try o.double("eps") { oc.eps = v }
        if let v = try o.double("weight_decay") { oc.weightDecay = v }
        if let v = try o.double("momentum") { oc.momentum = v }
        if let v = try o.double("dampening") { oc.dampening = v }
        if let v = try o.bool("nesterov") { oc.nesterov = v }
        if let v = try o.bool("amsgrad") { oc.amsgrad = v }
        if kind != .sgd {
            for k in ["momentum", "dampening", "nesterov"] where o.value(k) != nil { o.warn("optimizer.\(k) applies to sgd only; ignored") }
        } else {
            for k in ["betas", "eps", "amsgrad"] where o.value(k) != nil { o.warn("optimizer.\(k) applies to adam/adamw only; ignored") }
        }
        try oc.validate()
        var groups: [ParameterGroupSpec] = []
        if let pg = o.value("param_groups") {
            guard let arr = pg.arrayValue else { throw OV3DError.invalidArgument("optimizer.param_groups must be an array") }
            for (i, gj) in arr.enumerated() {
                let label = "optimizer.param_groups[\(i)]"
                let g = try Obj(gj, label, log)
                var sel: [ParameterGroupSpec.Selector] = []
                sel += try g.strings("names").map { .exact($0) }
                sel += try g.strings("prefixes").map { .prefix($0) }
                sel += try g.strings("globs").map { .glob($0) }
                try require(!sel.isEmpty, "\(label) selects nothing: give names, prefixes or globs")
                groups.append(ParameterGroupSpec(name: try g.string("name") ?? "group \(i)", selectors: sel,
                                                 lr: try g.double("lr"), weightDecay: try g.double("weight_decay")))
                g.finish()
            }
        }
        o.finish()

        // steps, schedule
        guard let steps = try root.int("steps", 0 ... 100_000_000) else { throw OV3DError.invalidArgument("steps is missing") }
        var schedule = LearningRateSchedule.constant
        if let sj = root.value("schedule") {
            let s = try Obj(sj, "schedule", log)
            let t = try s.string("type") ?? "constant"
            switch t {
            case "constant": break
            case "step":
                guard let ss = try s.int("step_size", 1 ... Int(Int32.max)) else { throw OV3DError.invalidArgument("schedule.step_size is missing") }
                schedule = .step(stepSize: ss, gamma: try s.double("gamma") ?? 0.1)
            case "poly":
                schedule = .poly(power: try s.double("power") ?? 0.9, maxSteps: try s.int("max_steps", 1 ... Int(Int32.max)) ?? max(1, steps))
            case "cosine":
                schedule = .cosine(tMax: try s.int("t_max", 1 ... Int(Int32.max)) ?? max(1, steps), etaMin: try s.double("eta_min") ?? 0)
            default:
                throw OV3DError.invalidArgument("schedule.type '\(t)' is not one of constant, step, poly, cosine")
            }
            try schedule.validate()
            s.finish()
        }
        let clip = try root.double("clip_grad_norm")
        if let c = clip { try require(c.isFinite && c > 0, "clip_grad_norm must be a positive number, got \(c)") }
        let seed = try root.int("seed", 0 ... Int(Int64.max)) ?? 0
        let threads = try root.int("threads", 0 ... 256) ?? 1
        let cfg = TrainingConfig(
            model: model, scenes: scenes, batchSize: batchSize, shuffle: shuffle, augmentation: augmentation,
            cropPoints: cropPoints, losses: losses, optimizer: oc, paramGroups: groups, schedule: schedule, clipGradNorm: clip,
            steps: steps, seed: UInt64(seed), threads: threads,
            out: try root.string("out").map(path), exportPth: try root.string("export_pth").map(path),
            exportPrefix: try root.value("export_pth_prefix").map {
                guard let s = $0.stringValue else { throw OV3DError.invalidArgument("export_pth_prefix must be a string") }
                return s
            } ?? "",
            saveState: try root.string("save_state").map(path), saveEvery: try root.int("save_every", 0 ... Int(Int32.max)) ?? 0,
            resume: try root.string("resume").map(path), warnings: [])
        root.finish()
        var out = cfg
        out.warnings = log.items
        if out.out == nil && out.exportPth == nil && out.saveState == nil {
            out.warnings.append("no out, export_pth or save_state: the trained weights are not written")
        }
        return out
    }

    final class WarningLog { var items: [String] = [] }

    /// A JSON object being read: typed getters that name the key, and a record of the keys read
    /// (the rest become warnings in `finish`).
    final class Obj {
        let pairs: [(String, JSON)]
        let name: String
        var used: Set<String> = []
        let log: WarningLog

        init(_ j: JSON, _ name: String, _ log: WarningLog) throws {
            guard let o = j.objectValue else { throw OV3DError.invalidArgument("\(name) must be a JSON object") }
            pairs = o; self.name = name; self.log = log
        }
        func value(_ k: String) -> JSON? {
            used.insert(k)
            guard let v = pairs.first(where: { $0.0 == k })?.1 else { return nil }
            if case .null = v { return nil }
            return v
        }
        func require(_ k: String) throws -> JSON {
            guard let v = value(k) else { throw OV3DError.invalidArgument("\(name == "config" ? "" : name + ".")\(k) is missing") }
            return v
        }
        func key(_ k: String) -> String { name == "config" ? k : "\(name).\(k)" }
        func string(_ k: String) throws -> String? {
            guard let v = value(k) else { return nil }
            guard let s = v.stringValue, !s.isEmpty else { throw OV3DError.invalidArgument("\(key(k)) must be a non-empty string") }
            return s
        }
        func strings(_ k: String) throws -> [String] {
            guard let v = value(k) else { return [] }
            guard let a = v.arrayValue else { throw OV3DError.invalidArgument("\(key(k)) must be an array of strings") }
            return try a.map {
                guard let s = $0.stringValue, !s.isEmpty else { throw OV3DError.invalidArgument("\(key(k)) must be an array of non-empty strings") }
                return s
            }
        }
        func double(_ k: String) throws -> Double? {
            guard let v = value(k) else { return nil }
            guard let d = v.doubleValue, d.isFinite else { throw OV3DError.invalidArgument("\(key(k)) must be a finite number") }
            return d
        }
        func int(_ k: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let v = value(k) else { return nil }
            guard let i = v.intValue, range.contains(i) else {
                throw OV3DError.invalidArgument("\(key(k)) must be an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return i
        }
        func bool(_ k: String) throws -> Bool? {
            guard let v = value(k) else { return nil }
            guard let b = v.boolValue else { throw OV3DError.invalidArgument("\(key(k)) must be true or false") }
            return b
        }
        func warn(_ s: String) { log.items.append(s) }
        func finish() {
            for (k, _) in pairs where !used.contains(k) { warn("unknown key \(key(k)) (ignored)") }
        }
    }
}
