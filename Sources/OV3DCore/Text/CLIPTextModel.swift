#if canImport(Glibc)
import Glibc
#endif

/// CLIP's text transformer: token + positional embeddings, pre-LN residual attention blocks with
/// a causal mask, QuickGELU (or GELU) MLP, final LayerNorm, pooling at the end token (the first
/// position of the largest token id, as `argmax`), text projection.
///
/// Immutable after loading; `encode` may run on any number of threads at once.
///
/// Computation: the causal mask means a position's output depends only on the tokens up to it,
/// so (1) each sequence is processed only up to its end token, (2) sequences sharing a prefix
/// (the `a {} in a scene` prompts all start with `<start> a`) share those rows, and (3) after
/// the last attention only the end rows go on. The result equals running all 77 positions of
/// every sequence. All rows of a batch form one matrix, so every Linear layer is one SGEMM.
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
        try ComputeKernels.checkEnvironment()
        let c = config
        let bn = tokens.count
        guard bn > 0 else { return [] }
        // lengths up to and including the end token (first position of the max id)
        var lens = [Int](repeating: 0, count: bn)
        for (b, seq) in tokens.enumerated() {
            try require(!seq.isEmpty, "token sequence \(b) is empty")
            try require(seq.count <= c.contextLength, "token sequence \(b) has \(seq.count) tokens; the model's context is \(c.contextLength)")
            var best = 0
            for (i, t) in seq.enumerated() {
                try require(t >= 0 && Int(t) < c.vocabularySize, "token id \(t) is outside the model's vocabulary of \(c.vocabularySize)")
                if t > seq[best] { best = i }
            }
            lens[b] = best + 1
        }
        // Prefix sharing: under the causal mask a position's state depends only on the tokens up
        // to it, so sequences that start alike ("a chair…", "a table…") share those rows. Each
        // distinct prefix is one row; its attention runs over the rows of its own prefix path.
        var nodeOf: [UInt64: Int32] = [:]          // (parent node + 1) << 32 | token → node
        var parent: [Int32] = [], depth: [Int32] = [], token: [Int32] = []
        var eotNode = [Int](repeating: 0, count: bn)
        for b in 0..<bn {
            var p: Int32 = -1
            for i in 0..<lens[b] {
                let key = UInt64(UInt32(bitPattern: p &+ 1)) << 32 | UInt64(UInt32(bitPattern: tokens[b][i]))
                if let n = nodeOf[key] { p = n; continue }
                let n = Int32(parent.count)
                nodeOf[key] = n
                parent.append(p); depth.append(Int32(i)); token.append(tokens[b][i])
                p = n
            }
            eotNode[b] = Int(p)
        }
        let nt = parent.count
        // flattened ancestor paths (root first) for attention
        var pathStart = [Int](repeating: 0, count: nt + 1)
        for n in 0..<nt { pathStart[n + 1] = pathStart[n] + Int(depth[n]) + 1 }
        var paths = [Int32](repeating: 0, count: pathStart[nt])
        for n in 0..<nt {
            var q = Int32(n)
            var k = pathStart[n + 1] - 1
            while q >= 0 { paths[k] = q; k -= 1; q = parent[Int(q)] }
        }
        let wd = c.width, m = c.mlpWidth
        Threads.setBLASThreads(threads)
        let nthreads = Threads.resolve(threads)

        var x = [Float](repeating: 0, count: nt * wd)
        for n in 0..<nt {
            let id = Int(token[n]), pos = Int(depth[n])
            for j in 0..<wd { x[n * wd + j] = w.tokenEmbedding[id * wd + j] + w.positional[pos * wd + j] }
        }
        var h = [Float](repeating: 0, count: nt * wd)
        var qkv = [Float](repeating: 0, count: nt * 3 * wd)
        var att = [Float](repeating: 0, count: nt * wd)
        var mid = [Float](repeating: 0, count: nt * m)
        let eps = c.layerNormEpsilon
        let hd = wd / c.heads
        let scale = 1 / Float(hd).squareRoot()
        var rows = nt
        let endRows = Array(Set(eotNode)).sorted()
        for (li, l) in w.layers.enumerated() {
            CLIPTextModel.layerNorm(x, into: &h, rows: nt, width: wd, weight: l.ln1w, bias: l.ln1b, eps: eps)
            CLIPTextModel.linear(h, rows: nt, inDim: wd, weight: l.inW, bias: l.inB, outDim: 3 * wd, into: &qkv)
            // causal self-attention per (prefix row, head); the last layer needs only the end rows
            let queries = li == w.layers.count - 1 ? endRows : Array(0..<nt)
            qkv.withUnsafeBufferPointer { q in
                att.withUnsafeMutableBufferPointer { o in
                    paths.withUnsafeBufferPointer { pp in
                        let qp = UncheckedSendable(q.baseAddress!), op = UncheckedSendable(o.baseAddress!)
                        let pt = UncheckedSendable(pp.baseAddress!)
                        parallelFor(queries.count * c.heads, threads: nthreads, minChunk: 32) { range in
                            var scores = [Float](repeating: 0, count: c.contextLength)
                            for item in range {
                                let n = queries[item / c.heads], hh = item % c.heads
                                CLIPTextModel.attend(qkv: qp.value, out: op.value, query: n, path: pt.value + pathStart[n],
                                                     pathLength: pathStart[n + 1] - pathStart[n], width: wd,
                                                     headOffset: hh * hd, headDim: hd, scale: scale, scores: &scores)
                            }
                        }
                    }
                }
            }
            if li == w.layers.count - 1 {
                // after the last attention only the end-token rows matter: keep those
                var xe = [Float](repeating: 0, count: bn * wd), ae = xe
                for b in 0..<bn {
                    let r = eotNode[b]
                    xe.replaceSubrange(b * wd..<(b + 1) * wd, with: x[r * wd..<(r + 1) * wd])
                    ae.replaceSubrange(b * wd..<(b + 1) * wd, with: att[r * wd..<(r + 1) * wd])
                }
                x = xe
                att = ae
                rows = bn
            }
            CLIPTextModel.linear(att, rows: rows, inDim: wd, weight: l.outW, bias: l.outB, outDim: wd, into: &x, accumulate: true)
            CLIPTextModel.layerNorm(x, into: &h, rows: rows, width: wd, weight: l.ln2w, bias: l.ln2b, eps: eps)
            CLIPTextModel.linear(h, rows: rows, inDim: wd, weight: l.fcW, bias: l.fcB, outDim: m, into: &mid)
            CLIPTextModel.activate(&mid, count: rows * m, c.activation, threads: nthreads)
            CLIPTextModel.linear(mid, rows: rows, inDim: m, weight: l.projW, bias: l.projB, outDim: wd, into: &x, accumulate: true)
        }
        // final LayerNorm of the end-token rows (x holds only those now), projection
        let pooled = x
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

    static func activate(_ a: inout [Float], count: Int, _ act: CLIPTextConfig.Activation, threads: Int) {
        a.withUnsafeMutableBufferPointer { p in
            let base = UncheckedSendable(p.baseAddress!)
            parallelFor(min(count, p.count), threads: threads, minChunk: 1 << 14) { range in
                let q = base.value
                switch act {
                case .quickGELU:
                    var i = range.lowerBound
                    while i + 8 <= range.upperBound {
                        let v = UnsafeRawPointer(q + i).loadUnaligned(as: SIMD8<Float>.self)
                        let r = v / (1 + fastExp(-1.702 * v))
                        UnsafeMutableRawPointer(q + i).storeBytes(of: r, as: SIMD8<Float>.self)
                        i += 8
                    }
                    while i < range.upperBound { let v = q[i]; q[i] = v / (1 + expf(-1.702 * v)); i += 1 }
                case .gelu:
                    for i in range { let v = q[i]; q[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752)) }
                }
            }
        }
    }

    /// One head of causal attention for the row `query`, whose prefix path (rows, root first,
    /// ending with `query`) is `path[0..<pathLength]`.
    static func attend(qkv: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, query: Int, path: UnsafePointer<Int32>,
                       pathLength: Int, width: Int, headOffset: Int, headDim: Int, scale: Float, scores: inout [Float]) {
        let stride = 3 * width
        let q = qkv + query * stride + headOffset
        var mx = -Float.infinity
        for j in 0..<pathLength {
            let k = qkv + Int(path[j]) * stride + width + headOffset
            var s: Float = 0
            for d in 0..<headDim { s += q[d] * k[d] }
            s *= scale
            scores[j] = s
            mx = max(mx, s)
        }
        var sum: Float = 0
        for j in 0..<pathLength { let e = expf(scores[j] - mx); scores[j] = e; sum += e }
        let inv = 1 / sum
        let o = out + query * width + headOffset
        for d in 0..<headDim { o[d] = 0 }
        for j in 0..<pathLength {
            let p = scores[j] * inv
            let v = qkv + Int(path[j]) * stride + 2 * width + headOffset
            for d in 0..<headDim { o[d] += p * v[d] }
        }
    }
}

/// exp(x) for 8 lanes: 2^n · p(r) with r = x − n·ln2 (Cody–Waite split) and a degree-7 Taylor
/// polynomial; relative error < 2e-7 on [-87, 88] (inputs are clamped there).
@inline(__always)
func fastExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let xc = x.clamped(lowerBound: SIMD8(repeating: -87), upperBound: SIMD8(repeating: 88))
    let n = (xc * 1.44269504088896341).rounded(.toNearestOrEven)
    let r = xc - n * 0.693359375 + n * 2.12194440e-4
    var p = SIMD8<Float>(repeating: 1.0 / 5040)
    p = p * r + 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let bits = (SIMD8<Int32>(truncatingIfNeeded: SIMD8<Int32>(n)) &+ 127) &<< 23
    return p * unsafeBitCast(bits, to: SIMD8<Float>.self)
}
