import CSupport
import Foundation
import Testing
@testable import OV3DCAPI
@testable import OV3DCore

@Suite struct FusionCAPITests {
    /// A robot-style C session fed float16 frames one by one equals the Swift batch result bit for bit.
    @Test func onlineSessionThroughTheCABI() throws {
        guard let ds = try FusionFixture.load("7scenes_redkitchen") else { return }
        let n = ds.points.count / 3
        var params = OV3DCAPI.ov3d_fusion_default_params()
        params.feature_width = Int32(ds.frames[0].featureWidth)
        params.feature_height = Int32(ds.frames[0].featureHeight)
        params.feature_dim = Int32(ds.channels)
        params.n_threads = 2
        var handle: OpaquePointer?
        let rc = ds.points.withUnsafeBufferPointer { p -> Int32 in
            var v = OV3DCAPI.ov3d_points_init(p.baseAddress, n, 0)
            return withUnsafePointer(to: &params) { OV3DCAPI.ov3d_fusion_create(&v, UnsafeRawPointer($0), &handle) }
        }
        #expect(rc == 0)
        defer { OV3DCAPI.ov3d_fusion_free(handle) }
        for f in ds.frames {
            var intr = [f.intrinsics.fx, 0, f.intrinsics.cx, 0, f.intrinsics.fy, f.intrinsics.cy, 0, 0, 1]
            var seen = 0
            let fc = f.features.count
            let r = f.features.bytes.withMemoryRebound(to: UInt16.self) { feat in
                OV3DCAPI.ov3d_fusion_add_frame(handle, f.depth, f.depth.count, feat.baseAddress, fc, Int32(OV3D_FEATURE_F16.rawValue),
                                      &intr, f.pose.cameraToWorld, &seen)
            }
            #expect(r == 0, "\(String(cString: OV3DCAPI.ov3d_last_error()))")
            #expect(seen > 0)
        }
        var feats = [Float](repeating: 0, count: n * ds.channels)
        var mask = [UInt8](repeating: 0, count: n)
        var counts = [UInt32](repeating: 0, count: n)
        #expect(OV3DCAPI.ov3d_fusion_snapshot(handle, &feats, feats.count, &mask, mask.count, &counts, counts.count) == 0)
        let batch = try MultiViewFusion.fuse(positions: ds.points, frameCount: ds.frames.count, params: ds.params) { ds.frames[$0] }
        #expect(feats == batch.features && counts == batch.counts && mask == batch.mask)
        #expect(counts.map { UInt8($0) } == ds.counts)
        var np = 0, dim: Int32 = 0, nf: Int32 = 0
        #expect(OV3DCAPI.ov3d_fusion_info(handle, &np, &dim, &nf) == 0 && np == n && dim == Int32(ds.channels) && nf == Int32(ds.frames.count))
        // Hostile: wrong sizes, NaN pose, bad dtype, small buffers.
        var intr = [1.0, 0, 1, 0, 1, 1, 0, 0, 1]
        var pose = [Double](repeating: .nan, count: 16)
        var dummy = [Float](repeating: 0, count: 8)
        #expect(OV3DCAPI.ov3d_fusion_add_frame(handle, [0], 1, &dummy, 8, 0, &intr, &pose, nil) == Int32(OV3D_ERR_INVALID_ARGUMENT.rawValue))
        #expect(OV3DCAPI.ov3d_fusion_snapshot(handle, &dummy, 8, nil, 0, nil, 0) == Int32(OV3D_ERR_INVALID_ARGUMENT.rawValue))
        #expect(OV3DCAPI.ov3d_fusion_snapshot(nil, nil, 0, nil, 0, nil, 0) == Int32(OV3D_ERR_INVALID_ARGUMENT.rawValue))
        #expect(OV3DCAPI.ov3d_fusion_reset(handle) == 0)
        #expect(OV3DCAPI.ov3d_fusion_snapshot(handle, nil, 0, &mask, mask.count, nil, 0) == 0 && !mask.contains(1))
    }

    /// Batch through the C ABI (create + add_manifest + snapshot) equals the fixture and the online path.
    @Test func manifestThroughTheCABI() throws {
        guard let ds = try FusionFixture.load("scannet0378") else { return }
        let dir = NSTemporaryDirectory() + "ov3d-capi-manifest-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let manifest = try ds.writeManifest(in: dir)
        let n = ds.points.count / 3
        var params = OV3DCAPI.ov3d_fusion_default_params()
        params.feature_width = 320
        params.feature_height = 240
        params.feature_dim = Int32(ds.channels)
        var handle: OpaquePointer?
        let rc = ds.points.withUnsafeBufferPointer { p -> Int32 in
            var v = OV3DCAPI.ov3d_points_init(p.baseAddress, n, 0)
            return withUnsafePointer(to: &params) { OV3DCAPI.ov3d_fusion_create(&v, UnsafeRawPointer($0), &handle) }
        }
        #expect(rc == 0)
        defer { OV3DCAPI.ov3d_fusion_free(handle) }
        #expect(OV3DCAPI.ov3d_fusion_add_manifest(handle, manifest, nil, nil) == 0, "\(String(cString: OV3DCAPI.ov3d_last_error()))")
        var counts = [UInt32](repeating: 0, count: n)
        var feats = [Float](repeating: 0, count: n * ds.channels)
        #expect(OV3DCAPI.ov3d_fusion_snapshot(handle, &feats, feats.count, nil, 0, &counts, n) == 0)
        #expect(counts.map { UInt8($0) } == ds.counts)
        let online = try MultiViewFusion.fuse(positions: ds.points, frameCount: ds.frames.count, params: ds.params) { ds.frames[$0] }
        #expect(feats == online.features)
        // A manifest whose frames do not match the session's sizes is refused.
        params.feature_width = 160
        var h2: OpaquePointer?
        _ = ds.points.withUnsafeBufferPointer { p -> Int32 in
            var v = OV3DCAPI.ov3d_points_init(p.baseAddress, n, 0)
            return withUnsafePointer(to: &params) { OV3DCAPI.ov3d_fusion_create(&v, UnsafeRawPointer($0), &h2) }
        }
        defer { OV3DCAPI.ov3d_fusion_free(h2) }
        #expect(OV3DCAPI.ov3d_fusion_add_manifest(h2, manifest, nil, nil) == Int32(OV3D_ERR_INVALID_ARGUMENT.rawValue))
        #expect(OV3DCAPI.ov3d_fusion_add_manifest(handle, dir + "/nope.json", nil, nil) == Int32(OV3D_ERR_IO.rawValue))
    }

    @Test func evaluationAndTeacherFusionThroughTheCABI() throws {
        let pred: [Int32] = [0, 1, 1, 1, 256, 0], gt: [Int32] = [0, 0, 1, 1, 2, 255]
        var res = ov3d_eval_result()
        res.struct_size = UInt32(MemoryLayout<ov3d_eval_result>.size)
        var iou = [Double](repeating: 9, count: 4), acc = [Double](repeating: 9, count: 4)
        #expect(OV3DCAPI.ov3d_evaluate(pred, gt, 6, 4, 255, 0, &res, &iou, &acc, 4) == 0)
        #expect(abs(res.miou - (0.5 + 2.0 / 3) / 3) < 1e-15 && res.n_present_classes == 3 && res.n_evaluated_points == 5)
        #expect(iou == [0.5, 2.0 / 3, 0, -1] && acc == [0.5, 1, 0, -1])
        #expect(OV3DCAPI.ov3d_evaluate(pred, gt, 6, 4, 255, 1, &res, nil, nil, 0) == 0 && abs(res.miou - (0.5 + 2.0 / 3) / 4) < 1e-15)
        #expect(OV3DCAPI.ov3d_evaluate(pred, gt, 6, 2, 255, 0, &res, nil, nil, 0) == Int32(OV3D_ERR_INVALID_ARGUMENT.rawValue)) // gt 2 ≥ K

        let vocab: [Float] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        let feats: [Float] = [1, 0.2, 0, /* teacher 1: */ 0, 0.1, 2]
        let cap: [Float] = [0.8, 0.5, 0.2, 0.4, 0.6, 0.9]
        var out = [Float](repeating: 0, count: 3), w = [Float](repeating: 0, count: 2)
        #expect(OV3DCAPI.ov3d_teacher_fusion(feats, 2, 1, 3, vocab, 3, cap, nil, &out, 3, &w, 2) == 0)
        #expect(abs(w[1] - 0.9314191246) < 1e-6 && abs(out[2] - 1.8628382492) < 1e-6)
        var cp = OV3DCAPI.ov3d_teacher_fusion_default_params()
        cp.temperature = .nan
        #expect(OV3DCAPI.ov3d_teacher_fusion(feats, 2, 1, 3, vocab, 3, cap, &cp, &out, 3, nil, 0) == Int32(OV3D_ERR_INVALID_ARGUMENT.rawValue))
        var table = [Float](repeating: 0, count: 2)
        #expect(OV3DCAPI.ov3d_capability_from_masks([1, 1, 0], [0, 1, 1], 3, [0], [1], 1, 1, 2, -1, &table, 2) == 0)
        #expect(table == [0, 1.0 / 3])
        var labels: [Int32] = [1, 2, 2]
        #expect(OV3DCAPI.ov3d_superpoints_refine_labels(&labels, [5, 5, 5], 3, 256) == 0 && labels == [2, 2, 2])
        var el = [Int32](repeating: 0, count: 1)
        #expect(OV3DCAPI.ov3d_ensemble_labels(3, [0, 0, 1], [0, 3, 0], nil, 1, 3, vocab, 3, &el, 1) == 0 && el == [1])
    }
}
