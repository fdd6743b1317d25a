import Foundation
import Testing
@testable import OV3DCore

/// Mesh superpoints against ScanNet's Segmentator. The expected outputs are the segmentator's own
/// `segIndices` (root vertex per vertex), produced by tools/superpoints_reference.py (which says how
/// the reference binary was built and run); our roots must equal them exactly, which also fixes
/// the partition.
@Suite struct MeshSegmentationTests {
    static let params: [(Float, Int, String)] = [(0.01, 20, "0.01"), (0.01, 60, "0.01"), (0.002, 5, "0.002"), (0.0005, 1, "0.0005")]

    func check(mesh: String, name: String) throws {
        let l = try CloudFile.read(mesh)
        #expect(!l.faces.isEmpty)
        for (k, m, ks) in Self.params {
            let exp = try NPY.read(path: TestPaths.fixture("superpoints/\(name).k\(ks).m\(m).npy"))
            let expected = exp.floats().map { Int32($0) }
            let roots = try MeshSegmentation.segment(positions: l.cloud.positions, faces: l.faces,
                                                     params: .init(kThresh: k, segMinVerts: m))
            #expect(roots == expected, "\(name) k=\(k) m=\(m): \(zip(roots, expected).filter { $0 != $1 }.count) vertices differ")
            let sp = try Superpoints.compute(l.cloud, faces: l.faces, method: .mesh(.init(kThresh: k, segMinVerts: m)))
            #expect(sp.count == Set(expected).count)
        }
    }

    @Test(arguments: ["room_clean", "room_noisy"])
    func generatedRoom(_ name: String) throws {
        try check(mesh: TestPaths.fixture("superpoints/\(name).ply"), name: name)
    }

    @Test func pclCube() throws {
        guard let p = TestPaths.shared("pcl_testdata/cube.ply") else { return }
        try check(mesh: p, name: "cube")
    }

    @Test func meshlabPLY() throws {
        guard let p = TestPaths.shared("ply_interop/open3d_color.ply") else { return }
        try check(mesh: p, name: "open3d_color")
    }

    @Test func degenerateAndUnreferenced() throws {
        // A degenerate face (NaN normal), a repeated vertex and an unreferenced vertex: no trap.
        let pos: [Float] = [0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 1, 0, 5, 5, 5]
        let roots = try MeshSegmentation.segment(positions: pos, faces: [0, 1, 2, 0, 1, 3, 3, 3, 1], params: .init(kThresh: 0.01, segMinVerts: 1))
        #expect(roots.count == 5 && roots[4] == 4)
        #expect(throws: OV3DError.self) { try MeshSegmentation.segment(positions: pos, faces: [0, 1, 9], params: .init()) }
    }
}

@Suite struct PointSuperpointTests {
    /// Two perpendicular planes (a floor and a wall), noise-free: every method must keep each
    /// segment within one plane.
    static func corner() -> (PointCloud, [Int32]) {
        var c = PointCloud()
        var truth: [Int32] = []
        for i in 0..<40 { for j in 0..<40 {
            c.positions += [Float(i) * 0.05, Float(j) * 0.05, 0]; truth.append(0)
            c.positions += [Float(i) * 0.05, 2.0, 0.05 + Float(j) * 0.05]; truth.append(1)
        } }
        c.colors = [UInt8](repeating: 128, count: 3 * c.count)
        return (c, truth)
    }

    static func purity(_ s: Superpoints, _ truth: [Int32]) -> Double {
        var votes: [Int32: [Int32: Int]] = [:]
        for (g, t) in zip(s.ids, truth) { votes[g, default: [:]][t, default: 0] += 1 }
        var ok = 0
        for (g, t) in zip(s.ids, truth) {
            if g < 0 { continue }
            let best = votes[g]!.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }!.key
            if best == t { ok += 1 }
        }
        return Double(ok) / Double(max(1, s.ids.filter { $0 >= 0 }.count))
    }

    @Test func graphKNNAndVoxel() throws {
        let (c, truth) = Self.corner()
        var p = GraphSegmentation.Params()
        p.segMinVerts = 20
        let s = try Superpoints.compute(c, method: .graph(p))
        #expect(s.ids.count == c.count && s.count >= 2)
        #expect(Self.purity(s, truth) == 1)
        p.neighbourhood = .voxel(0.1)
        let v = try Superpoints.compute(c, method: .graph(p))
        #expect(v.count >= 2 && Self.purity(v, truth) > 0.95)
    }

    @Test func vccsAndRegionGrowing() throws {
        let (c, truth) = Self.corner()
        var vp = PCLSegmentation.VCCSParams()
        vp.voxelResolution = 0.05; vp.seedResolution = 0.3
        let v = try Superpoints.compute(c, method: .vccs(vp))
        #expect(v.count >= 2 && v.ids.allSatisfy { $0 >= -1 && Int($0) < v.count })
        #expect(Self.purity(v, truth) > 0.9)
        let r = try Superpoints.compute(c, method: .regionGrowing(.init()))
        #expect(r.count == 2)
        #expect(Self.purity(r, truth) == 1)
    }

    @Test func rejectsBadInput() {
        var c = PointCloud(positions: [0, 0, .nan])
        #expect(throws: OV3DError.self) { try Superpoints.compute(c, method: .graph(.init())) }
        c.positions = []
        #expect(throws: OV3DError.self) { try Superpoints.compute(c, method: .regionGrowing(.init())) }
        #expect(throws: OV3DError.self) { try Superpoints.compute(PointCloud(positions: [0, 0, 0]), method: .mesh(.init())) }
        var vp = PCLSegmentation.VCCSParams(); vp.voxelResolution = 1e-6
        #expect(throws: OV3DError.self) { try Superpoints.compute(PointCloud(positions: [0, 0, 0, 1e6, 0, 0]), method: .vccs(vp)) }
    }

    @Test func scannetPurity() throws {
        guard let vp = TestPaths.shared("scannet_votenet50k/scene0000_00_vert.npy"),
              let lp = TestPaths.shared("scannet_votenet50k/scene0000_00_sem_label.npy") else { return }
        let c = try CloudFile.read(vp).cloud
        let truth = try NPY.read(path: lp).floats().map { Int32($0) }
        var p = GraphSegmentation.Params()
        p.neighbourhood = .knn(10)
        let s = try Superpoints.compute(c, method: .graph(p))
        let pur = Self.purity(s, truth)
        print("scene0000_00 graph kNN10 k=0.01 m=20: \(s.count) superpoints, purity \(pur)")
        #expect(pur > 0.75 && s.count > 50 && s.count < 10_000)
    }
}

@Suite struct SuperpointOpsTests {
    @Test func poolVoteBroadcast() throws {
        let s = Superpoints(ids: [0, 1, 0, -1, 1, 1], count: 3)
        let f: [Float] = [1, 10, 3, 30, 5, 50, 100, 100, 2, 20, 4, 40]
        let pooled = try SuperpointOps.meanPool(f, dim: 2, superpoints: s)
        #expect(pooled == [3, 30, 3, 30, 0, 0])
        let (l, sc) = try SuperpointOps.vote(labels: [4, 2, 4, 9, 7, 7], scores: [0.5, 0.9, 0.7, 1, 0.1, 0.2], superpoints: s, mode: .majority)
        #expect(l == [4, 7, -1])
        #expect(abs(sc[0] - 0.6) < 1e-6 && abs(sc[1] - 0.15) < 1e-6)
        let (l2, _) = try SuperpointOps.vote(labels: [4, 2, 4, 9, 7, 7], scores: [0.5, 0.9, 0.7, 1, 0.1, 0.2], superpoints: s, mode: .meanScore)
        #expect(l2 == [4, 2, -1])
        let b = try SuperpointOps.broadcast([Int32(5), 6, 7], dim: 1, superpoints: s, fill: -1)
        #expect(b == [5, 6, 5, -1, 6, 6])
        #expect(throws: OV3DError.self) { try SuperpointOps.broadcast([Float(1)], dim: 1, superpoints: s, fill: 0) }
        #expect(throws: OV3DError.self) { try SuperpointOps.meanPool(f, dim: 2, superpoints: Superpoints(ids: [0, 5, 0, 0, 0, 0], count: 3)) }
    }
}

/// Degenerate clouds through every point method (PCL included): errors or results, no crash.
@Suite struct DegenerateSuperpointTests {
    static let clouds: [(String, [Float])] = {
        var out: [(String, [Float])] = []
        out.append(("one point", [1, 2, 3]))
        out.append(("two points", [0, 0, 0, 1, 0, 0]))
        out.append(("identical x50", [Float](repeating: 0.5, count: 150)))
        var line: [Float] = []
        for i in 0..<40 { line += [Float(i) * 0.01, 0, 0] }
        out.append(("collinear x40", line))
        var grid: [Float] = []
        for i in 0..<100 { grid += [Float(i % 10) * 0.02, Float(i / 10) * 0.02, 0] }
        out.append(("planar grid", grid))
        out.append(("huge coords", [1e30, 0, 0, -1e30, 0, 0, 0, 1e30, 0, 0, 0, 1e30]))
        return out
    }()

    static let methods: [(String, SuperpointMethod)] = {
        var g = GraphSegmentation.Params(); g.neighbourhood = .knn(5)
        var gv = GraphSegmentation.Params(); gv.neighbourhood = .voxel(0.05)
        return [("graph", .graph(g)), ("graph-voxel", .graph(gv)), ("vccs", .vccs(.init())),
                ("region-growing", .regionGrowing(.init()))]
    }()

    @Test func everyMethodOnEveryDegenerateCloud() {
        for (cname, pos) in Self.clouds {
            for (mname, m) in Self.methods {
                do {
                    let s = try Superpoints.compute(PointCloud(positions: pos), method: m)
                    #expect(s.ids.count == pos.count / 3, "\(cname) / \(mname)")
                    #expect(s.ids.allSatisfy { $0 >= -1 && Int($0) < s.count }, "\(cname) / \(mname)")
                } catch is OV3DError {
                } catch {
                    Issue.record("\(cname) / \(mname): \(error)")
                }
            }
        }
    }
}

/// Random (often absurd) parameters for every method on a small real-looking cloud: errors or
/// results, never a crash inside PCL.
@Suite struct SuperpointParamFuzzTests {
    @Test func randomParameters() {
        var rng = SplitMix64(seed: 9)
        var c = PointCloud()
        for i in 0..<400 {
            let a = Float(i % 20) * 0.05, b = Float(i / 20) * 0.05
            c.positions += i % 2 == 0 ? [a, b, 0] : [a, 1.0, b]
        }
        func f() -> Float {
            let choices: [Float] = [0, -1, 1e-9, 1e-3, 0.01, 0.05, 0.3, 1, 10, 1e6, 1e30, .nan, .infinity]
            return choices[Int(rng.next() % UInt64(choices.count))]
        }
        func i() -> Int {
            let choices = [-5, 0, 1, 2, 3, 5, 10, 50, 129, 1000, 5000, Int(Int32.max)]
            return choices[Int(rng.next() % UInt64(choices.count))]
        }
        var ok = 0, rejected = 0
        for trial in 0..<240 {
            let m: SuperpointMethod
            switch trial % 4 {
            case 0:
                var p = GraphSegmentation.Params()
                p.kThresh = f(); p.segMinVerts = i(); p.normalK = i()
                p.neighbourhood = rng.next() % 2 == 0 ? .knn(i()) : .voxel(f())
                m = .graph(p)
            case 1:
                var p = PCLSegmentation.VCCSParams()
                p.voxelResolution = f(); p.seedResolution = f(); p.colorImportance = f()
                p.spatialImportance = f(); p.normalImportance = f(); p.useSingleCameraTransform = rng.next() % 2 == 0
                m = .vccs(p)
            case 2:
                var p = PCLSegmentation.RegionGrowingParams()
                p.k = i(); p.normalK = i(); p.minClusterSize = i(); p.maxClusterSize = i()
                p.smoothnessDegrees = f(); p.curvatureThreshold = f()
                m = .regionGrowing(p)
            default:
                m = .mesh(.init(kThresh: f(), segMinVerts: i()))
            }
            do {
                let s = try Superpoints.compute(c, faces: [0, 1, 2, 2, 3, 4], method: m)
                #expect(s.ids.count == c.count && s.ids.allSatisfy { $0 >= -1 && Int($0) < s.count })
                ok += 1
            } catch is OV3DError {
                rejected += 1
            } catch {
                Issue.record("\(error)")
            }
        }
        #expect(ok > 20 && rejected > 20)
    }
}
