/// Loading a CLIP text tower's weights from the layouts ov3d understands, into one canonical form
/// (open_clip's orientation: Linear weights `[out, in]`, projection `[width, embed]`).
///
/// * open_clip / OpenAI state dicts: `token_embedding.weight`, `positional_embedding`,
///   `transformer.resblocks.N.{ln_1,attn.in_proj_*,attn.out_proj,ln_2,mlp.c_fc,mlp.c_proj}`,
///   `ln_final`, `text_projection` (optionally under `module.`, `model.`, `text.`, `clip.`), in any
///   container (safetensors; torch zip pickles through the checkpoint reader).
/// * Hugging Face `CLIPTextModelWithProjection` / `CLIPModel`: `text_model.embeddings...`,
///   `text_model.encoder.layers.N.{self_attn.{q,k,v,out}_proj,layer_norm1,mlp.fc1,mlp.fc2,layer_norm2}`,
///   `text_model.final_layer_norm`, `text_projection.weight`; `config.json` next to the file gives
///   heads, activation and epsilon.
/// * ov3d's own safetensors: the open_clip layout plus metadata `ov3d.clip_text.heads` /
///   `ov3d.clip_text.activation` (written by `CLIPTextModel.save`).
struct CLIPTextWeights {
    struct Layer {
        var ln1w: [Float], ln1b: [Float]
        var inW: [Float], inB: [Float]      // [3W, W], [3W]
        var outW: [Float], outB: [Float]    // [W, W], [W]
        var ln2w: [Float], ln2b: [Float]
        var fcW: [Float], fcB: [Float]      // [M, W], [M]
        var projW: [Float], projB: [Float]  // [W, M], [W]
    }

    var config: CLIPTextConfig
    var tokenEmbedding: [Float]   // [V, W]
    var positional: [Float]       // [C, W]
    var layers: [Layer]
    var lnFw: [Float], lnFb: [Float]
    var projection: [Float]?      // [W, E]

    static let maxLayers = 256

    /// Reads `sd`, detecting the layout. `hfConfig` is the parsed config.json of a Hugging Face
    /// checkpoint, if any.
    static func from(_ sd: StateDict, hfConfig: JSON?, options: CLIPTextLoadOptions) throws -> CLIPTextWeights {
        for p in ["", "module.", "model.", "clip."] where sd[p + "text_model.embeddings.token_embedding.weight"] != nil {
            return try huggingFace(sd, prefix: p, config: hfConfig, options: options)
        }
        for p in ["", "module.", "model.", "text.", "clip.", "module.text.", "model.text."] where sd[p + "token_embedding.weight"] != nil {
            return try openCLIP(sd, prefix: p, options: options)
        }
        let sample = sd.keys.prefix(4).joined(separator: ", ")
        throw OV3DError.format("not a CLIP text model: neither open_clip's 'token_embedding.weight' nor Hugging Face's 'text_model.embeddings.token_embedding.weight' is present (\(sd.count) tensors, e.g. \(sample))")
    }

    /// Fetches `key` as floats after checking its shape.
    private static func get(_ sd: StateDict, _ key: String, _ shape: [Int]) throws -> [Float] {
        let t = try sd.tensor(key)
        try requireFormat(t.dtype.isFloatingPoint, "tensor '\(key)' is \(t.dtype.rawValue), expected a floating type")
        try requireFormat(t.shape == shape, "tensor '\(key)' has shape \(t.shape), expected \(shape)")
        let f = t.floats()
        for v in f where !v.isFinite { throw OV3DError.format("tensor '\(key)' holds a non-finite value") }
        return f
    }

    private static func dims(_ sd: StateDict, _ key: String, rank: Int) throws -> [Int] {
        let t = try sd.tensor(key)
        try requireFormat(t.rank == rank && t.shape.allSatisfy { $0 > 0 }, "tensor '\(key)' has shape \(t.shape), expected rank \(rank)")
        return t.shape
    }

    private static func countLayers(_ sd: StateDict, _ probe: (Int) -> String) throws -> Int {
        var n = 0
        while n < maxLayers, sd[probe(n)] != nil { n += 1 }
        try requireFormat(n > 0, "no transformer layers found (missing '\(probe(0))')")
        return n
    }

    private static func resolveHeads(width: Int, stated: Int?, options: CLIPTextLoadOptions) throws -> Int {
        let h = options.heads ?? stated ?? max(1, width / 64)
        try require(h > 0 && width % h == 0, "\(h) attention heads do not divide the width \(width)")
        return h
    }

    static func openCLIP(_ sd: StateDict, prefix p: String, options: CLIPTextLoadOptions) throws -> CLIPTextWeights {
        let te = try dims(sd, p + "token_embedding.weight", rank: 2)
        let (v, w) = (te[0], te[1])
        let pe = try dims(sd, p + "positional_embedding", rank: 2)
        try requireFormat(pe[1] == w, "positional_embedding width \(pe[1]) differs from the token embedding's \(w)")
        let c = pe[0]
        let rb = p + "transformer.resblocks."
        let nl = try countLayers(sd, { rb + "\($0).attn.in_proj_weight" })
        let fc = try dims(sd, rb + "0.mlp.c_fc.weight", rank: 2)
        let m = fc[0]
        var stated: Int?
        if let s = sd.metadata("ov3d.clip_text.heads") { stated = Int(s) }
        var act = CLIPTextConfig.Activation.quickGELU
        if let a = sd.metadata("ov3d.clip_text.activation") {
            guard let x = CLIPTextConfig.Activation(rawValue: a) else { throw OV3DError.format("unknown activation '\(a)' in metadata") }
            act = x
        }
        var layers: [Layer] = []
        for i in 0..<nl {
            let k = rb + "\(i)."
            layers.append(Layer(
                ln1w: try get(sd, k + "ln_1.weight", [w]), ln1b: try get(sd, k + "ln_1.bias", [w]),
                inW: try get(sd, k + "attn.in_proj_weight", [3 * w, w]), inB: try get(sd, k + "attn.in_proj_bias", [3 * w]),
                outW: try get(sd, k + "attn.out_proj.weight", [w, w]), outB: try get(sd, k + "attn.out_proj.bias", [w]),
                ln2w: try get(sd, k + "ln_2.weight", [w]), ln2b: try get(sd, k + "ln_2.bias", [w]),
                fcW: try get(sd, k + "mlp.c_fc.weight", [m, w]), fcB: try get(sd, k + "mlp.c_fc.bias", [m]),
                projW: try get(sd, k + "mlp.c_proj.weight", [w, m]), projB: try get(sd, k + "mlp.c_proj.bias", [w])))
        }
        var proj: [Float]?
        var e = w
        if let t = sd[p + "text_projection"] {
            try requireFormat(t.rank == 2 && t.shape[0] == w && t.shape[1] > 0, "text_projection has shape \(t.shape), expected [\(w), E]")
            e = t.shape[1]
            proj = try get(sd, p + "text_projection", [w, e])
        } else if let t = sd[p + "text_projection.weight"] {
            try requireFormat(t.rank == 2 && t.shape[1] == w && t.shape[0] > 0, "text_projection.weight has shape \(t.shape), expected [E, \(w)]")
            e = t.shape[0]
            proj = transpose(try get(sd, p + "text_projection.weight", [e, w]), rows: e, cols: w)
            try requireFormat(sd[p + "text_projection.bias"] == nil, "a text projection with a bias is not supported")
        }
        let cfg = CLIPTextConfig(vocabularySize: v, contextLength: c, width: w,
                                 heads: try resolveHeads(width: w, stated: stated, options: options),
                                 layers: nl, mlpWidth: m, embedDimension: e, activation: options.activation ?? act)
        return CLIPTextWeights(config: cfg, tokenEmbedding: try get(sd, p + "token_embedding.weight", [v, w]),
                               positional: try get(sd, p + "positional_embedding", [c, w]), layers: layers,
                               lnFw: try get(sd, p + "ln_final.weight", [w]), lnFb: try get(sd, p + "ln_final.bias", [w]),
                               projection: proj)
    }

    static func huggingFace(_ sd: StateDict, prefix p: String, config: JSON?, options: CLIPTextLoadOptions) throws -> CLIPTextWeights {
        let tm = p + "text_model."
        let te = try dims(sd, tm + "embeddings.token_embedding.weight", rank: 2)
        let (v, w) = (te[0], te[1])
        let pe = try dims(sd, tm + "embeddings.position_embedding.weight", rank: 2)
        try requireFormat(pe[1] == w, "position_embedding width \(pe[1]) differs from the token embedding's \(w)")
        let c = pe[0]
        let lp = tm + "encoder.layers."
        let nl = try countLayers(sd, { lp + "\($0).self_attn.q_proj.weight" })
        let m = try dims(sd, lp + "0.mlp.fc1.weight", rank: 2)[0]
        // config.json (of a CLIPTextModel or the text_config of a CLIPModel)
        let cfgJSON = config?["text_config"] ?? config
        var stated: Int?
        var act = CLIPTextConfig.Activation.quickGELU
        var eps: Float = 1e-5
        if let j = cfgJSON {
            if let h = j["num_attention_heads"]?.intValue { stated = h }
            if let a = j["hidden_act"]?.stringValue {
                switch a {
                case "quick_gelu": act = .quickGELU
                case "gelu": act = .gelu
                default: throw OV3DError.unsupported("hidden_act '\(a)' is not supported (quick_gelu, gelu)")
                }
            }
            if let e = j["layer_norm_eps"]?.doubleValue { eps = Float(e) }
            if let hs = j["hidden_size"]?.intValue { try requireFormat(hs == w, "config.json hidden_size \(hs) differs from the weights' width \(w)") }
        } else if options.heads == nil {
            Log.warn("CLIP text (Hugging Face layout) without config.json: assuming \(max(1, w / 64)) heads")
        }
        var layers: [Layer] = []
        for i in 0..<nl {
            let k = lp + "\(i)."
            let q = try get(sd, k + "self_attn.q_proj.weight", [w, w]), kk = try get(sd, k + "self_attn.k_proj.weight", [w, w])
            let vv = try get(sd, k + "self_attn.v_proj.weight", [w, w])
            let qb = try get(sd, k + "self_attn.q_proj.bias", [w]), kb = try get(sd, k + "self_attn.k_proj.bias", [w])
            let vb = try get(sd, k + "self_attn.v_proj.bias", [w])
            layers.append(Layer(
                ln1w: try get(sd, k + "layer_norm1.weight", [w]), ln1b: try get(sd, k + "layer_norm1.bias", [w]),
                inW: q + kk + vv, inB: qb + kb + vb,
                outW: try get(sd, k + "self_attn.out_proj.weight", [w, w]), outB: try get(sd, k + "self_attn.out_proj.bias", [w]),
                ln2w: try get(sd, k + "layer_norm2.weight", [w]), ln2b: try get(sd, k + "layer_norm2.bias", [w]),
                fcW: try get(sd, k + "mlp.fc1.weight", [m, w]), fcB: try get(sd, k + "mlp.fc1.bias", [m]),
                projW: try get(sd, k + "mlp.fc2.weight", [w, m]), projB: try get(sd, k + "mlp.fc2.bias", [w])))
        }
        var proj: [Float]?
        var e = w
        if let t = sd[p + "text_projection.weight"] {
            try requireFormat(t.rank == 2 && t.shape[1] == w && t.shape[0] > 0, "text_projection.weight has shape \(t.shape), expected [E, \(w)]")
            e = t.shape[0]
            proj = transpose(try get(sd, p + "text_projection.weight", [e, w]), rows: e, cols: w)
        }
        let cfg = CLIPTextConfig(vocabularySize: v, contextLength: c, width: w,
                                 heads: try resolveHeads(width: w, stated: stated, options: options),
                                 layers: nl, mlpWidth: m, embedDimension: e, activation: options.activation ?? act,
                                 layerNormEpsilon: eps)
        return CLIPTextWeights(config: cfg, tokenEmbedding: try get(sd, tm + "embeddings.token_embedding.weight", [v, w]),
                               positional: try get(sd, tm + "embeddings.position_embedding.weight", [c, w]), layers: layers,
                               lnFw: try get(sd, tm + "final_layer_norm.weight", [w]), lnFb: try get(sd, tm + "final_layer_norm.bias", [w]),
                               projection: proj)
    }

    /// The open_clip-layout state dict (ov3d's own format), with metadata for what weights cannot say.
    func stateDict() throws -> StateDict {
        var sd = StateDict()
        let w = config.width, m = config.mlpWidth
        sd.set("token_embedding.weight", try Tensor(tokenEmbedding, shape: [config.vocabularySize, w]))
        sd.set("positional_embedding", try Tensor(positional, shape: [config.contextLength, w]))
        for (i, l) in layers.enumerated() {
            let k = "transformer.resblocks.\(i)."
            sd.set(k + "ln_1.weight", try Tensor(l.ln1w, shape: [w])); sd.set(k + "ln_1.bias", try Tensor(l.ln1b, shape: [w]))
            sd.set(k + "attn.in_proj_weight", try Tensor(l.inW, shape: [3 * w, w])); sd.set(k + "attn.in_proj_bias", try Tensor(l.inB, shape: [3 * w]))
            sd.set(k + "attn.out_proj.weight", try Tensor(l.outW, shape: [w, w])); sd.set(k + "attn.out_proj.bias", try Tensor(l.outB, shape: [w]))
            sd.set(k + "ln_2.weight", try Tensor(l.ln2w, shape: [w])); sd.set(k + "ln_2.bias", try Tensor(l.ln2b, shape: [w]))
            sd.set(k + "mlp.c_fc.weight", try Tensor(l.fcW, shape: [m, w])); sd.set(k + "mlp.c_fc.bias", try Tensor(l.fcB, shape: [m]))
            sd.set(k + "mlp.c_proj.weight", try Tensor(l.projW, shape: [w, m])); sd.set(k + "mlp.c_proj.bias", try Tensor(l.projB, shape: [w]))
        }
        sd.set("ln_final.weight", try Tensor(lnFw, shape: [w])); sd.set("ln_final.bias", try Tensor(lnFb, shape: [w]))
        if let projection { sd.set("text_projection", try Tensor(projection, shape: [w, config.embedDimension])) }
        sd.setMetadata("ov3d.format", "clip_text")
        sd.setMetadata("ov3d.clip_text.heads", "\(config.heads)")
        sd.setMetadata("ov3d.clip_text.activation", config.activation.rawValue)
        return sd
    }
}

func transpose(_ a: [Float], rows: Int, cols: Int) -> [Float] {
    var t = [Float](repeating: 0, count: a.count)
    for r in 0..<rows { for c in 0..<cols { t[c * rows + r] = a[r * cols + c] } }
    return t
}
