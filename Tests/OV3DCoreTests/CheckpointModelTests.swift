import Foundation
import Testing
import CSupport
@testable import OV3DCore
@testable import OV3DCAPI

/// A checkpoint loaded from the torch file and from its converted safetensors builds the same
/// network, whose outputs are identical (bit for bit) on the same voxels.
@Suite struct CheckpointModelTests {
    func voxels(_ n: Int) -> [Int32] {
        var rng = SplitMix64(seed: 7)
        var seen = Set<[Int32]>()
        var out: [Int32] = []
        while seen.count < n {
            let c = (0..<3).map { _ in Int32(rng.next() % 24) }
            if seen.insert(c).inserted { out += c }
        }
        return out
    }

    @Test(arguments: ["openscene18a_module.pth.tar", "cua_o3d.pth.tar"])
    func torchAndConvertedSafetensorsGiveIdenticalOutputs(_ name: String) throws {
        let torchSD = try CheckpointReader.load(path: CKFix.path(name))
        let tmp = NSTemporaryDirectory() + "ov3d-ckm-\(getpid())-\(name).safetensors"
        defer { unlink(tmp) }
        var o = CheckpointConverter.Options()
        o.stripPrefixes = true
        o.voxelSize = 0.02
        try CheckpointConverter.convert(input: CKFix.path(name), output: tmp, options: o)
        let stSD = try CheckpointReader.load(path: tmp)
        let meta = try ModelMetadata(stateDict: stSD)
        #expect(meta.voxelSize == 0.02)
        #expect(meta.formatVersion == 1)
        #expect(meta.heads.map(\.name) == (name.hasPrefix("cua") ? ["final", "final_dinov2", "final_sd"] : ["final"]))
        #expect(meta.heads.map(\.dim) == (name.hasPrefix("cua") ? [512, 1024, 3200] : [512]))
        let a = try MinkUNet(stateDict: torchSD), b = try MinkUNet(stateDict: stSD)
        #expect(a.spec == b.spec)
        let coords = voxels(300)
        let feats = [Float](repeating: 1, count: coords.count)
        let ya = try a.forward(coords: coords, features: feats, threads: 1, workspace: Workspace())
        let yb = try b.forward(coords: coords, features: feats, threads: 1, workspace: Workspace())
        #expect(ya.heads.count == b.spec.heads.count)
        // ... and the safetensors written by the `safetensors` package from the same torch tensors.
        let ref = try Safetensors.read(path: CKFix.path(name.replacingOccurrences(of: ".pth.tar", with: ".expected.safetensors")))
        let c = try MinkUNet(stateDict: ref)
        let yc = try c.forward(coords: coords, features: feats, threads: 1, workspace: Workspace())
        for ((x, y), z) in zip(zip(ya.heads, yb.heads), yc.heads) {
            #expect(x.map(\.bitPattern) == y.map(\.bitPattern))
            #expect(x.map(\.bitPattern) == z.map(\.bitPattern))
            #expect(x.contains { $0 != 0 })
        }
    }

    @Test func metadataConventionsAreValidated() throws {
        var sd = StateDict()
        sd.set("w", try Tensor([1, 2], shape: [2]))
        for (k, v) in [("ov3d.voxel_size", "-1"), ("ov3d.voxel_size", "nan"), ("ov3d.heads", "final=0"),
                       ("ov3d.heads", "final"), ("ov3d.label_set", "[1,2]"), ("ov3d.label_set", "wall"),
                       ("ov3d.format_version", "99"), ("ov3d.format_version", "x")] {
            var bad = sd
            bad.setMetadata(k, v)
            #expect(throws: OV3DError.self, "\(k)=\(v)") { try Safetensors.encode(bad) }
        }
        var m = ModelMetadata()
        m.architecture = "MinkUNet18A"
        m.heads = [.init(name: "final", dim: 512), .init(name: "final_sd", dim: 3200)]
        m.labelSet = ["wall", "floor", "fire \"extinguisher\""]
        m.voxelSize = 0.05
        m.apply(to: &sd)
        let back = try Safetensors.decode(ByteStorage(try Safetensors.encode(sd)))
        #expect(try ModelMetadata(stateDict: back) == m)
    }
}

@Suite struct CheckpointCAPITests {
    @Test func inspectionAndConvert() throws {
        var h: OpaquePointer? = nil
        #expect(OV3DCAPI.ov3d_checkpoint_open(CKFix.path("cua_awl.pth.tar"), &h) == 0)
        defer { OV3DCAPI.ov3d_checkpoint_free(h) }
        var n = 0
        #expect(OV3DCAPI.ov3d_checkpoint_count(h, &n) == 0 && n == 1)
        var name: UnsafePointer<CChar>? = nil, dt: UnsafePointer<CChar>? = nil
        var rank = 0
        var shape = [Int64](repeating: -1, count: 4)
        #expect(OV3DCAPI.ov3d_checkpoint_tensor(h, 0, &name, &dt, &rank, &shape, 4) == 0)
        #expect(String(cString: name!) == "params" && String(cString: dt!) == "float32" && rank == 1 && shape[0] == 3)
        var vals = [Float](repeating: 0, count: 3)
        #expect(OV3DCAPI.ov3d_checkpoint_read_f32(h, 0, &vals, 3) == 0)
        var sig = [Float](repeating: 0, count: 3)
        #expect(OV3DCAPI.ov3d_checkpoint_uncertainty_weights(h, &sig, 3) == 0)
        #expect(sig == vals)
        #expect(OV3DCAPI.ov3d_checkpoint_read_f32(h, 0, &vals, 2) == Status.invalidArgument.rawValue)
        #expect(OV3DCAPI.ov3d_checkpoint_read_f32(h, 1, &vals, 3) == Status.invalidArgument.rawValue)
        var value: UnsafePointer<CChar>? = nil
        #expect(OV3DCAPI.ov3d_checkpoint_metadata(h, "epoch", &value) == 0 && String(cString: value!) == "50")
        #expect(OV3DCAPI.ov3d_checkpoint_metadata(h, "nope", &value) == 0 && value == nil)
        var idx = 9
        #expect(OV3DCAPI.ov3d_checkpoint_find(h, "params", &idx) == 0 && idx == 0)
        #expect(OV3DCAPI.ov3d_checkpoint_find(h, "x", &idx) == Status.invalidArgument.rawValue)

        // convert with params, then open the result
        let out = NSTemporaryDirectory() + "ov3d-capi-\(getpid()).safetensors"
        defer { unlink(out) }
        var p = OV3DCAPI.ov3d_convert_default_params()
        p.voxel_size = 0.02
        let words: [String] = ["wall", "floor"]
        let labels: [UnsafeMutablePointer<CChar>] = words.map { (s: String) -> UnsafeMutablePointer<CChar> in strdup(s)! }
        defer { labels.forEach { free($0) } }
        let lp: [UnsafePointer<CChar>?] = labels.map { UnsafePointer($0) }
        let rc = lp.withUnsafeBufferPointer { b -> Int32 in
            p.labels = b.baseAddress
            p.n_labels = 2
            return OV3DCAPI.ov3d_convert(CKFix.path("cua_o3d.pth.tar"), out, &p)
        }
        #expect(rc == 0, "\(String(cString: ov3d_last_error()))")
        var h2: OpaquePointer? = nil
        #expect(OV3DCAPI.ov3d_checkpoint_open(out, &h2) == 0)
        defer { OV3DCAPI.ov3d_checkpoint_free(h2) }
        #expect(OV3DCAPI.ov3d_checkpoint_metadata(h2, "ov3d.heads", &value) == 0 && String(cString: value!) == "final=512,final_dinov2=1024,final_sd=3200")
        #expect(OV3DCAPI.ov3d_checkpoint_metadata(h2, "ov3d.label_set", &value) == 0 && String(cString: value!) == #"["wall","floor"]"#)
        #expect(OV3DCAPI.ov3d_checkpoint_uncertainty_weights(h2, &sig, 3) == Status.format.rawValue)
    }

    @Test func hostileArguments() {
        var h: OpaquePointer? = OpaquePointer(bitPattern: 0x1)
        #expect(OV3DCAPI.ov3d_checkpoint_open(nil, &h) == Status.invalidArgument.rawValue && h == nil)
        #expect(OV3DCAPI.ov3d_checkpoint_open(CKFix.path("x"), nil) == Status.invalidArgument.rawValue)
        #expect(OV3DCAPI.ov3d_checkpoint_open("/nonexistent/ov3d.pth", &h) == Status.io.rawValue)
        #expect(OV3DCAPI.ov3d_checkpoint_open(CKFix.path("malicious_os_system.pth"), &h) == Status.format.rawValue)
        #expect(String(cString: ov3d_last_error()).contains("system"))
        var n = 0
        #expect(OV3DCAPI.ov3d_checkpoint_count(nil, &n) == Status.invalidArgument.rawValue)
        #expect(OV3DCAPI.ov3d_checkpoint_tensor(nil, 0, nil, nil, nil, nil, 0) == Status.invalidArgument.rawValue)
        #expect(OV3DCAPI.ov3d_convert(nil, nil, nil) == Status.invalidArgument.rawValue)
        var p = OV3DCAPI.ov3d_convert_default_params()
        p.struct_size = 3
        #expect(OV3DCAPI.ov3d_convert(CKFix.path("cua_awl.pth.tar"), "/tmp/x.safetensors", &p) == Status.invalidArgument.rawValue)
        p = OV3DCAPI.ov3d_convert_default_params()
        p.voxel_size = .nan
        #expect(OV3DCAPI.ov3d_convert(CKFix.path("cua_awl.pth.tar"), "/tmp/x.safetensors", &p) == Status.invalidArgument.rawValue)
        p = OV3DCAPI.ov3d_convert_default_params()
        p.n_labels = 5
        #expect(OV3DCAPI.ov3d_convert(CKFix.path("cua_awl.pth.tar"), "/tmp/x.safetensors", &p) == Status.invalidArgument.rawValue)
        OV3DCAPI.ov3d_checkpoint_free(nil)
    }
}
