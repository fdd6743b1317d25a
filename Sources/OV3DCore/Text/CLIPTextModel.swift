#if canImport(Glibc)
import Glibc
#endif

/// CLIP's text transformer: token + positional embeddings, pre-LN residual attention blocks with
/// a causal mask, QuickGELU (or GELU) MLP, final LayerNorm, pooling at the end token (the first
/// position of the largest token id, as `argmax`), text projection.
///
/// Immutable after loading; `encode` may run on any number of threads at once.
///
/// Computation: the causal mask means the end token's output never depends on later positions,
/// so each sequence is processed only up to its end token (identical result to running all 77
/// positions), and all sequences of a batch are packed into one matrix so every Linear layer is
/// a single SGEMM.
public final class CLIPTextModel: Sendable {
    public let config: CLIPTextConfig
    let w: CLIPTextWeights

    init(weights: CLIPTextWeights) { self.w = weights; self.config = weights.config }

    /// Loads a text tower from a file (safetensors, or a torch zip checkpoint when the checkpoint
    /// reader is available) or a Hugging Face `save_pretrained` directory. Throws `.format` naming
    /// what is missing when the file is not a CLIP text model.
    public convenience init(path: String, options: CLIPTextLoadOptions = CLIPTextLoadOptions()) throws {
        var file = path
        if CLIPTextModel.isDirectory(path) { file = FileIO.join(path, "model.safetensors") }
        do {
            let sd = try CheckpointReader.load(path: file)
            var hf: JSON?
            let cfgPath = FileIO.join(FileIO.directory(of: file), "config.json")
            if sd.keys.contains(where: { $0.contains("text_model.embeddings.") }), FileIO.exists(cfgPath) {
                let bytes = try FileIO.read(cfgPath, maxBytes: 1 << 20)
                hf = try bytes.withUnsafeBytes { try JSON.parse(bytes: $0) }
            }
            self.init(weights: try CLIPTextWeights.from(sd, hfConfig: hf, options: options))
        } catch let e as OV3DError { throw e.context("CLIP text weights \(path)") }
    }

    /// Writes the weights as ov3d's own safetensors (open_clip key names, float32, metadata for
    /// heads and activation).
    public func save(path: String) throws {
        try Safetensors.write(try w.stateDict(), path: path)
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Text embeddings (not normalised), `tokens.count × embedDimension`, for sequences of token
    /// ids (each at most `contextLength` long, ids below `vocabularySize`).
    public func encode(tokens: [[Int32]], threads: Int = 0) throws -> [Float] {
        let c = config
        let bn = tokens.count
        guard bn > 0 else { return [] }
        // lengths up to and including the end token (first position of the max id)
        var lens = [Int](repeating: 0, count: bn)
        var offs = [Int](repeating: 0, count: bn + 1)
        for (b, seq) in tokens.enumerated() {
            try require(!seq.isEmpty, "token sequence \(b) is empty")
            try require(seq.count <= c.contextLength, "token sequence \(b) has \(seq.count) tokens; the model's context is \(c.contextLength)")
            var best = 0
            for (i, t) in seq.enumerated() {
                try require(t >= 0 && Int(t) < c.vocabularySize, "token id \(t) is outside the model's vocabulary of \(c.vocabularySize)")
                if t > seq[best] { best = i }
            }
            lens[b] = best + 1
            offs[b + 1] = offs[b] + best + 1
        }
        let nt = offs[bn]
        let wd = c.width, m = c.mlpWidth
        Threads.setBLASThreads(threads)
        let nthreads = Threads.resolve(threads)

        var x = [Float](repeating: 0, count: nt * wd)
        for b in 0..<bn {
            for i in 0..<lens[b] {
                let id = Int(tokens[b][i])
                let row = (offs[b] + i) * wd
                for j in 0..<wd { x[row + j] = w.tokenEmbedding[id * wd + j] + w.positional[i * wd + j] }
            }
        }
        var h = [Float](repeating: 0, count: nt * wd)
        var qkv = [Float](repeating: 0, count: nt * 3 * wd)
        var att = [Float](repeating: 0, count: nt * wd)
        var mid = [Float](repeating: 0, count: nt * m)
        let eps = c.layerNormEpsilon
        let hd = wd / c.heads
        let scale = 1 / Float(hd).squareRoot()
        for l in w.layers {
            CLIPTextModel.layerNorm(x, into: &h, rows: nt, width: wd, weight: l.ln1w, bias: l.ln1b, eps: eps)
            CLIPTextModel.linear(h, rows: nt, inDim: wd, weight: l.inW, bias: l.inB, outDim: 3 * wd, into: &qkv)
            // causal self-attention per (sequence, head)
            qkv.withUnsafeBufferPointer { q in
                att.withUnsafeMutableBufferPointer { o in
                    let qp = UncheckedSendable(q.baseAddress!), op = UncheckedSendable(o.baseAddress!)
                    let work = bn * c.heads
                    parallelFor(work, threads: nthreads, minChunk: max(1, 64 / max(1, nt / bn))) { range in
                        var scores = [Float](repeating: 0, count: c.contextLength)
                        for item in range {
                            let b = item / c.heads, hh = item % c.heads
                            CLIPTextModel.attend(qkv: qp.value, out: op.value, start: offs[b], length: lens[b], width: wd,
                                                 headOffset: hh * hd, headDim: hd, scale: scale, scores: &scores)
                        }
                    }
                }
            }
            CLIPTextModel.linear(att, rows: nt, inDim: wd, weight: l.outW, bias: l.outB, outDim: wd, into: &x, accumulate: true)
            CLIPTextModel.layerNorm(x, into: &h, rows: nt, width: wd, weight: l.ln2w, bias: l.ln2b, eps: eps)
            CLIPTextModel.linear(h, rows: nt, inDim: wd, weight: l.fcW, bias: l.fcB, outDim: m, into: &mid)
            CLIPTextModel.activate(&mid, c.activation, threads: nthreads)
            CLIPTextModel.linear(mid, rows: nt, inDim: m, weight: l.projW, bias: l.projB, outDim: wd, into: &x, accumulate: true)
        }
        // final LayerNorm of the end-token rows, projection
        var pooled = [Float](repeating: 0, count: bn * wd)
        for b in 0..<bn {
            let r = offs[b + 1] - 1
            pooled.replaceSubrange(b * wd..<(b + 1) * wd, with: x[r * wd..<(r + 1) * wd])
        }
        var normed = [Float](repeating: 0, count: bn * wd)
        CLIPTextModel.layerNorm(pooled, into: &normed, rows: bn, width: wd, weight: w.lnFw, bias: w.lnFb, eps: eps)
        guard let p = w.projection else { return normed }
        return GEMM.multiply(normed, p, m: bn, k: wd, n: c.embedDimension)
    }

    // MARK: kernels

    /// out[rows × outDim] (+)= a[rows × inDim] · weightᵀ + bias, weight `[outDim, inDim]`.
    static func linear(_ a: [Float], rows: Int, inDim: Int, weight: [Float], bias: [Float], outDim: Int,
                       into out: inout [Float], accumulate: Bool = false) {
        out.withUnsafeMutableBufferPointer { o in
            if !accumulate {
                for r in 0..<rows { (o.baseAddress! + r * outDim).update(from: bias, count: outDim) }
            } else {
                for r in 0..<rows { for j in 0..<outDim { o[r * outDim + j] += bias[j] } }
            }
            a.withUnsafeBufferPointer { ap in
                weight.withUnsafeBufferPointer { wp in
                    GEMM.sgemm(transB: true, m: rows, n: outDim, k: inDim, a: ap.baseAddress!, lda: inDim,
                               b: wp.baseAddress!, ldb: inDim, beta: 1, c: o.baseAddress!, ldc: outDim)
                }
            }
        }
    }

    static func layerNorm(_ x: [Float], into out: inout [Float], rows: Int, width: Int, weight: [Float], bias: [Float], eps: Float) {
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                for r in 0..<rows {
                    let row = xp.baseAddress! + r * width
                    var mean: Float = 0
                    for j in 0..<width { mean += row[j] }
                    mean /= Float(width)
                    var v: Float = 0
                    for j in 0..<width { let d = row[j] - mean; v += d * d }
                    let inv = 1 / (v / Float(width) + eps).squareRoot()
                    let o = op.baseAddress! + r * width
                    for j in 0..<width { o[j] = (row[j] - mean) * inv * weight[j] + bias[j] }
                }
            }
        }
    }

    static func activate(_ a: inout [Float], _ act: CLIPTextConfig.Activation, threads: Int) {
        a.withUnsafeMutableBufferPointer { p in
            let base = UncheckedSendable(p.baseAddress!)
            parallelFor(p.count, threads: threads, minChunk: 1 << 14) { range in
                let q = base.value
                switch act {
                case .quickGELU:
                    for i in range { let v = q[i]; q[i] = v / (1 + expf(-1.702 * v)) }
                case .gelu:
                    for i in range { let v = q[i]; q[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752)) }
                }
            }
        }
    }

    /// One head of causal attention for one packed sequence (rows start..<start+length).
    static func attend(qkv: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, start: Int, length: Int, width: Int,
                       headOffset: Int, headDim: Int, scale: Float, scores: inout [Float]) {
        let stride = 3 * width
        for i in 0..<length {
            let q = qkv + (start + i) * stride + headOffset
            var mx = -Float.infinity
            for j in 0...i {
                let k = qkv + (start + j) * stride + width + headOffset
                var s: Float = 0
                for d in 0..<headDim { s += q[d] * k[d] }
                s *= scale
                scores[j] = s
                mx = max(mx, s)
            }
            var sum: Float = 0
            for j in 0...i { let e = expf(scores[j] - mx); scores[j] = e; sum += e }
            let inv = 1 / sum
            let o = out + (start + i) * width + headOffset
            for d in 0..<headDim { o[d] = 0 }
            for j in 0...i {
                let p = scores[j] * inv
                let v = qkv + (start + j) * stride + 2 * width + headOffset
                for d in 0..<headDim { o[d] += p * v[d] }
            }
        }
    }
}
