#if canImport(Glibc)
import Glibc
#endif
import CSupport
import OV3DCore

// ov3d.h section "Text": CLIP text encoder, tokenizer, vocabularies, scoring.

final class TextEncoderBox: HandleBox {
    let encoder: TextEncoder
    init(_ e: TextEncoder) { encoder = e; super.init(kind: HandleKind.textEncoder) }
}

/// A vocabulary handle; also what other subsystems (sessions, evaluation) accept.
final class VocabularyBox: HandleBox {
    let vocabulary: Vocabulary
    /// NUL-terminated copies of the names, alive as long as the box.
    private let cNames: [UnsafeMutablePointer<CChar>]
    init(_ v: Vocabulary) {
        vocabulary = v
        cNames = v.names.map { strdup($0)! }
        super.init(kind: HandleKind.vocabulary)
    }
    deinit { for p in cNames { free(p) } }
    func name(_ i: Int) -> UnsafePointer<CChar> { UnsafePointer(cNames[i]) }
}

/// Reads `n` C strings (each non-NULL, valid UTF-8, at most `maxBytes`).
private func cStrings(_ p: UnsafePointer<UnsafePointer<CChar>?>?, _ n: Int, name: String, maxCount: Int,
                      maxBytes: Int = CLIPTokenizer.maxTextBytes) throws -> [String] {
    try require(n > 0, "\(name): empty batch (count is 0)")
    try require(n <= maxCount, "\(name): \(n) strings exceed the limit of \(maxCount)")
    guard let p else { throw OV3DError.invalidArgument("\(name) is NULL") }
    var out: [String] = []
    out.reserveCapacity(n)
    for i in 0..<n { out.append(try cString(p[i], name: "\(name)[\(i)]", maxBytes: maxBytes)) }
    return out
}

/// Validates a feature buffer (finite values) and returns it as rows.
private func readFeatures(_ p: UnsafePointer<Float>?, _ n: Int, _ dim: Int, vocabulary v: Vocabulary) throws -> [Float] {
    try require(dim == v.dimension, "features have \(dim) dims but the vocabulary's embeddings have \(v.dimension)")
    try require(n > 0, "n_points is 0")
    let (total, o) = n.multipliedReportingOverflow(by: dim)
    try require(!o && total <= 1 << 34, "n_points × dim is too large")
    let p = try nonNull(p, "features")
    let buf = UnsafeBufferPointer(start: p, count: total)
    for (i, v) in buf.enumerated() where !v.isFinite {
        throw OV3DError.invalidArgument("features: point \(i / dim) has a non-finite value")
    }
    return Array(buf)
}

private func requireCapacity(_ have: Int, _ need: Int, _ name: String) throws {
    try require(have >= need, "\(name): capacity \(have) is less than the \(need) floats needed")
}

func readEncodeParams(_ p: UnsafePointer<ov3d_text_encode_params>?) throws -> TextEncodeOptions {
    let params = try readParams(UnsafeRawPointer(p), defaults: ov3d_text_encode_default_params(),
                                minSize: MemoryLayout<ov3d_text_encode_params>.size, name: "ov3d_text_encode_params")
    try require(params.n_threads >= 0 && params.n_threads <= 256, "n_threads must be 0...256, got \(params.n_threads)")
    var o = TextEncodeOptions(normalize: params.normalize != 0, roundToHalf: params.round_fp16 != 0,
                              threads: applyThreads(params.n_threads))
    o.useCache = params.use_cache != 0
    if let t = params.prompt_template {
        o.template = try cString(t, name: "prompt_template", maxBytes: 4096)
    }
    return o
}

@_cdecl("ov3d_text_encoder_default_params")
public func ov3d_text_encoder_default_params() -> ov3d_text_encoder_params {
    ov3d_text_encoder_params(struct_size: UInt32(MemoryLayout<ov3d_text_encoder_params>.size), heads: 0,
                             activation: Int32(OV3D_TEXT_ACTIVATION_AUTO.rawValue))
}

@_cdecl("ov3d_text_encode_default_params")
public func ov3d_text_encode_default_params() -> ov3d_text_encode_params {
    ov3d_text_encode_params(struct_size: UInt32(MemoryLayout<ov3d_text_encode_params>.size), n_threads: 0,
                            normalize: 1, round_fp16: 0, prompt_template: nil, use_cache: 1)
}

@_cdecl("ov3d_text_encoder_load")
public func ov3d_text_encoder_load(_ weights: UnsafePointer<CChar>?, _ vocab: UnsafePointer<CChar>?,
                                   _ params: UnsafePointer<ov3d_text_encoder_params>?,
                                   _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return capi {
        let out = try nonNull(out, "out_encoder")
        let w = try cString(weights, name: "weights_path", maxBytes: 4096)
        let v = try cString(vocab, name: "vocab_path", maxBytes: 4096)
        try require(!w.isEmpty, "weights_path is empty")
        try require(!v.isEmpty, "vocab_path is empty")
        let p = try readParams(UnsafeRawPointer(params), defaults: ov3d_text_encoder_default_params(),
                               minSize: MemoryLayout<ov3d_text_encoder_params>.size, name: "ov3d_text_encoder_params")
        try require(p.heads >= 0 && p.heads <= 1024, "heads must be 0 (auto) to 1024, got \(p.heads)")
        var opts = CLIPTextLoadOptions(heads: p.heads > 0 ? Int(p.heads) : nil)
        switch p.activation {
        case Int32(OV3D_TEXT_ACTIVATION_AUTO.rawValue): break
        case Int32(OV3D_TEXT_ACTIVATION_QUICK_GELU.rawValue): opts.activation = .quickGELU
        case Int32(OV3D_TEXT_ACTIVATION_GELU.rawValue): opts.activation = .gelu
        default: throw OV3DError.invalidArgument("activation \(p.activation) is not an ov3d_text_activation")
        }
        let enc = try TextEncoder(weightsPath: w, vocabularyPath: v, options: opts)
        out.pointee = makeHandle(TextEncoderBox(enc))
    }
}

@_cdecl("ov3d_text_encoder_free")
public func ov3d_text_encoder_free(_ h: OpaquePointer?) { releaseHandle(h, kind: HandleKind.textEncoder, function: "ov3d_text_encoder_free") }

@_cdecl("ov3d_text_encoder_dim")
public func ov3d_text_encoder_dim(_ h: OpaquePointer?, _ out: UnsafeMutablePointer<Int>?) -> Int32 {
    capi {
        let e = try borrow(h, as: TextEncoderBox.self, kind: HandleKind.textEncoder, name: "encoder")
        let out = try nonNull(out, "out_dim")
        out.pointee = e.encoder.dimension
    }
}

@_cdecl("ov3d_text_tokenize")
public func ov3d_text_tokenize(_ h: OpaquePointer?, _ text: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<Int32>?,
                               _ capacity: Int) -> Int32 {
    capi {
        let e = try borrow(h, as: TextEncoderBox.self, kind: HandleKind.textEncoder, name: "encoder")
        let s = try cString(text, name: "text", maxBytes: CLIPTokenizer.maxTextBytes)
        let n = CLIPTokenizer.contextLength
        try require(capacity >= n, "out_capacity \(capacity) is less than the \(n) token ids written")
        let out = try nonNull(out, "out_ids")
        let ids = try e.encoder.tokenizer.tokenize(s)
        for i in 0..<n { out[i] = ids[i] }
    }
}

@_cdecl("ov3d_text_encode")
public func ov3d_text_encode(_ h: OpaquePointer?, _ texts: UnsafePointer<UnsafePointer<CChar>?>?, _ n: Int,
                             _ params: UnsafePointer<ov3d_text_encode_params>?, _ out: UnsafeMutablePointer<Float>?,
                             _ capacity: Int) -> Int32 {
    capi {
        let e = try borrow(h, as: TextEncoderBox.self, kind: HandleKind.textEncoder, name: "encoder")
        let strings = try cStrings(texts, n, name: "texts", maxCount: TextEncoder.maxBatch)
        let opts = try readEncodeParams(params)
        try requireCapacity(capacity, n * e.encoder.dimension, "out_capacity")
        let out = try nonNull(out, "out")
        let emb = try e.encoder.encode(strings, options: opts)
        emb.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: emb.count) }
    }
}

@_cdecl("ov3d_vocabulary_from_texts")
public func ov3d_vocabulary_from_texts(_ h: OpaquePointer?, _ names: UnsafePointer<UnsafePointer<CChar>?>?, _ n: Int,
                                       _ params: UnsafePointer<ov3d_text_encode_params>?,
                                       _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return capi {
        let out = try nonNull(out, "out_vocabulary")
        let e = try borrow(h, as: TextEncoderBox.self, kind: HandleKind.textEncoder, name: "encoder")
        let strings = try cStrings(names, n, name: "names", maxCount: TextEncoder.maxBatch)
        let opts = try readEncodeParams(params)
        var v = try e.encoder.vocabulary(names: strings, prompts: strings.map { opts.prompt($0) },
                                         options: TextEncodeOptions(threads: opts.threads))
        if opts.roundToHalf { v = v.roundedToHalf() }
        out.pointee = makeHandle(VocabularyBox(v))
    }
}

@_cdecl("ov3d_vocabulary_from_label_set")
public func ov3d_vocabulary_from_label_set(_ h: OpaquePointer?, _ name: UnsafePointer<CChar>?,
                                           _ params: UnsafePointer<ov3d_text_encode_params>?,
                                           _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return capi {
        let out = try nonNull(out, "out_vocabulary")
        let e = try borrow(h, as: TextEncoderBox.self, kind: HandleKind.textEncoder, name: "encoder")
        let s = try cString(name, name: "label_set", maxBytes: 256)
        guard let set = LabelSet.named(s) else {
            throw OV3DError.invalidArgument("unknown label set '\(s)' (known: \(LabelSet.builtinNames.joined(separator: ", ")))")
        }
        let opts = try readEncodeParams(params)
        var v = try e.encoder.vocabulary(labelSet: set, template: opts.template, options: TextEncodeOptions(threads: opts.threads))
        if opts.roundToHalf { v = v.roundedToHalf() }
        out.pointee = makeHandle(VocabularyBox(v))
    }
}

@_cdecl("ov3d_label_set_class_of")
public func ov3d_label_set_class_of(_ name: UnsafePointer<CChar>?, _ index: Int, _ out: UnsafeMutablePointer<Int32>?) -> Int32 {
    capi {
        let s = try cString(name, name: "label_set", maxBytes: 256)
        guard let set = LabelSet.named(s) else { throw OV3DError.invalidArgument("unknown label set '\(s)'") }
        guard let c = set.classIndex(ofEncoded: index) else {
            throw OV3DError.invalidArgument("index \(index) is outside label set '\(s)' (\(set.encodedNames.count) encoded names)")
        }
        let out = try nonNull(out, "out_class")
        out.pointee = Int32(c)
    }
}

@_cdecl("ov3d_vocabulary_from_embeddings")
public func ov3d_vocabulary_from_embeddings(_ names: UnsafePointer<UnsafePointer<CChar>?>?, _ emb: UnsafePointer<Float>?,
                                            _ n: Int, _ dim: Int, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return capi {
        let out = try nonNull(out, "out_vocabulary")
        try require(n > 0 && n <= TextEncoder.maxBatch, "n_names must be 1...\(TextEncoder.maxBatch), got \(n)")
        try require(dim > 0 && dim <= 1 << 16, "dim must be 1...65536, got \(dim)")
        let emb = try nonNull(emb, "embeddings")
        let strings = names == nil ? (0..<n).map { "\($0)" } : try cStrings(names, n, name: "names", maxCount: TextEncoder.maxBatch, maxBytes: 4096)
        try require(n * dim <= 1 << 26, "n_names × dim is too large")
        let values = Array(UnsafeBufferPointer(start: emb, count: n * dim))
        out.pointee = makeHandle(VocabularyBox(try Vocabulary(names: strings, embeddings: values, dimension: dim)))
    }
}

@_cdecl("ov3d_vocabulary_free")
public func ov3d_vocabulary_free(_ h: OpaquePointer?) { releaseHandle(h, kind: HandleKind.vocabulary, function: "ov3d_vocabulary_free") }

private func vocab(_ h: OpaquePointer?) throws -> VocabularyBox {
    try borrow(h, as: VocabularyBox.self, kind: HandleKind.vocabulary, name: "vocabulary")
}

@_cdecl("ov3d_vocabulary_count")
public func ov3d_vocabulary_count(_ h: OpaquePointer?, _ out: UnsafeMutablePointer<Int>?) -> Int32 {
    capi {
        let v = try vocab(h)
        let out = try nonNull(out, "out_count")
        out.pointee = v.vocabulary.count
    }
}

@_cdecl("ov3d_vocabulary_dim")
public func ov3d_vocabulary_dim(_ h: OpaquePointer?, _ out: UnsafeMutablePointer<Int>?) -> Int32 {
    capi {
        let v = try vocab(h)
        let out = try nonNull(out, "out_dim")
        out.pointee = v.vocabulary.dimension
    }
}

@_cdecl("ov3d_vocabulary_name")
public func ov3d_vocabulary_name(_ h: OpaquePointer?, _ index: Int, _ out: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    capi {
        let v = try vocab(h)
        try require(index >= 0 && index < v.vocabulary.count, "index \(index) is outside the vocabulary of \(v.vocabulary.count) words")
        let out = try nonNull(out, "out_name")
        out.pointee = v.name(index)
    }
}

@_cdecl("ov3d_vocabulary_embeddings")
public func ov3d_vocabulary_embeddings(_ h: OpaquePointer?, _ out: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    capi {
        let v = try vocab(h).vocabulary
        try requireCapacity(capacity, v.embeddings.count, "out_capacity")
        let out = try nonNull(out, "out")
        v.embeddings.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: $0.count) }
    }
}

@_cdecl("ov3d_vocabulary_scores")
public func ov3d_vocabulary_scores(_ h: OpaquePointer?, _ features: UnsafePointer<Float>?, _ n: Int, _ dim: Int,
                                   _ threads: Int32, _ out: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    capi {
        let v = try vocab(h).vocabulary
        try require(threads >= 0 && threads <= 256, "n_threads must be 0...256, got \(threads)")
        let f = try readFeatures(features, n, dim, vocabulary: v)
        try requireCapacity(capacity, n * v.count, "out_capacity")
        let out = try nonNull(out, "out_scores")
        let s = try v.scores(features: f, threads: applyThreads(threads))
        s.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: $0.count) }
    }
}

@_cdecl("ov3d_vocabulary_classify")
public func ov3d_vocabulary_classify(_ h: OpaquePointer?, _ features: UnsafePointer<Float>?, _ n: Int, _ dim: Int,
                                     _ threads: Int32, _ labels: UnsafeMutablePointer<Int32>?,
                                     _ scores: UnsafeMutablePointer<Float>?) -> Int32 {
    capi {
        let v = try vocab(h).vocabulary
        try require(threads >= 0 && threads <= 256, "n_threads must be 0...256, got \(threads)")
        let f = try readFeatures(features, n, dim, vocabulary: v)
        let labels = try nonNull(labels, "out_labels")
        let r = try v.classify(features: f, threads: applyThreads(threads))
        r.labels.withUnsafeBufferPointer { labels.update(from: $0.baseAddress!, count: n) }
        if let scores { r.scores.withUnsafeBufferPointer { scores.update(from: $0.baseAddress!, count: n) } }
    }
}

@_cdecl("ov3d_vocabulary_heatmap")
public func ov3d_vocabulary_heatmap(_ h: OpaquePointer?, _ query: Int, _ features: UnsafePointer<Float>?, _ n: Int,
                                    _ dim: Int, _ out: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    capi {
        let v = try vocab(h).vocabulary
        try require(query >= 0 && query < v.count, "query_index \(query) is outside the vocabulary of \(v.count) words")
        let f = try readFeatures(features, n, dim, vocabulary: v)
        try requireCapacity(capacity, n, "out_capacity")
        let out = try nonNull(out, "out")
        let m = try v.heatmap(query: query, features: f)
        m.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: n) }
    }
}
