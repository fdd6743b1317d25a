import CSupport
import Foundation
import OV3DCAPI
import Testing
@testable import OV3DCore

/// The point cloud / superpoint C exports: NULL, 0, NaN and wrong handles give errors; a full
/// load -> superpoints -> pool/vote/broadcast -> save flow works.
@Suite struct PointCloudABITests {
    @Test func nullZeroNaN() {
        var h: OpaquePointer? = nil
        #expect(ov3d_cloud_load(nil, nil, &h) == -1)
        #expect(ov3d_cloud_load("/nonexistent.ply", nil, &h) == -2 && h == nil)
        #expect(ov3d_cloud_load("/nonexistent.ply", nil, nil) == -1)
        var bad = OV3DCAPI.ov3d_cloud_load_default_params(); bad.struct_size = 3
        #expect(ov3d_cloud_load("/x.ply", &bad, &h) == -1)
        #expect(ov3d_cloud_from_points(nil, &h) == -1)
        let pts: [Float] = [0, 0, .nan]
        pts.withUnsafeBufferPointer { p in
            var v = ov3d_points_init(p.baseAddress, 1, 0)
            #expect(ov3d_cloud_from_points(&v, &h) == -1)
            v = ov3d_points_init(p.baseAddress, 0, 0)
            #expect(ov3d_cloud_from_points(&v, &h) == -1)
        }
        #expect(ov3d_cloud_save(nil, "/tmp/x.ply", 0) == -1)
        var n = 0
        #expect(ov3d_cloud_count(nil, &n) == -1)
        var fp: UnsafePointer<Float>? = nil
        #expect(ov3d_cloud_positions(nil, &fp) == -1)
        var ip: UnsafePointer<Int32>? = nil
        #expect(ov3d_cloud_faces(nil, &ip, &n) == -1)
        #expect(ov3d_cloud_set_labels(nil, nil, nil, 0, 0) == -1)
        ov3d_cloud_free(nil)
        var ids = [Int32](repeating: 0, count: 4)
        #expect(ov3d_superpoints_compute(nil, nil, &ids, 4, nil) == -1)
        #expect(ov3d_superpoints_mean_pool(nil, 0, 0, nil, 0, nil, 0) == -1)
        #expect(ov3d_superpoints_vote(nil, 0, 0, nil, nil, 0, nil, nil, 0) == -1)
        #expect(ov3d_superpoints_broadcast(nil, 0, 0, nil, 0, .nan, nil, 0) == -1)
        #expect(ov3d_superpoints_broadcast_labels(nil, 0, 0, nil, 0, nil, 0) == -1)
        // Out-of-range ids, absurd dims, capacity too small.
        let sid: [Int32] = [0, 1, 7]
        var outF = [Float](repeating: 0, count: 8)
        let f: [Float] = [1, 2, 3]
        #expect(ov3d_superpoints_mean_pool(sid, 3, 2, f, 1, &outF, 8) == -1)
        #expect(ov3d_superpoints_mean_pool([0, 1, 1], 3, 2, f, Int.max, &outF, 8) == -1)
        #expect(ov3d_superpoints_mean_pool([0, 1, 1], 3, 2, f, 1, &outF, 1) == -1)
        #expect(ov3d_superpoints_mean_pool([0, 1, 1], 3, 2, f, 1, &outF, 2) == 0)
        #expect(outF[0] == 1 && outF[1] == 2.5)
    }

    @Test func saveErrors() {
        let xyz: [Float] = [0, 0, 0, 1, 0, 0, 0, 1, 0]
        var h: OpaquePointer? = nil
        xyz.withUnsafeBufferPointer { p in
            var v = ov3d_points_init(p.baseAddress, 3, 0)
            #expect(ov3d_cloud_from_points(&v, &h) == 0)
        }
        defer { ov3d_cloud_free(h) }
        for f: Int32 in 0...8 {
            let st = ov3d_cloud_save(h, "/nonexistent-dir/x.\(f <= 3 ? "pcd" : (f == 7 ? "npy" : "ply"))", f)
            #expect(st == -2 || st == -7, "format \(f): status \(st)")
            #expect(!String(cString: ov3d_last_error()).isEmpty)
        }
        #expect(ov3d_cloud_save(h, "/tmp/x.unknown", 0) == -4)
        #expect(ov3d_cloud_save(h, "/tmp/x.ply", 9) == -1)
        #expect(ov3d_cloud_save(h, "/tmp/x.ply", -1) == -1)
    }

    @Test func wrongHandleKind() {
        // A handle of another kind is rejected, not misused.
        final class Other: HandleBox {}
        let other = OpaquePointer(Unmanaged.passRetained(Other(kind: 0x1234) as HandleBox).toOpaque())
        var n = 0
        #expect(ov3d_cloud_count(other, &n) == -1)
        Unmanaged<HandleBox>.fromOpaque(UnsafeRawPointer(other)).release()
    }

    @Test func meshFlowMatchesReference() throws {
        let path = TestPaths.fixture("superpoints/room_noisy.ply")
        var h: OpaquePointer? = nil
        #expect(ov3d_cloud_load(path, nil, &h) == 0)
        defer { ov3d_cloud_free(h) }
        var n = 0, nf = 0
        #expect(ov3d_cloud_count(h, &n) == 0 && n == 7360)
        var faces: UnsafePointer<Int32>? = nil
        #expect(ov3d_cloud_faces(h, &faces, &nf) == 0 && nf > 0 && faces != nil)
        var p = OV3DCAPI.ov3d_superpoint_default_params()
        p.k_thresh = 0.002; p.seg_min_verts = 5
        var ids = [Int32](repeating: 0, count: n)
        var k: Int32 = 0
        #expect(ov3d_superpoints_compute(h, &p, &ids, n - 1, &k) == -1)
        #expect(ov3d_superpoints_compute(h, &p, &ids, n, &k) == 0)
        let ref = try NPY.read(path: TestPaths.fixture("superpoints/room_noisy.k0.002.m5.npy")).floats().map { Int32($0) }
        #expect(Superpoints.dense(ref).ids == ids && Int(k) == Set(ref).count)
        // pool positions per segment, vote, broadcast, and save a segmented PLY.
        var pos: UnsafePointer<Float>? = nil
        #expect(ov3d_cloud_positions(h, &pos) == 0)
        var pooled = [Float](repeating: 0, count: Int(k) * 3)
        #expect(ov3d_superpoints_mean_pool(ids, n, k, pos, 3, &pooled, pooled.count) == 0)
        var segL = [Int32](repeating: 0, count: Int(k)), segS = [Float](repeating: 0, count: Int(k))
        #expect(ov3d_superpoints_vote(ids, n, k, ids, nil, 0, &segL, &segS, Int(k)) == 0)
        #expect(segL == (0..<k).map { $0 })
        var back = [Int32](repeating: 0, count: n)
        #expect(ov3d_superpoints_broadcast_labels(ids, n, k, segL, -1, &back, n) == 0 && back == ids)
        #expect(ov3d_cloud_set_labels(h, ids, nil, n, 1) == 0)
        let out = tempPath("abi.ply")
        defer { unlink(out) }
        #expect(ov3d_cloud_save(h, out, 0) == 0)
        let l = try CloudFile.read(out)
        #expect(l.cloud.labels == ids && l.faces.count == 3 * nf)
    }

    @Test func organizedDropNaN() throws {
        guard let path = TestPaths.shared("pcl_testdata/table_scene_mug_stereo_textured.pcd") else { return }
        var p = OV3DCAPI.ov3d_cloud_load_default_params(); p.drop_nan = 1
        var h: OpaquePointer? = nil
        #expect(ov3d_cloud_load(path, &p, &h) == 0)
        defer { ov3d_cloud_free(h) }
        var n = 0, m = 0
        var map: UnsafePointer<Int32>? = nil
        #expect(ov3d_cloud_count(h, &n) == 0 && ov3d_cloud_index_map(h, &map, &m) == 0)
        #expect(m == n && n < 307_200 && abs(1 - Double(n) / 307_200 - 0.319) < 0.005)
    }
}
