import Foundation
import Testing
@testable import OV3DCore

/// OpenAI CLIP TorchScript archives (`ViT-B-32.pt` and friends, written by `torch.jit.save`):
/// the parameter tree rebuilt as data, the text tower against PyTorch, hostile archives refused.
/// Fixtures: tools/make_clip_torchscript_fixture.py (openai-clip 1.0.1, torch 2.13.0+cpu).
@Suite struct CLIPTorchScriptTests {
    static let archive = TestPaths.fixture("text/openai_clip_tiny_jit.pt")

    static func tokens() throws -> [[Int32]] {
        let t = try NPY.read(path: TestPaths.fixture("text/openai_clip_tiny_jit_tokens.npy"))
        let v = try t.int64s()
        return (0..<t.shape[0]).map { r in (0..<t.shape[1]).map { Int32(v[r * t.shape[1] + $0]) } }
    }

    @Test func parameterTreeIsReadAsData() throws {
        let sd = try CheckpointReader.load(path: Self.archive)
        #expect(sd.metadata("ov3d.source_format") == "torchscript")
        #expect(sd.metadata("ov3d.torchscript.class") == "__torch__.clip.model.CLIP")
        // Text tower, visual tower (parsed, not used) and the three scalar buffers OpenAI adds.
        let te = try sd.tensor("token_embedding.weight")
        #expect(te.shape == [49408, 4] && te.dtype == .float32)
        #expect(try sd.tensor("text_projection").dtype == .float16)
        #expect(try sd.tensor("transformer.resblocks.1.attn.in_proj_weight").shape == [12, 4])
        #expect(try sd.tensor("transformer.resblocks.1.attn.out_proj.weight").dtype == .float16)
        #expect(try sd.tensor("ln_final.weight").shape == [4])
        #expect(try sd.tensor("visual.conv1.weight").shape == [64, 3, 8, 8])
        #expect(try sd.tensor("visual.transformer.resblocks.0.attn.in_proj_weight").shape == [192, 64])
        #expect(try sd.tensor("vocab_size").int64s() == [49408])
        #expect(try sd.tensor("context_length").int64s() == [77])
    }

    @Test func textTowerMatchesPyTorch() throws {
        let model = try CLIPTextModel(path: Self.archive)
        #expect(model.config.width == 4 && model.config.heads == 1 && model.config.layers == 2)
        #expect(model.config.embedDimension == 12 && model.config.contextLength == 77)
        let tokens = try Self.tokens()
        let got = try model.encode(tokens: tokens, threads: 1)
        let (ref, shape) = try TextFixtures.npy("openai_clip_tiny_jit_embeddings.npy")
        #expect(shape == [tokens.count, 12] && got.count == ref.count)
        var maxAbs: Float = 0
        for (a, b) in zip(got, ref) { maxAbs = max(maxAbs, abs(a - b)) }
        print("OpenAI CLIP TorchScript tiny: max |ov3d - PyTorch| = \(maxAbs) over \(ref.count) values")
        #expect(maxAbs < 1e-5)
    }

    @Test func tokenizerAndEncoderMatchOpenAIsClip() throws {
        guard let tok = try TextFixtures.tokenizer() else { return }
        let info = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath:
            TestPaths.fixture("text/openai_clip_tiny_jit.json")))) as? [String: Any]
        let texts = try #require(info?["texts"] as? [String])
        #expect(try texts.map { try tok.tokenize($0) } == (try Self.tokens()))
        let enc = try TextEncoder(tokenizer: tok, model: try CLIPTextModel(path: Self.archive))
        let got = try enc.encode(texts, options: TextEncodeOptions(template: nil, normalize: false, threads: 1))
        let (ref, _) = try TextFixtures.npy("openai_clip_tiny_jit_embeddings.npy")
        var maxAbs: Float = 0
        for (a, b) in zip(got, ref) { maxAbs = max(maxAbs, abs(a - b)) }
        #expect(maxAbs < 1e-5, "\(maxAbs)")
    }

    @Test(arguments: ["os_system_attribute", "newobj_os_system", "reduce_torch_class", "torch_prefix_trick",
                      "stack_global_eval"])
    func hostileArchivesAreRefused(_ name: String) throws {
        unlink("/tmp/ov3d_pwned")
        let path = TestPaths.fixture("text/malicious_torchscript_\(name).pt")
        do {
            _ = try CheckpointReader.load(path: path)
            Issue.record("\(name) was accepted")
        } catch let e as OV3DError {
            #expect(e.status == .format)
            // `__torch__.os.system` is only a class *name* under __torch__: rebuilt as an empty
            // attribute dict (nothing looked up), then refused for holding no tensors.
            let said = ["posix.system", "os.system", "builtins.eval", "refusing", "construct", "no tensors"].contains { e.message.contains($0) }
            #expect(said, "\(e.message)")
        }
        #expect(throws: OV3DError.self) { try CLIPTextModel(path: path) }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/ov3d_pwned"))
    }

    /// Pickle bytes: PROTO 2, then `body`, then STOP.
    static func pickle(_ body: [UInt8]) -> [UInt8] { [0x80, 0x02] + body + [0x2E] }
    static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array((module + "\n" + name + "\n").utf8) }
    static func unicode(_ s: String) -> [UInt8] {
        let u = Array(s.utf8)
        return [0x58, UInt8(u.count), 0, 0, 0] + u
    }

    @Test func objectsOnlyInTorchScriptModeAndOnlyAsData() throws {
        let cls = Self.global("__torch__.m", "Net")
        // EMPTY_TUPLE NEWOBJ EMPTY_DICT MARK 'w' 1 SETITEMS BUILD
        let obj = Self.pickle(cls + [0x29, 0x81, 0x7D, 0x28] + Self.unicode("w") + [0x4B, 0x01, 0x75, 0x62])
        var plain = PickleMachine()
        #expect(throws: OV3DError.self) { try obj.withUnsafeBytes { try plain.load($0) } }
        var vm = PickleMachine()
        vm.torchScriptObjects = true
        let (v, _) = try obj.withUnsafeBytes { try vm.load($0) }
        let d = try #require(v.dictValue)
        #expect(d.className == "__torch__.m.Net" && d["w"]?.intValue == 1)
        // Built twice, a non-dict state, constructor arguments, REDUCE of the class: refused.
        let build: [UInt8] = [0x7D, 0x28] + Self.unicode("w") + [0x4B, 0x01, 0x75, 0x62]
        let twice = Self.pickle(cls + [0x29, 0x81] + build + build)
        let tupleState = Self.pickle(cls + [0x29, 0x81, 0x4B, 0x01, 0x85, 0x62])
        let args = Self.pickle(cls + [0x4B, 0x01, 0x85, 0x81])
        let reduce = Self.pickle(cls + [0x29, 0x52])
        let nonStringKey = Self.pickle(cls + [0x29, 0x81, 0x7D, 0x28, 0x4B, 0x01, 0x4B, 0x02, 0x75, 0x62])
        for bad in [twice, tupleState, args, reduce, nonStringKey] {
            var m = PickleMachine()
            m.torchScriptObjects = true
            #expect(throws: OV3DError.self) { try bad.withUnsafeBytes { try m.load($0) } }
        }
        // The TorchScript list builders return their argument; other torch.jit names stay refused.
        let intlist = Self.pickle(Self.global("torch.jit._pickle", "build_intlist") + [0x5D, 0x4B, 0x07, 0x61, 0x85, 0x52])
        let (l, _) = try intlist.withUnsafeBytes { try vm.load($0) }
        #expect(l.sequence?.first?.intValue == 7)
        let other = Self.pickle(Self.global("torch.jit", "load") + [0x29, 0x52])
        #expect(throws: OV3DError.self) { try other.withUnsafeBytes { try vm.load($0) } }
    }

    @Test func torchScriptClassNames() {
        for ok in ["__torch__.clip.model.CLIP", "__torch__.torch.nn.modules.linear.Linear", "__torch__.a_1.___torch_mangle_12.B"] {
            #expect(PickleMachine.isTorchScriptClass(ok), "\(ok)")
        }
        for bad in ["__torch__.", "__torch__", "__torch__..a", "__torch__.a.", "__torch__.1a", "__torch__.a b",
                    "__torch__.os;system", "torch.nn.Linear", "posix.system", "__torch__.a/b",
                    "__torch__." + String(repeating: "a", count: 600)] {
            #expect(!PickleMachine.isTorchScriptClass(bad), "\(bad)")
        }
    }
}
