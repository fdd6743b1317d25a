import Foundation
import Testing
import CSupport
@testable import OV3DCAPI
@testable import OV3DCore

/// The C ABI of models, sessions and results: a full run against the spconv fixture, and
/// hostile inputs (each a clear error, never a crash).
@Suite(.serialized) struct MinkUNetABITests {
    static let dir = MinkFixture.dir("room_18a_w8")

    func lastError() -> String { String(cString: ov3d_last_error()) }

    func loadModel() throws -> OpaquePointer {
        var model: OpaquePointer? = nil
        let st = ov3d_model_load(Self.dir + "/weights.safetensors", nil, &model)
        #expect(st == 0, "\(lastError())")
        return try #require(model)
    }

    @Test func runMatchesFixtureThroughTheABI() throws {
        guard MinkFixture.exists("room_18a_w8") else { return }
        let model = try loadModel()
        defer { ov3d_model_free(model) }
        var heads: Int32 = 0, dim: Int32 = 0
        #expect(ov3d_model_head_count(model, &heads) == 0 && heads == 3)
        #expect(ov3d_model_head_dim(model, 2, &dim) == 0 && dim == 12)
        var name: UnsafePointer<CChar>? = nil
        #expect(ov3d_model_head_name(model, 1, &name) == 0 && String(cString: name!) == "final_dinov2")
        #expect(ov3d_model_variant(model, &name) == 0 && String(cString: name!) == "MinkUNet(custom)")

        var sp = OV3DCAPI.ov3d_session_default_params()
        sp.voxel_size = 0.05
        sp.n_threads = 2
        var session: OpaquePointer? = nil
        #expect(ov3d_session_create(model, &sp, &session) == 0)
        defer { ov3d_session_free(session) }
        let pts = try MinkFixture.floats(Self.dir + "/points.npy").values
        var result: OpaquePointer? = nil
        try pts.withUnsafeBufferPointer { bp in
            var view = ov3d_points_init(bp.baseAddress, pts.count / 3, 0)
            #expect(ov3d_session_run(session, &view, nil, &result) == 0, "\(lastError())")
            _ = try #require(result)
        }
        defer { ov3d_result_free(result) }
        var np = 0, nv = 0
        #expect(ov3d_result_point_count(result, &np) == 0 && np == pts.count / 3)
        #expect(ov3d_result_voxel_count(result, &nv) == 0 && nv == 4308)
        var idx: UnsafePointer<Int32>? = nil
        #expect(ov3d_result_voxel_index(result, &idx) == 0)
        let inverse = try MinkFixture.ints(Self.dir + "/inverse.npy")
        #expect(Array(UnsafeBufferPointer(start: idx, count: np)) == inverse)
        // Input features of this fixture are random, not ones: compare through run_voxels.
        let coords = try MinkFixture.ints(Self.dir + "/coords.npy")
        let feats = try MinkFixture.floats(Self.dir + "/input_features.npy").values
        var r2: OpaquePointer? = nil
        #expect(ov3d_session_run_voxels(session, coords, nv, feats, 3, nil, &r2) == 0, "\(lastError())")
        defer { ov3d_result_free(r2) }
        for (h, file, d) in [(0, "voxel_features.npy", 16), (2, "voxel_features.final_sd.npy", 12)] {
            var f: UnsafePointer<Float>? = nil
            #expect(ov3d_result_features(r2, Int32(h), 0, &f) == 0)
            let ref = try MinkFixture.floats(Self.dir + "/" + file).values
            let e = MinkFixture.relMaxAbs(Array(UnsafeBufferPointer(start: f, count: nv * d)), ref)
            #expect(e.rel < 1e-4)
            var fn: UnsafePointer<Float>? = nil
            #expect(ov3d_result_voxel_features(r2, Int32(h), 1, &fn) == 0)
            let row = Array(UnsafeBufferPointer(start: fn, count: d))
            #expect(abs(row.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5)
        }
        // Per-point features are the voxel rows through the inverse map.
        var pf: UnsafePointer<Float>? = nil, vf: UnsafePointer<Float>? = nil
        #expect(ov3d_result_features(result, 0, 0, &pf) == 0 && ov3d_result_voxel_features(result, 0, 0, &vf) == 0)
        for p in [0, 17, np - 1] {
            let r = Int(inverse[p])
            #expect(Array(UnsafeBufferPointer(start: pf! + p * 16, count: 16)) == Array(UnsafeBufferPointer(start: vf! + r * 16, count: 16)))
        }
        // One head only.
        var rp = OV3DCAPI.ov3d_run_default_params()
        rp.head = 1
        var r3: OpaquePointer? = nil
        #expect(ov3d_session_run_voxels(session, coords, nv, feats, 3, &rp, &r3) == 0)
        defer { ov3d_result_free(r3) }
        var d: Int32 = 0
        #expect(ov3d_result_feature_dim(r3, 1, &d) == 0 && d == 8)
        #expect(ov3d_result_feature_dim(r3, 0, &d) != 0)
    }

    @Test func hostileArgumentsAreErrors() throws {
        guard MinkFixture.exists("room_18a_w8") else { return }
        var model: OpaquePointer? = nil
        #expect(ov3d_model_load(nil, nil, &model) == -1 && model == nil)
        #expect(ov3d_model_load("/nonexistent/x.pth", nil, &model) < 0 && model == nil)
        #expect(ov3d_model_load(Self.dir + "/weights.safetensors", nil, nil) == -1)
        var bad = OV3DCAPI.ov3d_model_default_params()
        bad.struct_size = 3
        #expect(ov3d_model_load(Self.dir + "/weights.safetensors", &bad, &model) == -1)
        var s: OpaquePointer? = nil
        #expect(ov3d_session_create(nil, nil, &s) == -1 && s == nil)
        var r: OpaquePointer? = nil
        #expect(ov3d_session_run(nil, nil, nil, &r) == -1 && r == nil)
        var n = 0
        #expect(ov3d_result_point_count(nil, &n) == -1)
        ov3d_model_free(nil); ov3d_session_free(nil); ov3d_result_free(nil)

        let m = try loadModel()
        defer { ov3d_model_free(m) }
        // a model handle is not a session handle
        #expect(ov3d_session_run(m, nil, nil, &r) == -1)
        var sp = OV3DCAPI.ov3d_session_default_params()
        sp.voxel_size = Float.nan
        #expect(ov3d_session_create(m, &sp, &s) == -1)
        sp.voxel_size = 0.05
        #expect(ov3d_session_create(m, &sp, &s) == 0)
        defer { ov3d_session_free(s) }

        func run(_ pts: [Float]) -> (Int32, String) {
            var res: OpaquePointer? = nil
            let st = pts.withUnsafeBufferPointer { bp in
                var v = ov3d_points_init(bp.baseAddress, pts.count / 3, 0)
                return ov3d_session_run(s, &v, nil, &res)
            }
            let msg = lastError()
            ov3d_result_free(res)
            return (st, msg)
        }
        #expect(run([]).0 == -1)                                           // empty cloud
        #expect(run([1, 2, 3]).0 == 0)                                     // one point
        #expect(run([Float](repeating: 0.5, count: 300)).0 == 0)           // all in one voxel
        let nan = run([0, 0, 0, .nan, 1, 1])
        #expect(nan.0 == -1 && nan.1.contains("non-finite"))
        #expect(run([0, 0, 0, .infinity, 1, 1]).0 == -1)
        let far = run([0, 0, 0, 60_000, 0, 0])                              // 1.2M voxels at 5 cm
        #expect(far.0 == -1 && far.1.contains("2^20"))
        var rp = OV3DCAPI.ov3d_run_default_params()
        rp.head = 7
        var res: OpaquePointer? = nil
        let one: [Float] = [1, 2, 3]
        one.withUnsafeBufferPointer { bp in
            var v = ov3d_points_init(bp.baseAddress, 1, 0)
            #expect(ov3d_session_run(s, &v, &rp, &res) == -1)
            var v2 = ov3d_points_init(bp.baseAddress, 1, 4)                // stride < 12
            #expect(ov3d_session_run(s, &v2, nil, &res) == -1)
        }
        // voxel runs: duplicates, out of range, wrong channels
        #expect(ov3d_session_run_voxels(s, [0, 0, 0, 0, 0, 0], 2, nil, 0, nil, &res) == -1)
        #expect(ov3d_session_run_voxels(s, [1 << 20, 0, 0], 1, nil, 0, nil, &res) == -1)
        #expect(ov3d_session_run_voxels(s, [0, 0, 0], 1, [1, 1], 2, nil, &res) == -1)
        #expect(ov3d_session_run_voxels(s, nil, 1, nil, 0, nil, &res) == -1)
        #expect(ov3d_session_run_voxels(s, [0, 0, 0], 1 << 62, nil, 0, nil, &res) == -1)
        #expect(res == nil)
    }

    @Test func progressCallbackCancels() throws {
        guard MinkFixture.exists("room_18a_w8") else { return }
        let m = try loadModel()
        defer { ov3d_model_free(m) }
        var sp = OV3DCAPI.ov3d_session_default_params()
        sp.voxel_size = 0.05
        sp.progress = { (fraction: Float, _: UnsafePointer<CChar>?, _: UnsafeMutableRawPointer?) -> Int32 in fraction > 0.3 ? 1 : 0 }
        var s: OpaquePointer? = nil
        #expect(ov3d_session_create(m, &sp, &s) == 0)
        defer { ov3d_session_free(s) }
        var res: OpaquePointer? = nil
        let st = ov3d_session_run_voxels(s, [0, 0, 0, 1, 0, 0, 5, 5, 5], 3, nil, 0, nil, &res)
        #expect(st == -6 && res == nil)
    }

    @Test func wrongWeightShapeIsANamedError() throws {
        guard MinkFixture.exists("room_18a_w8") else { return }
        var sd = try Safetensors.read(path: Self.dir + "/weights.safetensors")
        sd.set("net3d.block3.1.conv2.kernel", try Tensor([Float](repeating: 0, count: 27 * 16 * 15), shape: [27, 16, 15]))
        sd.remove("net3d.bn4.bn.running_var")
        sd.set("net3d.extra.kernel", try Tensor([1], shape: [1]))
        let path = NSTemporaryDirectory() + "ov3d-bad-weights-\(getpid()).safetensors"
        try Safetensors.write(sd, path: path)
        defer { unlink(path) }
        var model: OpaquePointer? = nil
        #expect(ov3d_model_load(path, nil, &model) == -3 && model == nil)
        let msg = lastError()
        #expect(msg.contains("block3.1.conv2.kernel") && msg.contains("bn4.bn.running_var") && msg.contains("extra.kernel"))
        // A truncated head: not a MinkUNet at all.
        var sd2 = StateDict()
        sd2.set("net3d.conv0p1s1.kernel", try Tensor([Float](repeating: 0, count: 10), shape: [10]))
        try Safetensors.write(sd2, path: path)
        #expect(ov3d_model_load(path, nil, &model) == -3)
        #expect(throws: OV3DError.self) { try MinkUNetSpec.infer(from: sd2) }
    }
}
