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
