import Synchronization

/// How texts become embeddings: prompt template, normalisation, fp16 rounding.
public struct TextEncodeOptions: Sendable, Equatable {
    /// A template with one `{}` replaced by the text (e.g. "a {} in a scene"); nil = the bare text.
    public var template: String?
    /// L2-normalise each embedding (what CLIP scoring uses).
    public var normalize: Bool
    /// Round each value to the nearest IEEE half, as OpenScene's fp16 CLIP produces (applied
    /// after normalisation). The fp16 arithmetic inside OpenScene's CUDA model is not reproduced.
    public var roundToHalf: Bool
    /// 0 = all cores.
    public var threads: Int
    /// Answer from and fill the encoder's embedding cache.
    public var useCache = true

    public init(template: String? = nil, normalize: Bool = true, roundToHalf: Bool = false, threads: Int = 0) {
        self.template = template
        self.normalize = normalize
        self.roundToHalf = roundToHalf
        self.threads = threads
    }

    /// OpenScene's prompt.
    public static let openScenePrompt = "a {} in a scene"

    /// `template` with `{}` replaced by `text` (the first occurrence, as Python's `format`).
    public func prompt(_ text: String) -> String {
        guard let t = template, let r = t.range(of: "{}") else { return text }
        return String(t[..<r.lowerBound]) + text + String(t[r.upperBound...])
    }
}

extension String {
    fileprivate func range(of needle: String) -> Range<String.Index>? {
        guard !needle.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) { return i..<index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }
}

/// A CLIP tokenizer and text tower together, with an embedding cache keyed by the final text.
///
/// Thread-safe: any number of threads may call `encode` at once.
public final class TextEncoder: Sendable {
    public let tokenizer: CLIPTokenizer
    public let model: CLIPTextModel
    /// Raw (unnormalised) embeddings by prompt text.
    private let cache = Mutex<[String: [Float]]>([:])
    public static let cacheCapacity = 4096
    /// Largest batch accepted by one call.
    public static let maxBatch = 1 << 16

    public var dimension: Int { model.config.embedDimension }

    /// Checks that the tokenizer's ids fit the model (a different tokenizer/model pair is an error).
    public init(tokenizer: CLIPTokenizer, model: CLIPTextModel) throws {
        let c = model.config
        guard c.vocabularySize == tokenizer.vocabularySize else {
            throw OV3DError.format("the text model's vocabulary has \(c.vocabularySize) tokens but the CLIP tokenizer has \(tokenizer.vocabularySize): not a CLIP text model for this vocabulary")
        }
        guard c.contextLength >= 2 && c.contextLength <= CLIPTokenizer.contextLength else {
            throw OV3DError.format("the text model's context length is \(c.contextLength); CLIP uses \(CLIPTokenizer.contextLength)")
        }
        self.tokenizer = tokenizer
        self.model = model
    }

    public convenience init(weightsPath: String, vocabularyPath: String, options: CLIPTextLoadOptions = CLIPTextLoadOptions()) throws {
        try self.init(tokenizer: CLIPTokenizer(vocabularyPath: vocabularyPath), model: CLIPTextModel(path: weightsPath, options: options))
    }

    /// Embeddings `texts.count × dimension` (row-major) after applying `options`.
    public func encode(_ texts: [String], options: TextEncodeOptions = TextEncodeOptions()) throws -> [Float] {
        try require(!texts.isEmpty, "no texts to encode (empty batch)")
        try require(texts.count <= TextEncoder.maxBatch, "batch of \(texts.count) texts exceeds \(TextEncoder.maxBatch)")
        let prompts = texts.map { options.prompt($0) }
        let d = dimension
        var out = [Float](repeating: 0, count: prompts.count * d)
        // look up the cache; encode the misses in one batch
        var missing: [Int] = []
        var missingSet: [String: Int] = [:]
        if options.useCache {
            cache.withLock { c in
                for (i, p) in prompts.enumerated() {
                    if let e = c[p] { out.replaceSubrange(i * d..<(i + 1) * d, with: e) } else { missing.append(i) }
                }
            }
        } else {
            missing = Array(prompts.indices)
        }
        if !missing.isEmpty {
            var uniq: [String] = []
            for i in missing where missingSet[prompts[i]] == nil { missingSet[prompts[i]] = uniq.count; uniq.append(prompts[i]) }
            var tokens: [[Int32]] = []
            tokens.reserveCapacity(uniq.count)
            for (k, p) in uniq.enumerated() {
                do { tokens.append(try tokenizer.tokenize(p, contextLength: model.config.contextLength)) } catch let e as OV3DError {
                    throw e.context("text \(missing.first { prompts[$0] == p }.map { $0 } ?? k)")
                }
            }
            let emb = try model.encode(tokens: tokens, threads: options.threads)
            for i in missing {
                let k = missingSet[prompts[i]]!
                out.replaceSubrange(i * d..<(i + 1) * d, with: emb[k * d..<(k + 1) * d])
            }
            if options.useCache { cache.withLock { c in
                if c.count + uniq.count > TextEncoder.cacheCapacity { c.removeAll(keepingCapacity: true) }
                for (k, p) in uniq.enumerated() { c[p] = Array(emb[k * d..<(k + 1) * d]) }
            } }
        }
        TextEncoder.postprocess(&out, dimension: d, options: options)
        return out
    }

    /// L2 normalisation and fp16 rounding per `options`, in place.
    public static func postprocess(_ e: inout [Float], dimension d: Int, options: TextEncodeOptions) {
        let n = e.count / d
        if options.normalize {
            for r in 0..<n {
                var s: Float = 0
                for j in 0..<d { s += e[r * d + j] * e[r * d + j] }
                let inv: Float = s > 0 ? 1 / s.squareRoot() : 0
                for j in 0..<d { e[r * d + j] *= inv }
            }
        }
        if options.roundToHalf {
            for i in e.indices { e[i] = halfToFloat(floatToHalf(e[i])) }
        }
    }

    /// Number of cached prompt embeddings.
    public var cachedCount: Int { cache.withLock { $0.count } }

    /// A vocabulary of `names` encoded through `prompts` (same count; defaults to the names).
    public func vocabulary(names: [String], prompts: [String]? = nil, options: TextEncodeOptions = TextEncodeOptions()) throws -> Vocabulary {
        let p = prompts ?? names
        try require(p.count == names.count, "\(names.count) names but \(p.count) prompts")
        var o = options
        o.normalize = true
        return try Vocabulary(names: names, embeddings: try encode(p, options: o), dimension: dimension)
    }

    /// A label set's vocabulary with its prompts (OpenScene's rules for `template`).
    public func vocabulary(labelSet: LabelSet, template: String? = TextEncodeOptions.openScenePrompt,
                           options: TextEncodeOptions = TextEncodeOptions()) throws -> Vocabulary {
        var o = options
        o.template = nil
        return try vocabulary(names: labelSet.encodedNames, prompts: labelSet.prompts(template: template), options: o)
    }
}
