import Foundation
import Testing
@testable import OV3DCore

/// Fixtures: Tests/Fixtures/checkpoint, written by tools/make_checkpoint_fixtures.py with the real torch.save.
enum CKFix {
    static func path(_ name: String) -> String { TestPaths.fixture("checkpoint/" + name) }
    static func bytes(_ name: String) throws -> [UInt8] { try FileIO.read(path(name)) }

    /// Every tensor of `got` equals the reference (dtype, shape, bytes) and the key sets are equal.
    static func expectEqual(_ got: StateDict, _ ref: StateDict, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(Set(got.keys) == Set(ref.keys), sourceLocation: sourceLocation)
        for k in ref.keys {
            guard let a = got[k], let b = ref[k] else { Issue.record("missing \(k)", sourceLocation: sourceLocation); continue }
            #expect(a.dtype == b.dtype, "\(k)", sourceLocation: sourceLocation)
            #expect(a.shape == b.shape, "\(k)", sourceLocation: sourceLocation)
            #expect(Array(a.bytes) == Array(b.bytes), "\(k) bytes differ", sourceLocation: sourceLocation)
        }
    }

    static func expected() throws -> [String: Any] {
        let d = try Data(contentsOf: URL(fileURLWithPath: path("expected.json")))
        return try JSONSerialization.jsonObject(with: d) as! [String: Any]
    }
}

@Suite struct CheckpointTests {
    @Test func openSceneModulePrefixWithOptimizer() throws {
        let sd = try CheckpointReader.load(path: CKFix.path("openscene18a_module.pth.tar"))
        let ref = try Safetensors.read(path: CKFix.path("openscene18a_module.expected.safetensors"))
        #expect(sd.count == 289)
        CKFix.expectEqual(sd, ref)
        let exp = try CKFix.expected()["openscene18a_module.pth.tar"] as! [String: Any]
        #expect(sd.keys == exp["keys"] as! [String])  // file order preserved
        #expect(sd.keys.first == "module.net3d.conv0p1s1.kernel")
        #expect(sd.metadata("epoch") == "37")
        #expect(Double(sd.metadata("best_iou") ?? "") == (exp["best_iou"] as! Double))
        #expect(sd.metadata("optimizer")?.hasPrefix("skipped") == true)
        #expect(sd.metadata("ov3d.source_format") == "torch-zip")
        #expect(sd["module.net3d.final.kernel"]?.shape == [6, 512])
        #expect(sd["module.net3d.bn0.bn.num_batches_tracked"]?.dtype == .int64)
        #expect(sd["module.net3d.bn0.bn.num_batches_tracked"]?.shape == [])
    }

    @Test func openSceneNet3dPlainStateDict() throws {
        let sd = try CheckpointReader.load(path: CKFix.path("openscene18a_net3d.pth"))
        CKFix.expectEqual(sd, try Safetensors.read(path: CKFix.path("openscene18a_net3d.expected.safetensors")))
        #expect(sd.count == 289)
        #expect(sd.keys.allSatisfy { $0.hasPrefix("net3d.") })
    }

    @Test func cuaMultiHead() throws {
        let sd = try CheckpointReader.load(path: CKFix.path("cua_o3d.pth.tar"))
        CKFix.expectEqual(sd, try Safetensors.read(path: CKFix.path("cua_o3d.expected.safetensors")))
        #expect(sd.count == 291)
        #expect(sd["net3d.final.kernel"]?.shape == [6, 512])
        #expect(sd["net3d.final_dinov2.kernel"]?.shape == [6, 1024])
        #expect(sd["net3d.final_sd.kernel"]?.shape == [6, 3200])
        #expect(sd.metadata("epoch") == "50")
    }

    @Test func cuaUncertaintyWeights() throws {
        let w = try UncertaintyWeights.load(path: CKFix.path("cua_awl.pth.tar"))
        let exp = try CKFix.expected()["cua_awl.pth.tar"] as! [String: Any]
        let want = (exp["params"] as! [Double]).map { Float($0) }
        #expect(w.sigmas == want)
        #expect(w.teachers == ["lseg", "dinov2", "sd"])
        // weights 0.5/σ² as in the AutomaticWeightedLoss
        #expect(w.lossWeights[0] == 0.5 / (want[0] * want[0]))
        let sd = try CheckpointReader.load(path: CKFix.path("cua_awl.pth.tar"))
        CKFix.expectEqual(sd, try Safetensors.read(path: CKFix.path("cua_awl.expected.safetensors")))
    }

    @Test func dtypesViewsSharedStorages() throws {
        let sd = try CheckpointReader.load(path: CKFix.path("dtypes_views.pth"))
        let ref = try Safetensors.read(path: CKFix.path("dtypes_views.expected.safetensors"))
        CKFix.expectEqual(sd, ref)
        #expect(sd["f16"]?.dtype == .float16)
        #expect(sd["bf16"]?.dtype == .bfloat16)
        #expect(sd["bool"]?.dtype == .bool)
        #expect(sd["transposed"]?.shape == [5, 6])
        #expect(sd["expanded"]?.shape == [4, 3])
        #expect(sd["scalar"]?.shape == [])
        #expect(sd["empty"]?.shape == [0, 4])
        // 'base' and 'slice_a' are contiguous: zero-copy views sharing the archive's mapping
        #expect(sd["base"]!.storage === sd["param"]!.storage || sd["base"]!.storage !== sd["transposed"]!.storage)
        #expect(try sd["i64"]!.int64s() == [-(1 << 40), -1, 0, 7, 1 << 62])
    }

    @Test func legacyFormat() throws {
        let sd = try CheckpointReader.load(path: CKFix.path("legacy.pth"))
        CKFix.expectEqual(sd, try Safetensors.read(path: CKFix.path("legacy.expected.safetensors")))
        #expect(sd.metadata("ov3d.source_format") == "torch-legacy")
        #expect(sd.metadata("epoch") == "3")
    }

    @Test func safetensorsRoundTripThroughReader() throws {
        let sd = try CheckpointReader.load(path: CKFix.path("dtypes_views.pth"))
        let tmp = NSTemporaryDirectory() + "ov3d-ck-\(getpid()).safetensors"
        defer { unlink(tmp) }
        try Safetensors.write(sd, path: tmp)
        let back = try CheckpointReader.load(path: tmp)
        CKFix.expectEqual(back, sd)
        #expect(back.metadata("ov3d.source_format") == "torch-zip")
    }
}

@Suite struct CheckpointHostileTests {
    @Test(arguments: ["malicious_os_system.pkl", "malicious_os_system.pth", "malicious_eval_stack_global.pkl",
                      "malicious_inst.pkl", "malicious_torch_load.pkl", "malicious_nested_global.pkl"])
    func refusesCode(_ name: String) throws {
        unlink("/tmp/ov3d_pwned")
        let bytes = try CKFix.bytes(name)
        // Through the reader (format detection) and straight through the pickle machine.
        #expect(throws: OV3DError.self) { try CheckpointReader.load(path: CKFix.path(name)) }
        if name.hasSuffix(".pkl") {
            var vm = PickleMachine()
            do {
                _ = try bytes.withUnsafeBytes { try vm.load($0) }
                Issue.record("\(name) was accepted")
            } catch let e as OV3DError {
                let refused = ["system", "eval", "Popen", "torch.load", "refusing", "unsupported opcode"].contains { e.message.contains($0) }
                #expect(refused, "\(e.message)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/ov3d_pwned"))
    }

    @Test func osSystemErrorNamesTheGlobal() throws {
        do {
            _ = try CheckpointReader.load(path: CKFix.path("malicious_os_system.pth"))
            Issue.record("accepted")
        } catch let e as OV3DError {
            #expect(e.message.contains("posix.system") || e.message.contains("os.system"), "\(e.message)")
        }
    }

    @Test func truncatedZipsAreErrors() throws {
        let b = try CKFix.bytes("dtypes_views.pth")
        for cut in stride(from: 0, to: b.count, by: max(1, b.count / 300)) {
            #expect(throws: OV3DError.self) { try CheckpointReader.decode(ByteStorage(Array(b.prefix(cut)))) }
        }
    }

    @Test func badCRCIsAnError() throws {
        var b = try CKFix.bytes("dtypes_views.pth")
        let zip = try ZipArchive(storage: ByteStorage(b))
        let e = zip.entries.first { $0.name.hasSuffix("/data/0") }!
        b[e.dataOffset] ^= 0x01
        do {
            _ = try CheckpointReader.decode(ByteStorage(b))
            Issue.record("accepted a corrupted storage")
        } catch let err as OV3DError {
            #expect(err.message.contains("CRC"), "\(err.message)")
        }
        // ... and accepted with verification off (the structure is intact).
        var opts = TorchCheckpoint.Options()
        opts.verifyCRC = false
        #expect(throws: Never.self) { try CheckpointReader.decode(ByteStorage(b), options: opts) }
    }

    @Test func giantDeclaredSizesAreErrors() throws {
        let b = try CKFix.bytes("dtypes_views.pth")
        let zip = try ZipArchive(storage: ByteStorage(b))
        // Patch every central-directory size field (compressed, uncompressed) of one entry.
        var cd = b.count - 22
        while !(b[cd] == 0x50 && b[cd + 1] == 0x4b && b[cd + 2] == 1 && b[cd + 3] == 2) { cd -= 1 }  // last central entry
        for field in [20, 24, 42] {
            var m = b
            for i in 0..<4 { m[cd + field + i] = 0xFF }
            #expect(throws: OV3DError.self) { try CheckpointReader.decode(ByteStorage(m)) }
            for i in 0..<4 { m[cd + field + i] = 0x7F }
            #expect(throws: OV3DError.self) { try CheckpointReader.decode(ByteStorage(m)) }
        }
        // EOCD entry count and directory size
        let eocd = b.count - 22
        for field in [10, 12, 16] {
            var m = b
            for i in 0..<2 { m[eocd + field + i] = 0xFE }
            #expect(throws: OV3DError.self) { try CheckpointReader.decode(ByteStorage(m)) }
        }
        #expect(zip.entries.count > 4)
        // A pickle declaring a 4 GiB string, a huge storage numel, and a gigantic tensor view.
        let hugeString: [UInt8] = [0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E]
        var vm = PickleMachine()
        #expect(throws: OV3DError.self) { _ = try hugeString.withUnsafeBytes { try vm.load($0) } }
        let s = PickleStorage(dtype: .float32, count: 4, bytes: ByteStorage([UInt8](repeating: 0, count: 16)))
        var budget = 1 << 20
        #expect(throws: OV3DError.self) {
            _ = try TorchTensorRebuild.tensor(storage: .storage(s), offset: .int(0), size: .tuple([.int(1 << 30), .int(1 << 30)]),
                                              stride: .tuple([.int(0), .int(0)]), maxRank: 32, copyBudget: &budget)
        }
        #expect(throws: OV3DError.self) {
            _ = try TorchTensorRebuild.tensor(storage: .storage(s), offset: .int(1), size: .tuple([.int(4)]),
                                              stride: .tuple([.int(1)]), maxRank: 32, copyBudget: &budget)
        }
    }

    @Test func deepNestingIsAnError() throws {
        // [[[[...]]]] 100k deep via EMPTY_LIST ... APPEND, and 100k MARKs, and nested tuples.
        var lists: [UInt8] = [0x80, 0x02]
        lists += [UInt8](repeating: 0x5D, count: 100_000)
        lists += [UInt8](repeating: 0x61, count: 99_999)
        lists.append(0x2E)
        var marks: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x28, count: 100_000) + [UInt8](repeating: 0x74, count: 100_000) + [0x2E]
        var tuples: [UInt8] = [0x80, 0x02, 0x29] + [UInt8](repeating: 0x85, count: 100_000) + [0x2E]
        for p in [lists, marks, tuples] {
            var vm = PickleMachine()
            do {
                _ = try p.withUnsafeBytes { try vm.load($0) }
                Issue.record("deep nesting accepted")
            } catch let e as OV3DError {
                #expect(e.message.contains("nest") || e.message.contains("mark"), "\(e.message)")
            }
        }
        marks = []; tuples = []
        // A list containing itself (via the memo) is fine to load, and the state-dict search terminates.
        let selfRef: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00, 0x58, 0x01, 0x00, 0x00, 0x00, 0x61, 0x68, 0x00, 0x73, 0x2E]
        var vm = PickleMachine()
        #expect(throws: OV3DError.self) {
            let v = try selfRef.withUnsafeBytes { try vm.load($0) }.0
            _ = try TorchCheckpoint.stateDict(from: v, format: "test")
        }
    }

    /// ≥ 10,000 random mutations of a valid checkpoint: every load ends in a value or an error, never a crash.
    @Test func fuzzMutations() throws {
        let b = try CKFix.bytes("cua_awl.pth.tar")
        var rng = SplitMix64(seed: 0x0D3D)
        var errors = 0, loaded = 0
        let n = 12_000
        for i in 0..<n {
            var m = b
            let flips = 1 + Int(rng.next() % 4)
            for _ in 0..<flips {
                let at = Int(rng.next() % UInt64(m.count))
                switch rng.next() % 4 {
                case 0: m[at] ^= UInt8(1 << (rng.next() % 8))
                case 1: m[at] = UInt8(truncatingIfNeeded: rng.next())
                case 2: m[at] = [0x00, 0xFF, 0x7F, 0x80][Int(rng.next() % 4)]
                default: if i % 7 == 0 { m.removeLast(Int(rng.next() % UInt64(min(64, m.count)))) } else { m[at] = 0 }
                }
            }
            // Half the runs skip the CRC so mutations reach the pickle machine and the storages.
            var opts = TorchCheckpoint.Options()
            opts.verifyCRC = i % 2 == 0
            do {
                let sd = try CheckpointReader.decode(ByteStorage(m), options: opts)
                for k in sd.keys { _ = sd[k]!.floats() }
                loaded += 1
            } catch is OV3DError { errors += 1 }
        }
        #expect(errors + loaded == n)
        #expect(errors > n / 4)
        print("fuzz: \(n) mutations, \(errors) errors, \(loaded) loaded")
    }
}

