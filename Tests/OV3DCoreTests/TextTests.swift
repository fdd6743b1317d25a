import Foundation
import Testing
@testable import OV3DCore

/// Shared: the real CLIP vocabulary (../shared/data/clip), loaded once.
enum TextFixtures {
    static let vocabPath: String? = TestPaths.shared("clip/bpe_simple_vocab_16e6.txt.gz")
    private static let loaded: Result<CLIPTokenizer, OV3DError>? = vocabPath.map { p in
        Result { try CLIPTokenizer(vocabularyPath: p) }.mapError { $0 as! OV3DError }
    }
    /// nil (skip) only when the shared data is absent; a load failure fails the test.
    static func tokenizer() throws -> CLIPTokenizer? { try loaded?.get() }

    struct Corpus { let texts: [String]; let tokens: [[Int32]] }
    static let corpus: Corpus = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("text/corpus.json")))
        let obj = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        let texts = obj["texts"] as! [String]
        let tokens = (obj["tokens"] as! [[NSNumber]]).map { $0.map { Int32(truncating: $0) } }
        return Corpus(texts: texts, tokens: tokens)
    }()

    static func npy(_ name: String) throws -> (values: [Float], shape: [Int]) {
        let t = try NPY.read(path: TestPaths.fixture("text/" + name))
        return (t.floats(), t.shape)
    }
}

/// max |a-b| / max(|b|, tiny) over a row.
func maxRelativeError(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
    var scale: Float = 0
    for v in b { scale = max(scale, abs(v)) }
    var e: Float = 0
    for (x, y) in zip(a, b) { e = max(e, abs(x - y)) }
    return e / max(scale, 1e-30)
}

@Suite struct CLIPTokenizerTests {
    @Test func corpusMatchesOpenCLIP() throws {
        guard let tok = try TextFixtures.tokenizer() else { return }
        let c = TextFixtures.corpus
        #expect(c.texts.count == c.tokens.count && c.texts.count > 20)
        for (text, expected) in zip(c.texts, c.tokens) {
            let got = try tok.tokenize(text)
            #expect(got == expected, "text \(text.debugDescription)")
        }
    }

    @Test func vocabularyShape() throws {
        guard let tok = try TextFixtures.tokenizer() else { return }
        #expect(tok.vocabularySize == 49408)
        #expect(tok.startToken == 49406 && tok.endToken == 49407)
    }

    @Test func truncationKeepsEndToken() throws {
        guard let tok = try TextFixtures.tokenizer() else { return }
        let t = try tok.tokenize(String(repeating: "chair ", count: 200))
        #expect(t.count == 77 && t[0] == 49406 && t[76] == 49407)
        #expect(!t[1..<76].contains(0))
    }

    @Test func rejectsHugeText() throws {
        guard let tok = try TextFixtures.tokenizer() else { return }
        #expect(throws: OV3DError.self) { try tok.tokenize(String(repeating: "a", count: 2 << 20)) }
    }

    @Test func rejectsBadVocabulary() throws {
        #expect(throws: OV3DError.self) { try CLIPTokenizer(mergesFile: Array("#version\na b\n".utf8)) }
        #expect(throws: OV3DError.self) { try CLIPTokenizer(mergesFile: [0xFF, 0xFE, 0x00]) }
        #expect(throws: OV3DError.self) { try Gzip.decompress([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]) }
    }

    @Test func htmlUnescapeMatchesPython() {
        // expected values from Python 3: html.unescape(...)
        let cases: [(String, String)] = [
            ("&amp;amp;", "&amp;"), ("&amp", "&"), ("&ampx", "&x"), ("&notit;", "¬it;"), ("&#65;&#x42;&#X43", "ABC"),
            ("&#0;", "\u{FFFD}"), ("&#128;", "€"), ("&#xD800;", "\u{FFFD}"), ("&#1;x", "x"), ("&#;", "&#;"), ("&#x;", "&#x;"),
            ("&bogus;", "&bogus;"), ("a & b", "a & b"), ("&eacute;t&eacute", "été"), ("&#99999999999999;", "\u{FFFD}"),
        ]
        for (i, o) in cases {
            let got = String(String.UnicodeScalarView(HTMLEntities.unescape(Array(i.unicodeScalars))))
            #expect(got == o, "\(i)")
        }
    }
}

@Suite struct CLIPTextModelTests {
    static let corpusTokens = TextFixtures.corpus.tokens

    func check(_ model: CLIPTextModel, against file: String, tokens: [[Int32]] = corpusTokens) throws {
        let (ref, shape) = try TextFixtures.npy(file)
        #expect(shape == [tokens.count, model.config.embedDimension])
        let got = try model.encode(tokens: tokens, threads: 2)
        #expect(got.count == ref.count)
        let d = model.config.embedDimension
        var worst: Float = 0
        for r in 0..<tokens.count {
            worst = max(worst, maxRelativeError(got[r * d..<(r + 1) * d], ref[r * d..<(r + 1) * d]))
        }
        print("CLIP text \(file): max relative error \(worst) over \(tokens.count) texts")
        #expect(worst < 1e-5)
    }

    @Test func openCLIPSafetensors() throws {
        let m = try CLIPTextModel(path: TestPaths.fixture("text/openclip_tiny.safetensors"), options: CLIPTextLoadOptions(heads: 2))
        #expect(m.config == CLIPTextConfig(vocabularySize: 49408, contextLength: 77, width: 8, heads: 2, layers: 2, mlpWidth: 32, embedDimension: 12))
        try check(m, against: "openclip_tiny_embeddings.npy")
    }

    @Test func openCLIPTorchSave() throws {
        let m = try CLIPTextModel(path: TestPaths.fixture("text/openclip_tiny.pt"), options: CLIPTextLoadOptions(heads: 2))
        try check(m, against: "openclip_tiny_embeddings.npy")
    }

    @Test func huggingFaceSavePretrained() throws {
        let m = try CLIPTextModel(path: TestPaths.fixture("text/hf_tiny"))
        #expect(m.config.heads == 4 && m.config.width == 16 && m.config.layers == 2 && m.config.embedDimension == 12)
        try check(m, against: "hf_tiny_embeddings.npy")
        // the file itself, with config.json found next to it
        let m2 = try CLIPTextModel(path: TestPaths.fixture("text/hf_tiny/model.safetensors"))
        #expect(m2.config == m.config)
    }

    @Test func ov3dSafetensorsRoundTrip() throws {
        let m = try CLIPTextModel(path: TestPaths.fixture("text/hf_tiny"))
        let path = NSTemporaryDirectory() + "/ov3d-clip-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try m.save(path: path)
        let back = try CLIPTextModel(path: path)
        #expect(back.config == m.config)
        try check(back, against: "hf_tiny_embeddings.npy")
    }

    @Test func wrongModelsAreClearErrors() throws {
        // a MinkUNet checkpoint (issue 4's fixture) and a non-model safetensors
        let mink = TestPaths.fixture("checkpoint/openscene18a_module.pth.tar")
        if FileManager.default.fileExists(atPath: mink) {
            #expect { try CLIPTextModel(path: mink) } throws: { e in
                (e as? OV3DError)?.status == .format && "\(e)".contains("not a CLIP text model")
            }
        }
        var sd = StateDict()
        sd.set("weight", try Tensor([1, 2, 3], shape: [3]))
        let path = NSTemporaryDirectory() + "/ov3d-notclip-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Safetensors.write(sd, path: path)
        #expect(throws: OV3DError.self) { try CLIPTextModel(path: path) }
        #expect(throws: OV3DError.self) { try CLIPTextModel(path: "/nonexistent/clip.pt") }
        #expect(throws: OV3DError.self) { try CLIPTextModel(path: TestPaths.fixture("text/corpus.json")) }
        // heads that do not divide the width
        #expect(throws: OV3DError.self) { try CLIPTextModel(path: TestPaths.fixture("text/openclip_tiny.safetensors"), options: CLIPTextLoadOptions(heads: 3)) }
        // a model whose vocabulary does not fit the tokenizer
        if let tok = try TextFixtures.tokenizer() {
            let m = try CLIPTextModel(path: TestPaths.fixture("text/openclip_tiny.safetensors"), options: CLIPTextLoadOptions(heads: 2))
            var w = m.w
            w.config.vocabularySize = 100
            w.tokenEmbedding = Array(w.tokenEmbedding[0..<(100 * w.config.width)])
            #expect(throws: OV3DError.self) { try TextEncoder(tokenizer: tok, model: CLIPTextModel(weights: w)) }
        }
    }

    @Test func badTokens() throws {
        let m = try CLIPTextModel(path: TestPaths.fixture("text/hf_tiny"))
        #expect(throws: OV3DError.self) { try m.encode(tokens: [[49406, 50000]]) }
        #expect(throws: OV3DError.self) { try m.encode(tokens: [[49406, -1]]) }
        #expect(throws: OV3DError.self) { try m.encode(tokens: [[]]) }
        #expect(throws: OV3DError.self) { try m.encode(tokens: [[Int32](repeating: 1, count: 78)]) }
        #expect(try m.encode(tokens: []).isEmpty)
    }
}

@Suite struct TextEncoderTests {
    func encoder() throws -> TextEncoder? {
        guard let tok = try TextFixtures.tokenizer() else { return nil }
        return try TextEncoder(tokenizer: tok, model: CLIPTextModel(path: TestPaths.fixture("text/hf_tiny")))
    }

    @Test func textsToEmbeddingsMatchTransformers() throws {
        guard let enc = try encoder() else { return }
        let c = TextFixtures.corpus
        let (ref, _) = try TextFixtures.npy("hf_tiny_embeddings.npy")
        let d = enc.dimension
        let raw = try enc.encode(c.texts, options: TextEncodeOptions(normalize: false))
        var worst: Float = 0
        for r in 0..<c.texts.count { worst = max(worst, maxRelativeError(raw[r * d..<(r + 1) * d], ref[r * d..<(r + 1) * d])) }
        #expect(worst < 1e-5)
        // normalised (default): unit rows, same direction; the cache now answers
        #expect(enc.cachedCount == Set(c.texts).count)
        let n = try enc.encode(c.texts)
        for r in 0..<c.texts.count {
            var s: Float = 0, dot: Float = 0, rr: Float = 0
            for j in 0..<d { s += n[r * d + j] * n[r * d + j]; dot += n[r * d + j] * ref[r * d + j]; rr += ref[r * d + j] * ref[r * d + j] }
            #expect(abs(s - 1) < 1e-5)
            #expect(abs(dot / rr.squareRoot() - 1) < 1e-5)
        }
        // fp16 rounding: every value representable in half
        let h = try enc.encode(["a chair in a scene"], options: TextEncodeOptions(roundToHalf: true))
        for v in h { #expect(halfToFloat(floatToHalf(v)) == v) }
    }

    @Test func templatesAndBadInput() throws {
        guard let enc = try encoder() else { return }
        let a = try enc.encode(["chair"], options: TextEncodeOptions(template: "a {} in a scene"))
        let b = try enc.encode(["a chair in a scene"])
        #expect(a == b)
        #expect(throws: OV3DError.self) { try enc.encode([]) }
        #expect(throws: OV3DError.self) { try enc.encode([String(repeating: "x", count: 1 << 20)]) }
    }

    @Test func labelSetVocabulary() throws {
        guard let enc = try encoder() else { return }
        let v = try enc.vocabulary(labelSet: .scannet20)
        #expect(v.count == 20 && v.names.last == "other")
        let direct = try enc.encode(["a wall in a scene", "other"])
        let d = enc.dimension
        #expect(maxRelativeError(v.embeddings[0..<d], direct[0..<d]) < 1e-6)
        #expect(maxRelativeError(v.embeddings[19 * d..<20 * d], direct[d...]) < 1e-6)
        #expect(maxRelativeError(v.embeddings[1 * d..<2 * d], direct[d...]) > 1e-3) // 'floor' differs from 'other'
    }
}

@Suite struct LabelSetTests {
    @Test func builtins() {
        #expect(LabelSet.named("scannet20")?.classNames.count == 20)
        #expect(LabelSet.named("matterport21")?.classNames.count == 21)
        #expect(LabelSet.named("matterport40")?.classNames.count == 40)
        #expect(LabelSet.named("matterport80")?.classNames.count == 80)
        #expect(LabelSet.named("matterport160")?.classNames.count == 160)
        #expect(LabelSet.named("nuscenes16")?.classNames.count == 16)
        #expect(LabelSet.named("nuscenes16")?.encodedNames.count == 43)
        #expect(LabelSet.named("nope") == nil)
        // OpenScene's rules
        let s = LabelSet.scannet20.prompts()
        #expect(s[0] == "a wall in a scene" && s[19] == "other")
        let m = LabelSet.matterport21.prompts()
        #expect(m[19] == "other" && m[20] == "a ceiling in a scene")
        #expect(LabelSet.matterport40.prompts()[38] == "other")       // air vent (quirk)
        #expect(LabelSet.matterport80.prompts()[78] == "other")       // headboard
        #expect(LabelSet.matterport160.prompts()[158] == "other")     // person
        #expect(LabelSet.nuscenes16.prompts().allSatisfy { $0.hasPrefix("a ") })
        #expect(LabelSet.scannet20.prompts(template: nil)[19] == "other")
        let n = LabelSet.nuscenes16
        #expect(n.classIndex(ofEncoded: 42) == 15 && n.classIndex(ofEncoded: 43) == nil)
    }

    @Test func matchesSharedLabelFiles() throws {
        for (file, set) in [("clip/text_embeddings/scannet20_labelset.txt", LabelSet.scannet20),
                            ("clip/text_embeddings/matterport21_labelset.txt", LabelSet.matterport21)] {
            guard let p = TestPaths.shared(file) else { continue }
            let names = try String(contentsOfFile: p, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(names == set.classNames)
        }
    }
}
