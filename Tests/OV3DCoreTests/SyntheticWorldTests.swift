import Foundation
import Testing
@testable import OV3DCore

/// The second-edition synthetic world (rooms of parts, rendering, simulated teachers,
/// annotation-free capabilities). Tiny preset only: these run in a debug build.
@Suite struct SyntheticWorldTests {
    static let tinyScene: SyntheticScene = try! SyntheticScene.generate(preset: .tiny, seed: 5, threads: 2)

    static var textSpace: TeacherTextSpace {
        (try? TeacherTextSpace.find(candidates: [TestPaths.root + "/data/clip"])) ?? (try! TeacherTextSpace.generated())
    }

    @Test func deterministicFromTheSeed() throws {
        let a = SyntheticWorldTests.tinyScene
        let b = try SyntheticScene.generate(preset: .tiny, seed: 5, threads: 1)
        #expect(a.points.positions == b.points.positions)
        #expect(a.points.colors == b.points.colors && a.points.labels == b.points.labels && a.points.instances == b.points.instances)
        #expect(a.frames.count == b.frames.count)
        for (f, g) in zip(a.frames, b.frames) { #expect(f.depth == g.depth && f.color == g.color && f.labels == g.labels) }
        let c = try SyntheticScene.generate(preset: .tiny, seed: 6, threads: 1)
        #expect(c.points.positions != a.points.positions)
    }

    /// Every valid pixel of the exact (pre-noise) depth back-projects to within 1 mm of the mesh
    /// triangle its ray hit; the sensor depth (with noise) stays near it and has holes.
    @Test func rendersAgreeWithTheMesh() throws {
        let s = SyntheticWorldTests.tinyScene
        var checked = 0, worst: Float = 0, holes = 0, valid = 0
        for f in s.frames {
            let k = f.intrinsics, r = f.pose.rotation
            for v in 0..<k.height {
                for u in 0..<k.width {
                    let i = v * k.width + u
                    let z = f.exactDepth[i]
                    let t = Int(f.triangles[i])
                    #expect((z > 0) == (t >= 0))
                    guard z > 0, t >= 0 else { continue }
                    let pc = SIMD3<Float>((Float(u) - k.cx) / k.fx * z, (Float(v) - k.cy) / k.fy * z, z)
                    let w = f.pose.eye + SIMD3(r[0] * pc.x + r[1] * pc.y + r[2] * pc.z, r[3] * pc.x + r[4] * pc.y + r[5] * pc.z,
                                               r[6] * pc.x + r[7] * pc.y + r[8] * pc.z)
                    let d = s.world.mesh.distance(from: w, toTriangle: t)
                    worst = max(worst, d)
                    checked += 1
                    if f.depth[i] == 0 { holes += 1 } else {
                        valid += 1
                        let sigma = 0.0012 + 0.0019 * (z - 0.4) * (z - 0.4)
                        #expect(abs(Float(f.depth[i]) / 1000 - z) < 0.002 + 6 * sigma, "noisy depth \(f.depth[i]) mm far from \(z) m")
                    }
                    // the label image names the hit triangle's object
                    #expect(f.labels[i] == s.world.object(ofTriangle: t).label)
                }
            }
        }
        #expect(checked > 50_000)
        #expect(worst < 0.001, "a pixel back-projects \(worst) m from the triangle it hit")
        #expect(holes > checked / 100 && holes < checked / 3, "holes \(holes) of \(checked)")
        #expect(valid > 0)
    }

    @Test func roomsAreMadeOfPartsWithoutCollisions() {
        var classes = Set<Int32>()
        for seed in UInt64(1)...6 {
            let room = RoomGenerator.generate(seed: seed, preset: .small)
            for (i, a) in room.obstacles.enumerated() {
                for b in room.obstacles[(i + 1)...] { #expect(!a.overlaps(b), "seed \(seed): footprints overlap") }
                #expect(a.lo.x >= 0 && a.lo.y >= 0 && a.hi.x <= room.world.size.x && a.hi.y <= room.world.size.y)
            }
            let ids = room.world.objects.map(\.instance)
            #expect(Set(ids).count == ids.count)
            for o in room.world.objects where o.label != SyntheticWorld.unlabelled { classes.insert(o.label) }
            let chairs = room.world.objects.filter { $0.kind == "chair" }
            for c in chairs { #expect(c.boxes.count == 6, "a chair is a seat, four legs and a back") }
            for t in room.world.objects.filter({ $0.kind == "table" }) { #expect(t.boxes.count == 5) }
            for b in room.world.objects.filter({ $0.kind == "bookshelf" }) { #expect(b.boxes.count >= 7) }
        }
        #expect(classes.count == 20, "every ScanNet-20 class appears over six small rooms, got \(classes.sorted())")
    }

    @Test func pointsCarryLabelsInstancesAndColour() throws {
        let p = SyntheticWorldTests.tinyScene.points
        #expect(p.count > 5000)
        #expect(p.colors.count == 3 * p.count && p.normals.count == 3 * p.count && p.instances.count == p.count)
        #expect(!p.labels.contains(SyntheticWorld.unlabelled), "the ceiling is not sampled")
        #expect(Set(p.labels).count >= 6)
        // texture noise: points of one instance are not all one colour
        let wall = (0..<p.count).filter { p.labels[$0] == 0 }
        #expect(Set(wall.prefix(500).map { p.colors[3 * $0] }).count > 10)
        // no points hidden inside other parts: every point is on its triangle
        for i in stride(from: 0, to: p.count, by: 7) {
            let q = SIMD3<Float>(p.positions[3 * i], p.positions[3 * i + 1], p.positions[3 * i + 2])
            #expect(SyntheticWorldTests.tinyScene.world.mesh.distance(from: q, toTriangle: Int(p.triangles[i])) < 1e-3)
        }
    }

    @Test func statsOfTheTinyPreset() throws {
        let st = try SyntheticStats(scene: SyntheticWorldTests.tinyScene)
        #expect(st.points == SyntheticWorldTests.tinyScene.points.count)
        #expect(st.voxels > 1000 && st.voxels <= st.points)
        #expect(st.frames == SyntheticPreset.tiny.frames)
        #expect(st.coverage > 0.1 && st.coverage <= 1)
        #expect(st.validDepth > 0.6 && st.validDepth < 0.99)
        #expect(st.text.contains("voxels"))
    }

    /// The ScanNet-scale preset's geometry falls within ScanNet's ranges (frames and depth are
    /// checked by `ov3d synth --preset scannet --stats`, too slow for a debug test).
    @Test func scanNetScalePresetWithinScanNetRanges() throws {
        let room = RoomGenerator.generate(seed: 1, preset: .scannet)
        let rc = MeshRaycaster(mesh: room.world.mesh)
        let p = SurfaceSampler.sample(room.world, raycaster: rc, density: SyntheticPreset.scannet.pointDensity, seed: 1, threads: 2)
        let vox = try Voxelizer.voxelize(positions: p.positions, voxelSize: 0.02).voxelCount
        let ranges = Dictionary(uniqueKeysWithValues: SyntheticStats.scanNetRanges)
        #expect(ranges["points"]!.contains(Double(p.count)), "points \(p.count)")
        #expect(ranges["voxels"]!.contains(Double(vox)), "voxels \(vox)")
        let inst = Set(p.instances).count, classes = Set(p.labels).count
        #expect(ranges["instances"]!.contains(Double(inst)), "instances \(inst)")
        #expect(ranges["classes"]!.contains(Double(classes)), "classes \(classes)")
        #expect(ranges["frames"]!.contains(Double(SyntheticPreset.scannet.frames)))
    }
}
