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

    @Test func deflatedZip() throws {
        let sd = try CheckpointReader.load(path: CKFix.path("dtypes_views_deflated.pth"))
        CKFix.expectEqual(sd, try Safetensors.read(path: CKFix.path("dtypes_views.expected.safetensors")))
        let zip = try ZipArchive(storage: try FileIO.map(CKFix.path("dtypes_views_deflated.pth")))
        #expect(zip.entries.contains { $0.method == 8 })
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
            _ = try TorchTensorRebuild.tensor(storage: .storage(s), offset: .int(0), size: .makeTuple([.int(1 << 30), .int(1 << 30)]),
                                              stride: .makeTuple([.int(0), .int(0)]), maxRank: 32, copyBudget: &budget)
        }
        #expect(throws: OV3DError.self) {
            _ = try TorchTensorRebuild.tensor(storage: .storage(s), offset: .int(1), size: .makeTuple([.int(4)]),
                                              stride: .makeTuple([.int(1)]), maxRank: 32, copyBudget: &budget)
        }
    }

    /// A hand-built zip64 archive (sizes and offsets in the zip64 extra field, counts in the zip64
    /// end record), as torch writes for checkpoints over 4 GiB.
    @Test func zip64Archive() throws {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * UInt32($0)) & 0xFF) } }
        func le64(_ v: Int) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        let name = Array("archive/data/0".utf8)
        let data: [UInt8] = Array(0..<200).map { UInt8($0) }
        let crc = ZipArchive.crc32(data.withUnsafeBytes { $0 })
        var z: [UInt8] = []
        // local header (sizes 0xFFFFFFFF + zip64 extra)
        z += le32(0x0403_4B50) + le16(45) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc)
        z += le32(0xFFFF_FFFF) + le32(0xFFFF_FFFF) + le16(name.count) + le16(20) + name
        z += le16(1) + le16(16) + le64(data.count) + le64(data.count)
        z += data
        let cdOff = z.count
        z += le32(0x0201_4B50) + le16(45) + le16(45) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc)
        z += le32(0xFFFF_FFFF) + le32(0xFFFF_FFFF) + le16(name.count) + le16(28) + le16(0) + le16(0) + le16(0) + le32(0)
        z += le32(0xFFFF_FFFF) + name
        z += le16(1) + le16(24) + le64(data.count) + le64(data.count) + le64(0)
        let cdSize = z.count - cdOff
        let rec = z.count
        z += le32(0x0606_4B50) + le64(44) + le16(45) + le16(45) + le32(0) + le32(0)
        z += le64(1) + le64(1) + le64(cdSize) + le64(cdOff)
        z += le32(0x0706_4B50) + le32(0) + le64(rec) + le32(1)
        z += le32(0x0605_4B50) + le16(0) + le16(0) + le16(0xFFFF) + le16(0xFFFF) + le32(0xFFFF_FFFF) + le32(0xFFFF_FFFF) + le16(0)
        let zip = try ZipArchive(storage: ByteStorage(z))
        #expect(zip.entries.count == 1)
        #expect(zip.entries[0].uncompressedSize == 200)
        #expect(Array(try zip.contents(named: "archive/data/0").bytes) == data)
        // A zip64 locator pointing past the file is an error, not a crash.
        var bad = z
        let locAt = z.count - 22 - 20 + 8
        for i in 0..<8 { bad[locAt + i] = 0x7F }
        #expect(throws: OV3DError.self) { try ZipArchive(storage: ByteStorage(bad)) }
        // So is a zip64 entry offset past the directory.
        bad = z
        let extraOff = cdOff + 46 + name.count + 4 + 16
        for i in 0..<8 { bad[extraOff + i] = 0x7F }
        #expect(throws: OV3DError.self) { try ZipArchive(storage: ByteStorage(bad)) }
    }

    @Test func deflateBombIsRefused() throws {
        let b = try CKFix.bytes("dtypes_views_deflated.pth")
        let zip = try ZipArchive(storage: ByteStorage(b))
        // Declare a 3 GiB uncompressed size for every deflated entry of the central directory.
        var m = b
        var p = b.count - 22
        let cdOff = Int(UInt32(b[p + 16]) | UInt32(b[p + 17]) << 8 | UInt32(b[p + 18]) << 16 | UInt32(b[p + 19]) << 24)
        p = cdOff
        while p + 46 <= b.count, b[p] == 0x50, b[p + 1] == 0x4B, b[p + 2] == 1, b[p + 3] == 2 {
            if b[p + 10] == 8 { m[p + 24] = 0; m[p + 25] = 0; m[p + 26] = 0; m[p + 27] = 0xC0 }
            let nl = Int(b[p + 28]) | Int(b[p + 29]) << 8, el = Int(b[p + 30]) | Int(b[p + 31]) << 8, cl = Int(b[p + 32]) | Int(b[p + 33]) << 8
            p += 46 + nl + el + cl
        }
        #expect(zip.entries.count > 3)
        do {
            _ = try CheckpointReader.decode(ByteStorage(m))
            Issue.record("accepted")
        } catch let e as OV3DError { #expect(e.message.contains("declares"), "\(e.message)") }
    }

    @Test func sharedReferencesCannotBlowUp() throws {
        // Tuples of tuples built from memo references: 10 levels of 1000 references each (~10^30 leaves).
        var p: [UInt8] = [0x80, 0x02, 0x29, 0x71, 0x00, 0x30]
        for level in 0..<10 {
            p.append(0x28)
            for _ in 0..<1000 { p += [0x68, UInt8(level)] }
            p += [0x74, 0x71, UInt8(level + 1), 0x30]
        }
        p += [0x68, 10, 0x2E]
        var vm = PickleMachine()
        let v = try p.withUnsafeBytes { try vm.load($0) }.0
        #expect(v.depth == 11)
        // Dicts referencing one shared dict 100 times per level: the state-dict walk is bounded.
        var d = PickleDict()
        d.set(.string("x"), .int(1))
        for _ in 0..<8 {
            let up = PickleDict()
            for j in 0..<100 { up.set(.string("k\(j)"), .dict(d)) }
            d = up
        }
        #expect(throws: OV3DError.self) { try TorchCheckpoint.stateDict(from: .dict(d), format: "test") }
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
        // OrderedDict([("a", previous)]) chained 100k times: depth is tracked through REDUCE too.
        var od: [UInt8] = [0x80, 0x02, 0x4E]
        for _ in 0..<100_000 {
            od += [0x71, 0x00, 0x30]                                   // BINPUT 0, POP (keep previous in memo)
            od += Array("ccollections\nOrderedDict\n".utf8)             // GLOBAL
            od += [0x58, 1, 0, 0, 0, 0x61, 0x68, 0x00, 0x86, 0x85, 0x85, 0x52]  // (("a", prev),) -> args; REDUCE
        }
        od.append(0x2E)
        var odvm = PickleMachine()
        do {
            _ = try od.withUnsafeBytes { try odvm.load($0) }
            Issue.record("deep OrderedDict chain accepted")
        } catch let e as OV3DError {
            #expect(e.message.contains("nest"), "\(e.message)")
        }
        // A container inserted into itself (a reference cycle, which would leak) is refused.
        for cyc: [UInt8] in [[0x80, 0x02, 0x5D, 0x32, 0x61, 0x2E], [0x80, 0x02, 0x5D, 0x71, 0x00, 0x28, 0x68, 0x00, 0x65, 0x2E]] {
            var cvm = PickleMachine()
            do {
                _ = try cyc.withUnsafeBytes { try cvm.load($0) }
                Issue.record("cycle accepted")
            } catch let e as OV3DError { #expect(e.message.contains("itself"), "\(e.message)") }
        }
        let selfRef: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00, 0x58, 0x01, 0x00, 0x00, 0x00, 0x61, 0x68, 0x00, 0x73, 0x2E]
        var vm = PickleMachine()
        #expect(throws: OV3DError.self) {
            let v = try selfRef.withUnsafeBytes { try vm.load($0) }.0
            _ = try TorchCheckpoint.stateDict(from: v, format: "test")
        }
    }

    /// ≥ 10,000 random mutations of valid checkpoints (torch zip with optimizer state, dtypes and
    /// views, legacy, safetensors) plus mutations of a bare data.pkl run through the pickle machine:
    /// every load ends in a value or an OV3DError, never a crash.
    @Test func fuzzMutations() throws {
        var rng = SplitMix64(seed: 0x0D3D)
        func mutate(_ b: [UInt8], _ i: Int) -> [UInt8] {
            var m = b
            let flips = 1 + Int(rng.next() % 4)
            for _ in 0..<flips where !m.isEmpty {
                let at = Int(rng.next() % UInt64(m.count))
                switch rng.next() % 5 {
                case 0: m[at] ^= UInt8(1 << (rng.next() % 8))
                case 1: m[at] = UInt8(truncatingIfNeeded: rng.next())
                case 2: m[at] = [0x00, 0xFF, 0x7F, 0x80][Int(rng.next() % 4)]
                case 3: m.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                default: m.removeLast(Int(rng.next() % UInt64(min(64, m.count))))
                }
            }
            return m
        }
        var errors = 0, loaded = 0, total = 0
        let files = ["cua_awl.pth.tar", "dtypes_views.pth", "legacy.pth", "cua_awl.expected.safetensors"]
        for (f, name) in files.enumerated() {
            let b = try CKFix.bytes(name)
            let n = f == 3 ? 1_000 : 3_000
            for i in 0..<n {
                let m = mutate(b, i)
                // Half the runs skip the CRC so mutations reach the pickle machine and the storages.
                var opts = TorchCheckpoint.Options()
                opts.verifyCRC = i % 2 == 0
                opts.threads = 1
                do {
                    let sd = try CheckpointReader.decode(ByteStorage(m), options: opts)
                    for k in sd.keys { _ = sd[k]!.floats() }
                    loaded += 1
                } catch is OV3DError { errors += 1 }
                total += 1
            }
        }
        // Bare pickle: storages resolve to a small float buffer so tensor rebuilds are exercised.
        let zip = try ZipArchive(storage: ByteStorage(try CKFix.bytes("dtypes_views.pth")))
        let pkl = Array(try zip.contents(named: "dtypes_views/data.pkl").bytes)
        let st = PickleStorage(dtype: .float32, count: 64, bytes: ByteStorage([UInt8](repeating: 1, count: 256)))
        for i in 0..<2_000 {
            let m = mutate(pkl, i)
            var vm = PickleMachine(copyBudget: 1 << 16) { _ in .storage(st) }
            do {
                let v = try m.withUnsafeBytes { try vm.load($0) }.0
                _ = try? TorchCheckpoint.stateDict(from: v, format: "fuzz")
                loaded += 1
            } catch is OV3DError { errors += 1 }
            total += 1
        }
        #expect(total >= 10_000)
        #expect(errors + loaded == total)
        #expect(errors > total / 4)
        print("fuzz: \(total) mutations, \(errors) errors, \(loaded) loaded")
    }
}
