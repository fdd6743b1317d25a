import Foundation
import Testing
@testable import OV3DCore

/// Fixtures from tools/fusion_reference.py (NumPy, written from openscene-pipeline.md §6.1) on
/// the real ScanNet and 7-Scenes frames in ../shared/data (read from there, never copied).
enum FusionFixture {
    struct Dataset {
        var name: String
        var points: [Float]
        var frames: [FusionFrame]
        var counts: [UInt8]
        var corr: [(UInt64, UInt64)]
        var fusedRows: [Float]
        var fusedRowSum: [Double]
        var channels: Int
        var rowStride: Int
        var params: FusionParams
        /// Absolute paths of the depth PNGs (in ../shared/data).
        var depthPaths: [String]

        /// Writes float16 feature maps and a manifest (absolute depth paths) into `dir`; returns its path.
        func writeManifest(in dir: String) throws -> String {
            var entries: [[String: Any]] = []
            for (i, f) in frames.enumerated() {
                let half = try f.features.floats().map { floatToHalf($0) }.withUnsafeBytes {
                    try Tensor(dtype: .float16, shape: f.features.shape, bytes: $0)
                }
                try NPY.write(half, path: dir + "/f\(i).npy")
                let p = f.pose.cameraToWorld, k = f.intrinsics
                entries.append(["depth": depthPaths[i], "features": "f\(i).npy",
                                "intrinsics": [[k.fx, 0, k.cx], [0, k.fy, k.cy], [0, 0, 1]],
                                "pose": (0..<4).map { r in (0..<4).map { p[4 * r + $0] } }])
            }
            let path = dir + "/manifest.json"
            try JSONSerialization.data(withJSONObject: ["depth_scale": params.depthScale, "frames": entries] as [String: Any])
                .write(to: URL(fileURLWithPath: path))
            return path
        }
    }

    static func doubles(_ t: Tensor) -> [Double] {
        (0..<t.count).map { t.bytes.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self) }
    }

    static func uint64s(_ t: Tensor) -> [UInt64] {
        (0..<t.count).map { t.bytes.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self) }
    }

    /// Same integer hash as `synthetic_features` in tools/fusion_reference.py.
    static func syntheticFeatures(frame: Int, height: Int, width: Int, channels: Int, half: Bool) throws -> Tensor {
        var values = [Float](repeating: 0, count: height * width * channels)
        let mask: UInt64 = 0xFFFF_FFFF
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels {
                    var h = (UInt64(x) &* 73856093) ^ (UInt64(y) &* 19349663) ^ (UInt64(c) &* 83492791) ^ (UInt64(frame) &* 2654435761)
                    h &= mask
                    h ^= h >> 15
                    h = (h &* 0x2C1B_3C6D) & mask
                    h ^= h >> 12
                    h = (h &* 0x297A_2D39) & mask
                    h ^= h >> 15
                    values[(y * width + x) * channels + c] = Float(h & 1023) / 1024 - 0.5
                }
            }
        }
        if !half { return try Tensor(values, shape: [height, width, channels]) }
        let bits = values.map { floatToHalf($0) }
        return try bits.withUnsafeBytes { try Tensor(dtype: .float16, shape: [height, width, channels], bytes: $0) }
    }

    /// Same checksum as `corr_checksum` in tools/fusion_reference.py.
    static func correspondenceChecksum(_ dp: [Int32], _ fp: [Int32]) -> (UInt64, UInt64) {
        var n: UInt64 = 0, s: UInt64 = 0
        for i in dp.indices where dp[i] >= 0 {
            let a = UInt64(i), b = UInt64(dp[i]) + 1, c = UInt64(fp[i]) + 1
            var h = (a &* 0x9E37_79B9_7F4A_7C15) ^ (b &* 0xC2B2_AE3D_27D4_EB4F) ^ (c &* 0x1656_67B1_9E37_79F9)
            h ^= h >> 29
            h = h &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 32
            s = s &+ h
            n += 1
        }
        return (n, s)
    }

    /// Loads fixture `name`, or nil (skip) when the shared data is absent.
    static func load(_ name: String) throws -> Dataset? {
        let dir = TestPaths.fixture("fusion/\(name)")
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/meta.json"))) as! [String: Any]
        guard let shared = TestPaths.shared(meta["dataset_dir"] as! String) else { return nil }
        let base = (shared as NSString).deletingLastPathComponent
        let points = try NPY.read(path: dir + "/points.npy").floats()
        let poses = doubles(try NPY.read(path: dir + "/poses.npy"))
        let intr = doubles(try NPY.read(path: dir + "/intrinsics.npy"))
        let depthPaths = meta["depth"] as! [String]
        let hf = meta["feature_height"] as! Int, wf = meta["feature_width"] as! Int, c = meta["channels"] as! Int
        let half = (meta["feature_dtype"] as! String) == "float16"
        var frames: [FusionFrame] = []
        for (i, rel) in depthPaths.enumerated() {
            let d = try DepthImage.readPNG(path: base + "/" + rel)
            frames.append(try FusionFrame(
                depthWidth: d.width, depthHeight: d.height, depth: d.values,
                intrinsics: try PinholeIntrinsics(fx: intr[4 * i], fy: intr[4 * i + 1], cx: intr[4 * i + 2], cy: intr[4 * i + 3]),
                pose: try CameraPose(cameraToWorld: Array(poses[(16 * i)..<(16 * i + 16)])),
                features: try syntheticFeatures(frame: i, height: hf, width: wf, channels: c, half: half)))
        }
        let corr = uint64s(try NPY.read(path: dir + "/corr.npy"))
        return Dataset(
            name: name, points: points, frames: frames,
            counts: try NPY.read(path: dir + "/counts.npy").int64s().map { UInt8($0) },
            corr: stride(from: 0, to: corr.count, by: 2).map { (corr[$0], corr[$0 + 1]) },
            fusedRows: try NPY.read(path: dir + "/fused_rows.npy").floats(),
            fusedRowSum: doubles(try NPY.read(path: dir + "/fused_rowsum.npy")),
            channels: c, rowStride: meta["row_stride"] as! Int,
            params: FusionParams(visibilityThreshold: meta["visibility_threshold"] as! Double,
                                 cutBound: meta["cut_bound"] as! Int, depthScale: meta["depth_scale"] as! Double),
            depthPaths: depthPaths.map { base + "/" + $0 })
    }
}

@Suite struct FusionReferenceTests {
    @Test(arguments: ["scannet0378", "7scenes_redkitchen"])
    func matchesNumPyReference(_ name: String) throws {
        guard let ds = try FusionFixture.load(name) else { return }
        let session = try FusionSession(positions: ds.points, params: ds.params)
        // Correspondences (point -> depth pixel -> feature pixel) per frame: exact.
        for (i, f) in ds.frames.enumerated() {
            let (dp, fp) = try session.correspondences(f)
            let (n, sum) = FusionFixture.correspondenceChecksum(dp, fp)
            #expect(n == ds.corr[i].0, "\(name) frame \(i): \(n) visible, reference \(ds.corr[i].0)")
            #expect(sum == ds.corr[i].1, "\(name) frame \(i): correspondence checksum differs")
            try session.addFrame(f)
        }
        let r = session.snapshot()
        // Visibility mask and view counts: exact.
        #expect(r.counts.map { UInt8($0) } == ds.counts)
        #expect(r.mask == ds.counts.map { $0 > 0 ? 1 : 0 })
        #expect(r.mask.contains(0) && r.mask.contains(1))
        // Features within 1e-6 (rows of every 5th point, and the row sums of all points).
        let c = ds.channels
        var worst: Float = 0
        for (k, i) in stride(from: 0, to: r.pointCount, by: ds.rowStride).enumerated() {
            for j in 0..<c { worst = max(worst, abs(r.features[i * c + j] - ds.fusedRows[k * c + j])) }
        }
        var worstSum = 0.0
        for i in 0..<r.pointCount {
            var s = 0.0
            for j in 0..<c { s += Double(r.features[i * c + j]) }
            worstSum = max(worstSum, abs(s - ds.fusedRowSum[i]))
        }
        print("fusion \(name): \(r.pointCount) points, \(ds.frames.count) frames, seen \(r.mask.filter { $0 == 1 }.count); max |Δfeature| \(worst), max |Δrowsum| \(worstSum)")
        #expect(worst <= 1e-6)
        #expect(worstSum <= 1e-5)
    }

    /// TUM quaternions -> camera-to-world matrices as the reference converted them.
    @Test func tumPosesMatchReference() throws {
        guard let root = TestPaths.shared("scannet_frames_scene0378_00") else { return }
        let poses = FusionFixture.doubles(try NPY.read(path: TestPaths.fixture("fusion/scannet0378/poses.npy")))
        let rows = try String(contentsOfFile: root + "/gt_pose.txt", encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }
        for i in 0..<25 {
            let v = rows[i].split(separator: " ").map { Double($0)! }
            let p = try CameraPose(translation: (v[1], v[2], v[3]), quaternion: (v[4], v[5], v[6], v[7]))
            for k in 0..<16 { #expect(abs(p.cameraToWorld[k] - poses[16 * i + k]) < 1e-12) }
        }
    }

    @Test func inverseMatchesProduct() throws {
        let p = try CameraPose(translation: (0.3, -1.2, 2.0), quaternion: (0.1, 0.7, -0.2, 0.6))
        for r in 0..<4 {
            for c in 0..<4 {
                var s = 0.0
                for k in 0..<4 { s += p.cameraToWorld[4 * r + k] * p.worldToCamera[4 * k + c] }
                #expect(abs(s - (r == c ? 1 : 0)) < 1e-12)
            }
        }
        #expect(throws: OV3DError.self) { try CameraPose(cameraToWorld: [Double](repeating: 0, count: 16)) }
    }
}

@Suite struct FusionOnlineTests {
    /// The manifest (batch) path and the online session fed frame by frame, with snapshots in
    /// between and different thread counts, give bit-identical results.
    @Test func onlineEqualsBatchExactly() throws {
        guard let ds = try FusionFixture.load("scannet0378") else { return }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("ov3d-fusion-\(getpid())")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let manifest = try ds.writeManifest(in: tmp.path)
        var bp = ds.params
        bp.threads = 2
        let batch = try MultiViewFusion.fuse(positions: ds.points, manifestPath: manifest, params: bp)

        var op = ds.params
        op.threads = 1
        let online = try FusionSession(positions: ds.points, params: op)
        var bytesAfterFirst = 0
        for (i, f) in ds.frames.enumerated() {
            try online.addFrame(f)
            if i == 0 { bytesAfterFirst = online.retainedBytes }
            if i % 7 == 3 { _ = online.snapshot() }
            #expect(online.retainedBytes == bytesAfterFirst, "session memory grew at frame \(i)")
        }
        let snap = online.snapshot()
        #expect(snap.counts == batch.counts)
        #expect(snap.features == batch.features) // bit-exact
        #expect(online.frameCount == ds.frames.count)

        // Caller-buffer snapshot equals the value snapshot.
        var feats = [Float](repeating: .nan, count: snap.features.count)
        var mask = [UInt8](repeating: 9, count: snap.pointCount)
        try feats.withUnsafeMutableBufferPointer { f in
            try mask.withUnsafeMutableBufferPointer { m in try online.snapshot(features: f, mask: m, counts: nil) }
        }
        #expect(feats == snap.features && mask == snap.mask)
    }

    /// Memory does not grow with the number of frames: the session's buffers are constant, it
    /// keeps no reference to a frame after add_frame, and the process RSS stays flat while 200
    /// more frames are fused (retaining them would add ~216 MB; the bound leaves room for suites
    /// running concurrently in this process).
    @Test func memoryBoundedByRunningSums() throws {
        guard let ds = try FusionFixture.load("7scenes_redkitchen") else { return }
        let s = try FusionSession(positions: ds.points, params: ds.params)
        try s.addFrame(ds.frames[0])
        let bytes = s.retainedBytes
        let exact = ds.points.count * 4 + (ds.points.count / 3) * (ds.channels * 4 + 4)
        #expect(bytes >= exact && bytes <= exact + 256) // array capacities round up a little
        // The frame's feature storage is released as soon as the caller drops the frame.
        final class Flag: @unchecked Sendable { var released = false }
        let flag = Flag()
        do {
            let f0 = ds.frames[1]
            let raw = UnsafeMutableRawPointer.allocate(byteCount: f0.features.byteCount, alignment: 64)
            raw.copyMemory(from: f0.features.bytes.baseAddress!, byteCount: f0.features.byteCount)
            let storage = ByteStorage(base: raw, count: f0.features.byteCount) { raw.deallocate(); flag.released = true }
            let t = try Tensor(dtype: f0.features.dtype, shape: f0.features.shape, storage: storage)
            try s.addFrame(try FusionFrame(depthWidth: f0.depthWidth, depthHeight: f0.depthHeight, depth: f0.depth,
                                           intrinsics: f0.intrinsics, pose: f0.pose, features: t))
        }
        #expect(flag.released, "the session kept a reference to a frame's feature map")
        for f in ds.frames { try s.addFrame(f) }
        let rss0 = residentBytes()
        for _ in 0..<8 { for f in ds.frames.prefix(25) { try s.addFrame(f) } }
        let rss1 = residentBytes()
        #expect(s.retainedBytes == bytes)
        #expect(s.frameCount == 2 + ds.frames.count + 200)
        print("fusion memory: session \(bytes) bytes; RSS \(rss0) -> \(rss1) after 200 more frames")
        // RSS is only reported: other suites run concurrently in this process, so a process-wide
        // measure cannot be asserted; the session's own retained bytes above are exact.
    }

    func residentBytes() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let f = s.split(separator: " ")
        return (Int(f[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    @Test func rejectsBadInput() throws {
        #expect(throws: OV3DError.self) { try FusionSession(positions: [], params: FusionParams()) }
        #expect(throws: OV3DError.self) { try FusionSession(positions: [0, 0, .nan]) }
        #expect(throws: OV3DError.self) { try FusionSession(positions: [0, 0, 1], params: FusionParams(visibilityThreshold: .nan)) }
        #expect(throws: OV3DError.self) { try FusionSession(positions: [0, 0, 1], params: FusionParams(depthScale: 0)) }
        let s = try FusionSession(positions: [0, 0, 1, 0, 0, -1, 1e30, 1e30, 1], featureDim: 2, params: FusionParams(cutBound: 0))
        let feat = try Tensor([Float](repeating: 1, count: 3 * 4 * 3), shape: [3, 4, 3])
        let f = try FusionFrame(depthWidth: 4, depthHeight: 3, depth: [UInt16](repeating: 1000, count: 12),
                                intrinsics: try PinholeIntrinsics(fx: 2, fy: 2, cx: 1.5, cy: 1),
                                pose: try CameraPose(cameraToWorld: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]), features: feat)
        #expect(throws: OV3DError.self) { try s.addFrame(f) } // 3 channels vs 2
        let s2 = try FusionSession(positions: [0, 0, 1, 0, 0, -1, 1e30, 1e30, 1], params: FusionParams(cutBound: 0))
        #expect(try s2.addFrame(f) == 1) // only the point in front, inside, at the right depth
        #expect(s2.snapshot().mask == [1, 0, 0])
        #expect(throws: OV3DError.self) {
            try FusionFrame(depthWidth: 4, depthHeight: 3, depth: [1], intrinsics: f.intrinsics, pose: f.pose, features: feat)
        }
        let bad = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("ov3d-bad-\(getpid()).json")
        for text in ["[]", "{\"frames\": 3}", "{\"frames\": [{\"depth\": \"a.png\"}]}",
                     "{\"frames\": [{\"depth\": \"a.png\", \"features\": \"a.npy\", \"intrinsics\": [[1,0,0],[0,1,0]], \"pose\": []}]}"] {
            try text.write(to: bad, atomically: true, encoding: .utf8)
            #expect(throws: OV3DError.self) { try FusionManifest(path: bad.path) }
        }
        try? FileManager.default.removeItem(at: bad)
        #expect(throws: OV3DError.self) { try DepthImage.decodePNG([0x89, 0x50, 0x4E, 0x47, 1, 2, 3]) }
    }
}

@Suite struct FusionFrameValidationTests {
    @Test func rejectsNonFiniteFeatures() throws {
        let intr = try PinholeIntrinsics(fx: 2, fy: 2, cx: 1.5, cy: 1)
        let pose = try CameraPose(cameraToWorld: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])
        for bad in [Float.nan, .infinity, -.infinity] {
            var v = [Float](repeating: 0.5, count: 600_000)
            v[599_999] = bad
            let t = try Tensor(v, shape: [100, 100, 60])
            #expect(throws: OV3DError.self) { try FusionFrame(depthWidth: 4, depthHeight: 3, depth: [UInt16](repeating: 0, count: 12), intrinsics: intr, pose: pose, features: t) }
            let h = try v.map { floatToHalf($0) }.withUnsafeBytes { try Tensor(dtype: .float16, shape: [100, 100, 60], bytes: $0) }
            #expect(throws: OV3DError.self) { try FusionFrame(depthWidth: 4, depthHeight: 3, depth: [UInt16](repeating: 0, count: 12), intrinsics: intr, pose: pose, features: h) }
        }
        let ok = try Tensor([Float](repeating: 65504, count: 12), shape: [2, 2, 3])
        #expect(try FusionFrame(depthWidth: 4, depthHeight: 3, depth: [UInt16](repeating: 0, count: 12), intrinsics: intr, pose: pose, features: ok).featureChannels == 3)
    }
}

@Suite struct RoundingTests {
    @Test func roundHalfEvenMatchesTheLibrary() {
        var xs: [Double] = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 319.5, 320.5, 639.49999999999994, 1e15 + 0.5, -3e15, 2.25e15 + 0.5, 1e300, -0.0, 4.5e15]
        var g = SystemRandomNumberGenerator()
        for _ in 0..<100_000 { xs.append(Double.random(in: -2000...2000, using: &g)) }
        for _ in 0..<1000 { xs.append(Double(Int.random(in: -5000...5000, using: &g)) + 0.5) }
        for x in xs { #expect(Projector.roundHalfEven(x) == x.rounded(.toNearestOrEven), "\(x)") }
        #expect(Projector.roundHalfEven(.nan).isNaN)
    }
}
