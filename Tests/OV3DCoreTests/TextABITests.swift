import CSupport
import Foundation
import OV3DCAPI
import Testing
@testable import OV3DCore

/// The Text section of the C ABI with a real encoder: bad input gives statuses and messages.
@Suite(.serialized) struct TextABITests {
    func lastError() -> String { String(cString: ov3d_last_error()) }

    func withEncoder(_ body: (OpaquePointer) throws -> Void) throws {
        guard let vocab = TextFixtures.vocabPath else { return }
        var enc: OpaquePointer?
        let st = ov3d_text_encoder_load(TestPaths.fixture("text/hf_tiny"), vocab, nil, &enc)
        #expect(st == 0, "\(lastError())")
        guard let enc else { return }
        defer { ov3d_text_encoder_free(enc) }
        try body(enc)
    }

    /// Calls `f` with a C array of C strings built from raw byte strings.
    func withCStrings<R>(_ items: [[UInt8]?], _ f: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let ptrs: [UnsafeMutablePointer<CChar>?] = items.map { b in
            guard let b else { return nil }
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: b.count + 1)
            for (i, x) in b.enumerated() { p[i] = CChar(bitPattern: x) }
            p[b.count] = 0
            return p
        }
        defer { for p in ptrs { p?.deallocate() } }
        let cp = ptrs.map { UnsafePointer($0) }
        return cp.withUnsafeBufferPointer { f($0.baseAddress!) }
    }

    @Test func encodeAndBadInput() throws {
        try withEncoder { enc in
            var dim = 0
            #expect(ov3d_text_encoder_dim(enc, &dim) == 0 && dim == 12)
            var out = [Float](repeating: 0, count: 3 * dim)
            var p = OV3DCAPI.ov3d_text_encode_default_params()
            p.n_threads = 1
            // a good batch equals the Swift API
            let st = withCStrings([Array("wall".utf8), Array("floor".utf8), Array("北京 🙂".utf8)]) { ov3d_text_encode(enc, $0, 3, &p, &out, out.count) }
            #expect(st == 0)
            let tok = try TextFixtures.tokenizer()!
            let direct = try TextEncoder(tokenizer: tok, model: CLIPTextModel(path: TestPaths.fixture("text/hf_tiny"))).encode(["wall", "floor", "北京 🙂"])
            #expect(maxRelativeError(out[...], direct[...]) < 1e-6)
            // invalid UTF-8
            var s = withCStrings([[0x61, 0xFF, 0xFE]]) { ov3d_text_encode(enc, $0, 1, &p, &out, out.count) }
            #expect(s == OV3D_ERR_INVALID_ARGUMENT.rawValue && lastError().contains("UTF-8"))
            // a megabyte string
            s = withCStrings([[UInt8](repeating: 0x61, count: 1 << 20)]) { ov3d_text_encode(enc, $0, 1, &p, &out, out.count) }
            #expect(s == OV3D_ERR_INVALID_ARGUMENT.rawValue && lastError().contains("longer than"))
            // empty batch, NULL entry, small buffer, bad params
            s = withCStrings([]) { ov3d_text_encode(enc, $0, 0, &p, &out, out.count) }
            #expect(s == OV3D_ERR_INVALID_ARGUMENT.rawValue && lastError().contains("empty"))
            s = withCStrings([Array("a".utf8), nil]) { ov3d_text_encode(enc, $0, 2, &p, &out, out.count) }
            #expect(s == OV3D_ERR_INVALID_ARGUMENT.rawValue && lastError().contains("texts[1]"))
            s = withCStrings([Array("a".utf8)]) { ov3d_text_encode(enc, $0, 1, &p, &out, 5) }
            #expect(s == OV3D_ERR_INVALID_ARGUMENT.rawValue)
            var bad = p
            bad.struct_size = 3
            s = withCStrings([Array("a".utf8)]) { ov3d_text_encode(enc, $0, 1, &bad, &out, out.count) }
            #expect(s == OV3D_ERR_INVALID_ARGUMENT.rawValue)
            // tokenize
            var ids = [Int32](repeating: -1, count: 77)
            #expect(ov3d_text_tokenize(enc, "a chair", &ids, 77) == 0 && ids[0] == 49406 && ids[3] == 49407)
            #expect(ov3d_text_tokenize(enc, "a chair", &ids, 76) == OV3D_ERR_INVALID_ARGUMENT.rawValue)
        }
    }

    @Test func vocabulariesAndScoring() throws {
        try withEncoder { enc in
            var p = OV3DCAPI.ov3d_text_encode_default_params()
            var voc: OpaquePointer?
            let st = "a {} in a scene".withCString { t -> Int32 in
                p.prompt_template = t
                return ov3d_vocabulary_from_label_set(enc, "scannet20", &p, &voc)
            }
            #expect(st == 0, "\(lastError())")
            defer { ov3d_vocabulary_free(voc) }
            var n = 0, d = 0
            #expect(ov3d_vocabulary_count(voc, &n) == 0 && n == 20)
            #expect(ov3d_vocabulary_dim(voc, &d) == 0 && d == 12)
            var name: UnsafePointer<CChar>?
            #expect(ov3d_vocabulary_name(voc, 19, &name) == 0 && String(cString: name!) == "other")
            #expect(ov3d_vocabulary_name(voc, 20, &name) == OV3D_ERR_INVALID_ARGUMENT.rawValue)
            var emb = [Float](repeating: 0, count: n * d)
            #expect(ov3d_vocabulary_embeddings(voc, &emb, emb.count) == 0)
            // the words' own embeddings (scaled) as features classify as themselves
            let feats = emb.map { $0 * 3 }
            var labels = [Int32](repeating: -1, count: n)
            var scores = [Float](repeating: 0, count: n)
            #expect(ov3d_vocabulary_classify(voc, feats, n, d, 1, &labels, &scores) == 0)
            #expect(labels == (0..<Int32(n)).map { $0 })
            #expect(scores.allSatisfy { abs($0 - 1) < 1e-5 })
            var heat = [Float](repeating: 0, count: n)
            #expect(ov3d_vocabulary_heatmap(voc, 4, feats, n, d, &heat, n) == 0)
            var all = [Float](repeating: 0, count: n * n)
            #expect(ov3d_vocabulary_scores(voc, feats, n, d, 1, &all, all.count) == 0)
            for i in 0..<n { #expect(abs(heat[i] - all[i * n + 4]) < 1e-5) }
            // NaN features, wrong dim
            var nanFeats = feats
            nanFeats[5] = .nan
            #expect(ov3d_vocabulary_classify(voc, nanFeats, n, d, 1, &labels, nil) == OV3D_ERR_INVALID_ARGUMENT.rawValue)
            #expect(ov3d_vocabulary_classify(voc, feats, n, d + 1, 1, &labels, nil) == OV3D_ERR_INVALID_ARGUMENT.rawValue)
            var other: OpaquePointer?
            #expect(ov3d_vocabulary_from_label_set(enc, "nope", nil, &other) == OV3D_ERR_INVALID_ARGUMENT.rawValue && other == nil)
            #expect(lastError().contains("unknown label set"))
            var cls: Int32 = -1
            #expect(ov3d_label_set_class_of("nuscenes16", 12, &cls) == 0 && cls == 6)
        }
    }

    @Test func rawEmbeddingsAndWrongModel() throws {
        var voc: OpaquePointer?
        let e: [Float] = [1, 0, 0, 0, 2, 0]
        #expect(ov3d_vocabulary_from_embeddings(nil, e, 2, 3, &voc) == 0)
        var name: UnsafePointer<CChar>?
        #expect(ov3d_vocabulary_name(voc, 1, &name) == 0 && String(cString: name!) == "1")
        ov3d_vocabulary_free(voc)
        let z: [Float] = [0, 0, 0]
        #expect(ov3d_vocabulary_from_embeddings(nil, z, 1, 3, &voc) == OV3D_ERR_INVALID_ARGUMENT.rawValue && voc == nil)
        let nan: [Float] = [.nan, 1, 1]
        #expect(ov3d_vocabulary_from_embeddings(nil, nan, 1, 3, &voc) == OV3D_ERR_INVALID_ARGUMENT.rawValue)
        guard let vocab = TextFixtures.vocabPath else { return }
        var enc: OpaquePointer?
        let s = ov3d_text_encoder_load(TestPaths.fixture("checkpoint/openscene18a_module.pth.tar"), vocab, nil, &enc)
        #expect(s == OV3D_ERR_FORMAT.rawValue && enc == nil)
        #expect(lastError().contains("not a CLIP text model"))
        #expect(ov3d_text_encoder_load(TestPaths.fixture("text/hf_tiny"), "/nonexistent.gz", nil, &enc) == OV3D_ERR_IO.rawValue)
    }
}

/// The real CLIP label embeddings shipped in ../shared/data/clip (made by OpenAI CLIP in fp16;
/// our weights are random, so they cannot be recomputed here): used to test vocabularies/scoring.
@Suite struct RealCLIPEmbeddingTests {
    @Test(arguments: ["512", "768"]) func scoring(_ dim: String) throws {
        guard let sp = TestPaths.shared("clip/text_embeddings/clip_scannet_labels_\(dim).npy"),
              let mp = TestPaths.shared("clip/text_embeddings/clip_matterport_labels_\(dim).npy") else { return }
        let s = try NPY.read(path: sp), m = try NPY.read(path: mp)
        let d = Int(dim)!
        #expect(s.shape == [20, d] && m.shape == [21, d] && s.dtype == .float16)
        let sv = try Vocabulary(names: LabelSet.scannet20.classNames, embeddings: s.floats(), dimension: d)
        let mv = try Vocabulary(names: LabelSet.matterport21.classNames, embeddings: m.floats(), dimension: d)
        // bit-identical first 20 rows
        #expect(Array(m.floats()[0..<(20 * d)]) == s.floats())
        // each label's raw (fp16) embedding classifies as itself with cosine ~1; distinct words < 0.99
        let r = try mv.classify(features: m.floats())
        #expect(r.labels == (0..<21).map { Int32($0) })
        #expect(r.scores.allSatisfy { abs($0 - 1) < 1e-3 })
        let all = try sv.scores(features: s.floats())
        for i in 0..<20 { for j in 0..<20 where i != j { #expect(all[i * 20 + j] < 0.99) } }
        // heat-map of 'chair' equals the scores column; fp16 rounding keeps values representable
        let h = try sv.heatmap(query: 4, features: s.floats())
        for i in 0..<20 { #expect(abs(h[i] - all[i * 20 + 4]) < 1e-5) }
        for x in sv.roundedToHalf().embeddings { #expect(halfToFloat(floatToHalf(x)) == x) }
        // a mixture of chair and table features scores both above the others
        var mix = [Float](repeating: 0, count: d)
        for j in 0..<d { mix[j] = sv.embeddings[4 * d + j] + sv.embeddings[6 * d + j] }
        let top = try sv.scores(features: mix).enumerated().sorted { $0.element > $1.element }.prefix(2).map { $0.offset }
        #expect(Set(top) == [4, 6])
    }
}
