/// The `recipe` section of `ov3d train --config RUN.json` (docs/training.md "Recipes"): which
/// paper's recipe runs on top of the engine's keys, and its own settings. Everything else in the
/// file keeps its engine meaning. Relative paths resolve against the config file's folder.
///
/// ```json
/// "recipe": {
///   "type": "cua_o3d" | "sas_stage1" | "sas_stage2",
///   "epochs": 10, "loop": 5,
///   "uncertainty": "learned" | "fixed", "fixed_weights": [1, 1, 1], "sigma_init": 1.0,
///   "sigma_out": "awl.safetensors", "sigma_pth": "awl_model.pth.tar", "sigma_log": "sigma.jsonl",
///   "superpoints": ["sp0.npy", ...], "max_rows": 20000,
///   "text": "text.npy", "ema_momentum": 0.9999, "ema_half": true,
///   "eval": {"every_epochs": 1, "modes": ["distill", "fusion", "ensemble"], "head": "final",
///            "text": "text.npy", "voxel_size": 0.02, "convention": "openscene",
///            "scenes": [{"points": "p.npy", "labels": "l.npy", "fused": "f.npy", "fused_mask": "m.npy"}],
///            "best_out": "best.safetensors", "log": "eval.jsonl", "centred": false}
/// }
/// ```
public struct RecipeConfig: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case cuaO3D = "cua_o3d", sasStage1 = "sas_stage1", sasStage2 = "sas_stage2"
    }

    public struct EvalScene: Sendable {
        public var points: String
        public var labels: String
        public var fused: String?
        public var fusedMask: String?
    }

    public struct Eval: Sendable {
        public var everyEpochs: Int
        public var modes: [FeatureEnsemble.Mode]
        public var head: String
        public var text: String
        public var voxelSize: Double
        public var convention: MetricConvention
        public var scenes: [EvalScene]
        public var bestOut: String?
        public var log: String?
        /// The head was trained on centred text-space targets (`ov3d agglomerate --centre`): the
        /// ensemble modes take its features back into the text space first
        /// (`TextSpaceCentering.uncentred`). Distill labels are the same either way.
        public var centred: Bool = false
    }

    public var kind: Kind
    public var epochs: Int?
    public var loop: Int
    public var uncertainty: UncertaintyWeighting.Mode
    public var sigmaInit: Float
    public var sigmaOut: String?
    public var sigmaPth: String?
    public var sigmaLog: String?
    public var superpoints: [String]
    public var maxRows: Int?
    public var text: String?
    public var emaMomentum: Double
    public var emaHalf: Bool
    public var eval: Eval?

    /// Splits a run config into the engine's part (the `recipe` key removed; `steps` filled in
    /// from `recipe.epochs` when absent) and the recipe. Returns nil for the recipe when the
    /// file has none.
    public static func split(_ json: JSON, baseDirectory: String) throws -> (engine: JSON, recipe: RecipeConfig?) {
        guard let root = json.objectValue else { throw OV3DError.invalidArgument("config must be a JSON object") }
        guard let rj = root.first(where: { $0.0 == "recipe" })?.1 else { return (json, nil) }
        var rest = root.filter { $0.0 != "recipe" }
        let r = try parse(rj, baseDirectory: baseDirectory)
        if let e = r.epochs, !rest.contains(where: { $0.0 == "steps" }) {
            let data = rest.first(where: { $0.0 == "data" })?.1
            let scenes = data?["scenes"]?.arrayValue?.count ?? 0
            let batch = data?["batch_size"]?.intValue ?? 1
            try require(scenes > 0 && batch > 0, "recipe.epochs needs data.scenes and a positive data.batch_size")
            let steps = e * max(1, (scenes * r.loop) / batch)
            rest.append(("steps", .number(Double(steps))))
        }
        return (.object(rest), r)
    }

    /// Steps per epoch for `scenes` training scenes and `batchSize` (OpenScene's `drop_last`).
    public func stepsPerEpoch(scenes: Int, batchSize: Int) -> Int { max(1, (scenes * loop) / max(batchSize, 1)) }

    /// `max_rows`: absent = 20,000 (released), 0 = every row.
    static func maxRows(_ v: JSON?) throws -> Int? {
        guard let v else { return 20_000 }
        guard let i = v.intValue, i >= 0 else { throw OV3DError.invalidArgument("recipe.max_rows must be an integer >= 0 (0: every row)") }
        return i == 0 ? nil : i
    }

    static func parse(_ j: JSON, baseDirectory: String) throws -> RecipeConfig {
        guard let o = j.objectValue else { throw OV3DError.invalidArgument("recipe must be a JSON object") }
        let known: Set<String> = ["type", "epochs", "loop", "uncertainty", "fixed_weights", "sigma_init", "sigma_out", "sigma_pth",
                                  "sigma_log", "superpoints", "max_rows", "text", "ema_momentum", "ema_half", "eval"]
        for (k, _) in o where !known.contains(k) { throw OV3DError.invalidArgument("recipe.\(k) is not a recipe key (known: \(known.sorted().joined(separator: ", ")))") }
        func path(_ s: String) -> String { FileIO.join(baseDirectory, s) }
        func str(_ k: String, in v: JSON? = nil) throws -> String? {
            guard let x = (v ?? j)[k] else { return nil }
            guard let s = x.stringValue, !s.isEmpty else { throw OV3DError.invalidArgument("recipe.\(k) must be a non-empty string") }
            return s
        }
        func int(_ k: String, _ range: ClosedRange<Int>, in v: JSON? = nil, _ label: String = "recipe") throws -> Int? {
            guard let x = (v ?? j)[k] else { return nil }
            guard let i = x.intValue, range.contains(i) else { throw OV3DError.invalidArgument("\(label).\(k) must be an integer in \(range.lowerBound)...\(range.upperBound)") }
            return i
        }
        func bool(_ k: String, in v: JSON, _ label: String) throws -> Bool? {
            guard let x = v[k] else { return nil }
            guard let b = x.boolValue else { throw OV3DError.invalidArgument("\(label).\(k) must be true or false") }
            return b
        }
        guard let ts = try str("type"), let kind = Kind(rawValue: ts) else {
            throw OV3DError.invalidArgument("recipe.type must be one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var mode = UncertaintyWeighting.Mode.learned
        switch try str("uncertainty") ?? "learned" {
        case "learned": break
        case "fixed":
            var w: [Float] = []
            if let a = j["fixed_weights"] {
                guard let arr = a.arrayValue, !arr.isEmpty else { throw OV3DError.invalidArgument("recipe.fixed_weights must be an array of numbers") }
                w = try arr.map { v in
                    guard let d = v.doubleValue, d.isFinite, d >= 0 else { throw OV3DError.invalidArgument("recipe.fixed_weights must hold finite numbers >= 0") }
                    return Float(d)
                }
            }
            mode = .fixed(w)   // empty: one per head, filled in by the run
        case let other: throw OV3DError.invalidArgument("recipe.uncertainty '\(other)' is not learned or fixed")
        }
        var sps: [String] = []
        if let a = j["superpoints"] {
            guard let arr = a.arrayValue else { throw OV3DError.invalidArgument("recipe.superpoints must be an array of .npy files, one per data.scenes entry") }
            sps = try arr.map { v in
                guard let s = v.stringValue, !s.isEmpty else { throw OV3DError.invalidArgument("recipe.superpoints must hold file names") }
                return path(s)
            }
        }
        let sigmaInit = j["sigma_init"]?.doubleValue ?? 1
        try require(sigmaInit.isFinite && sigmaInit != 0, "recipe.sigma_init must be a finite non-zero number")
        let momentum = j["ema_momentum"]?.doubleValue ?? TemporalEnsemble.releasedMomentum
        try require(momentum >= 0 && momentum <= 1, "recipe.ema_momentum must be in [0, 1]")
        var evalCfg: Eval? = nil
        if let e = j["eval"] {
            guard e.objectValue != nil else { throw OV3DError.invalidArgument("recipe.eval must be an object") }
            guard let sa = e["scenes"]?.arrayValue, !sa.isEmpty else { throw OV3DError.invalidArgument("recipe.eval.scenes must be a non-empty array") }
            let scenes = try sa.enumerated().map { (i, s) -> EvalScene in
                guard let p = s["points"]?.stringValue, let l = s["labels"]?.stringValue else {
                    throw OV3DError.invalidArgument("recipe.eval.scenes[\(i)] needs points (P×3 .npy) and labels (P ints, 255 = ignore)")
                }
                return EvalScene(points: path(p), labels: path(l), fused: s["fused"]?.stringValue.map(path), fusedMask: s["fused_mask"]?.stringValue.map(path))
            }
            let modes = try (e["modes"]?.arrayValue ?? [.string("distill")]).map { m -> FeatureEnsemble.Mode in
                switch m.stringValue {
                case "distill": return .distill
                case "fusion": return .fusion
                case "ensemble": return .ensemble(.maxScore)
                case "ensemble_average": return .ensemble(.average)
                default: throw OV3DError.invalidArgument("recipe.eval.modes: '\(m)' is not distill, fusion, ensemble or ensemble_average")
                }
            }
            let topText = try str("text")
            guard let text = e["text"]?.stringValue ?? topText else { throw OV3DError.invalidArgument("recipe.eval.text (K×D class embeddings .npy) is missing") }
            let conv: MetricConvention
            switch e["convention"]?.stringValue ?? "openscene" {
            case "openscene": conv = .openScene
            case "standard": conv = .standard
            case let c: throw OV3DError.invalidArgument("recipe.eval.convention '\(c)' is not openscene or standard")
            }
            let vs = e["voxel_size"]?.doubleValue ?? 0.02
            try require(vs.isFinite && vs > 0, "recipe.eval.voxel_size must be a positive length")
            evalCfg = Eval(everyEpochs: try int("every_epochs", 1...1_000_000, in: e, "recipe.eval") ?? 1, modes: modes,
                           head: e["head"]?.stringValue ?? "final", text: path(text), voxelSize: vs, convention: conv,
                           scenes: scenes, bestOut: e["best_out"]?.stringValue.map(path), log: e["log"]?.stringValue.map(path),
                           centred: try bool("centred", in: e, "recipe.eval") ?? false)
        }
        return RecipeConfig(kind: kind, epochs: try int("epochs", 1...1_000_000), loop: try int("loop", 1...10_000) ?? 1,
                            uncertainty: mode, sigmaInit: Float(sigmaInit), sigmaOut: try str("sigma_out").map(path),
                            sigmaPth: try str("sigma_pth").map(path), sigmaLog: try str("sigma_log").map(path),
                            superpoints: sps, maxRows: try maxRows(j["max_rows"]),
                            text: try str("text").map(path), emaMomentum: momentum, emaHalf: j["ema_half"]?.boolValue ?? true, eval: evalCfg)
    }
}
