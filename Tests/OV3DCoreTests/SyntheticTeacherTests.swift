import Foundation
import Testing
@testable import OV3DCore

/// Simulated teachers (SIMULATED: their errors are modelled, not learned), the fusion of
/// synthetic frames through the reader real frames use, annotation-free capabilities, real
/// geometry with simulated teachers, and the geometry-only probe.
@Suite struct SyntheticTeacherTests {
    var scene: SyntheticScene { SyntheticWorldTests.tinyScene }
    var space: TeacherTextSpace { SyntheticWorldTests.textSpace }

    @Test func confusionRowsAreDistributions() {
        let names = SyntheticWorld.classNames + ["ceiling"]
        let c = TeacherConfusion(names: names, confusions: [("picture", "wall", 0.55), ("chair", "sofa", 0.4)], leakage: 0.04)
        for r in 0..<c.classes {
            let s = (0..<c.classes).reduce(Float(0)) { $0 + c.probability(true: r, reported: $1) }
            #expect(abs(s - 1) < 1e-5)
        }
        #expect(abs(c.probability(true: 10, reported: 0) - (0.55 + 0.04 / 20)) < 1e-6)
        let relieved = c.relieved(0.5)
        #expect(relieved.probability(true: 10, reported: 10) > c.probability(true: 10, reported: 10))
    }

    /// Reports are coherent per object within a view and flicker between views.
    @Test func reportsPerObjectPerViewWithFlicker() {
        let t = TextAlignedTeacher.seemLike(space: space, featureWidth: 40, featureHeight: 30, seed: 3)
        let chair = Int(SyntheticWorld.classIndex("chair"))
        var reports = Set<Int>(), changes = 0
        var last = t.reportedClass(instance: 7, trueClass: chair, view: 0)
        for v in 1..<200 {
            let r = t.reportedClass(instance: 7, trueClass: chair, view: v)
            #expect(r == t.reportedClass(instance: 7, trueClass: chair, view: v))
            reports.insert(r)
            if r != last { changes += 1 }
            last = r
        }
        #expect(reports.contains(Int(SyntheticWorld.classIndex("sofa"))), "SEEM-like confuses chair with sofa")
        #expect(changes > 10 && changes < 150, "flicker between views: \(changes) changes in 199")
    }

    @Test func featureMapsAtTheirOwnResolutions() {
        let teachers = SyntheticTeachers.standard(preset: .tiny, space: space, seed: 1)
        let f = scene.frames[0]
        for t in teachers {
            let m = t.featureMap(f, frameIndex: 0, world: scene.world)
            #expect(m.count == t.featureWidth * t.featureHeight * t.dimension, "\(t.name)")
            #expect(m.allSatisfy { $0.isFinite })
            // unit rows where the view sees something
            let row = Array(m[0..<t.dimension])
            let norm = row.reduce(0) { $0 + $1 * $1 }
            #expect(abs(norm - 1) < 1e-3 || norm == 0, "\(t.name) row norm \(norm)")
        }
        #expect(teachers.map(\.textAligned) == [true, true, false, false])
        #expect(teachers[2].dimension == SyntheticPreset.tiny.geometricDim && teachers[3].dimension == SyntheticPreset.tiny.diffusionDim)
    }

    /// Frames written in ScanNet's exported layout, fused by `ov3d fuse`'s reader (the manifest),
    /// give bit for bit the features the library fused in memory.
    @Test func writtenFramesFuseThroughTheManifestReader() throws {
        let dir = NSTemporaryDirectory() + "ov3d-synth-\(getpid())-frames"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticSceneExport.writeFrames(scene: scene, out: dir)
        let teacher = TextAlignedTeacher.seemLike(space: space, featureWidth: 40, featureHeight: 30, seed: 9)
        let fused = try SyntheticSceneExport.writeTeacher(scene: scene, teacher: teacher, out: dir, frameFeatures: true, threads: 2)
        for sub in ["color", "depth", "label", "instance", "pose"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/frames/\(sub)/20." + (sub == "pose" ? "txt" : "png")))
        }
        #expect(FileManager.default.fileExists(atPath: dir + "/frames/intrinsic/intrinsic_depth.txt"))
        let r = try MultiViewFusion.fuse(positions: scene.points.positions, manifestPath: dir + "/frames/seem.json")
        #expect(r.features == fused.features)
        #expect(r.mask == fused.mask)
        let d = try DepthImage.readPNG(path: dir + "/frames/depth/0.png")
        #expect(d.values == scene.frames[0].depth)
    }

    /// Capabilities from generated single-object images only, never the scene's labels: the
    /// LSeg-like teacher (pictures melt into walls) is less capable on pictures than the
    /// SEEM-like one, which confuses cabinets with counters.
    @Test func annotationFreeCapabilities() throws {
        let fw = 40, fh = 30
        let teachers = [TextAlignedTeacher.lsegLike(space: space, featureWidth: fw, featureHeight: fh, seed: 11),
                        TextAlignedTeacher.seemLike(space: space, featureWidth: fw, featureHeight: fh, seed: 23)]
        let table = try GeneratedImageCapabilities.build(teachers: teachers, imagesPerClass: 2, width: 96, height: 72, seed: 4, threads: 2)
        #expect(table.teachers == 2 && table.classes == 20)
        func cap(_ t: Int, _ c: String) -> Float { table[t, Int(SyntheticWorld.classIndex(c))] }
        #expect(cap(0, "otherfurniture") == 0 && cap(1, "otherfurniture") == 0, "SAS excludes 'other'")
        #expect(cap(0, "picture") < cap(1, "picture"))
        #expect(cap(1, "cabinet") < cap(0, "cabinet"))
        #expect(cap(0, "wall") > 0.3 && cap(1, "floor") > 0.3)
        let again = try GeneratedImageCapabilities.build(teachers: teachers, imagesPerClass: 2, width: 96, height: 72, seed: 4, threads: 1)
        #expect(again == table)
    }

    /// Fused over the frames and scored with ov3d's evaluation: each teacher's characteristic
    /// mistakes show up in the per-point confusion.
    @Test func fusedTeachersShowTheirErrorPatterns() throws {
        let lseg = TextAlignedTeacher.lsegLike(space: space, featureWidth: 40, featureHeight: 30, seed: 11)
        let f = try scene.fuseTeacher(lseg, params: FusionParams(threads: 2))
        let gt = SyntheticEvaluation.groundTruth(labels: scene.points.labels, seen: f.mask)
        let (m, labels) = try SyntheticEvaluation.score(features: f.features, vocabulary: space.vocabulary, groundTruth: gt)
        #expect(m.meanIoU > 0.2 && m.meanIoU < 0.95, "lseg mIoU \(m.meanIoU)")
        #expect(m.evaluatedPoints > 1000)
        let pattern = SyntheticEvaluation.errorPattern(predictions: labels, groundTruth: gt, classes: 20, top: 20)
        #expect(!pattern.isEmpty)
    }

    /// Real ScanNet geometry (scene0000_00 of `scannet_votenet50k`), SIMULATED teachers at point
    /// level: each lands at its own mIoU with its own error pattern, and fusion with the
    /// annotation-free capabilities (generated images only) is printed beside the mean.
    @Test func realGeometrySimulatedTeachers() throws {
        guard let dir = TestPaths.shared("scannet_votenet50k") else { return }
        let vert = try NPY.read(path: dir + "/scene0000_00_vert.npy").floats()
        let sem = try NPY.read(path: dir + "/scene0000_00_sem_label.npy").int64s().map { UInt32($0) }
        let ins = try NPY.read(path: dir + "/scene0000_00_ins_label.npy").int64s().map { Int32($0) }
        let n = sem.count
        var pos = [Float](repeating: 0, count: 3 * n)
        for i in 0..<n { for c in 0..<3 { pos[3 * i + c] = vert[6 * i + c] } }
        let labels = PointLevelTeachers.scanNet20(fromNYU40: sem)
        let teachers = [TextAlignedTeacher.lsegLike(space: space, featureWidth: 40, featureHeight: 30, seed: 11),
                        TextAlignedTeacher.seemLike(space: space, featureWidth: 40, featureHeight: 30, seed: 23)]
        var fused: [FusedTeacher] = []
        for t in teachers {
            let f = try PointLevelTeachers.features(teacher: t, positions: pos, labels: labels, instances: ins, views: 4, neighbours: 4)
            #expect(f.count == n * 512)
            fused.append(FusedTeacher(name: t.name, dimension: 512, textAligned: true, features: f, mask: [UInt8](repeating: 1, count: n)))
        }
        let table = try GeneratedImageCapabilities.build(teachers: teachers, imagesPerClass: 2, width: 96, height: 72, seed: 4, threads: 2)
        let rows = try SyntheticEvaluation.compare(teachers: fused, vocabulary: space.vocabulary, groundTruth: labels,
                                                   capabilities: [("capability-guided (annotation-free)", table)], threads: 2)
        for r in rows {
            let labelsOf = try space.vocabulary.classify(features: r.features, threads: 2).labels
            let pattern = SyntheticEvaluation.errorPattern(predictions: labelsOf, groundTruth: labels, classes: 20, top: 3)
            print("SYNTHETIC real-geometry scene0000_00 \(r.name): mIoU \(r.metrics.meanIoU) mAcc \(r.metrics.meanAccuracy) errors \(pattern)")
        }
        for r in rows.prefix(2) { #expect(r.metrics.meanIoU > 0.3 && r.metrics.meanIoU < 0.99, "\(r.name) on scene0000_00: \(r.metrics.meanIoU)") }
        // the error patterns are the teachers': LSeg-like melts doors into walls, SEEM-like mixes cabinet and counter
        let door = Int(SyntheticWorld.classIndex("door")), cabinet = Int(SyntheticWorld.classIndex("cabinet"))
        #expect((rows[0].metrics.iou[door] ?? 1) < (rows[1].metrics.iou[door] ?? 0))
        #expect((rows[1].metrics.iou[cabinet] ?? 1) < (rows[0].metrics.iou[cabinet] ?? 0))
    }

    /// The DINOv2- and diffusion-like teachers' point path (`PointLevelTeachers.geometric` /
    /// `.diffusion`, the ScanNet export's) runs the same per-sample function as their frame path:
    /// the cells a frame's teacher view sees, fed in as points (no noise, no neighbour mixing, one
    /// simulated view = frame 0), give the frame path's clean cell features, normalised.
    @Test func pointPathIsTheFramePathsCellFunction() throws {
        let teachers = SyntheticTeachers.standard(preset: .tiny, space: space, seed: 4)
        var g = try #require(teachers[2] as? GeometricTeacher), df = try #require(teachers[3] as? DiffusionTeacher)
        g.noise = 0
        df.noise = 0
        func samples(_ view: TeacherView) -> (cells: [Int], positions: [Float], normals: [Float], colors: [UInt8], labels: [Int32], instances: [Int32]) {
            var r: (cells: [Int], positions: [Float], normals: [Float], colors: [UInt8], labels: [Int32], instances: [Int32]) = ([], [], [], [], [], [])
            for c in 0..<(view.width * view.height) where (0..<20).contains(view.classes[c]) && view.instances[c] > 0 {
                r.cells.append(c)
                for a in 0..<3 {
                    r.positions.append(view.positions[c][a]); r.normals.append(view.normals[c][a])
                    r.colors.append(UInt8((view.colours[c][a] * 255).rounded()))
                }
                r.labels.append(view.classes[c]); r.instances.append(view.instances[c])
            }
            return r
        }
        func normalised(_ cells: [Float], _ idx: [Int], _ d: Int) -> [Float] {
            var f = idx.flatMap { cells[($0 * d)..<(($0 + 1) * d)] }
            TeacherMath.normalizeRows(&f, dim: d)
            return f
        }
        var seen = Set<Int32>(), checked = 0
        for (i, frame) in scene.frames.prefix(4).enumerated() {
            // DINOv2-like on its patch grid: bit for bit
            let gv = TeacherView(frame: frame, world: scene.world, width: g.patchWidth, height: g.patchHeight)
            let gs = samples(gv)
            guard !gs.cells.isEmpty else { continue }
            let gp = try PointLevelTeachers.geometric(teacher: g, positions: gs.positions, normals: gs.normals, labels: gs.labels,
                                                      instances: gs.instances, neighbours: 0)
            #expect(gp == normalised(g.cellFeatures(view: gv), gs.cells, g.dimension), "frame \(i)")
            // diffusion-like on its 1/8 grid (the projection's GEMM runs over other row counts: 1e-5);
            // point view 0 is the report of frame 0 (the semantic teacher reports per object per view)
            let dv = TeacherView(frame: frame, world: scene.world, width: df.featureWidth, height: df.featureHeight)
            let ds = samples(dv)
            if i == 0 {
                let dp = try PointLevelTeachers.diffusion(teacher: df, positions: ds.positions, colors: ds.colors, labels: ds.labels,
                                                          instances: ds.instances, views: 1, neighbours: 0)
                let dref = normalised(df.cellFeatures(view: dv, frameIndex: 0), ds.cells, df.dimension)
                #expect(ds.cells.count > 20 && dp.count == dref.count)
                #expect(zip(dp, dref).map { abs($0 - $1) }.max() ?? 1 < 1e-5)
            }
            seen.formUnion(gs.instances)
            checked += gs.cells.count
        }
        #expect(checked > 100 && seen.count > 3, "\(checked) cells of \(seen.count) instances")
        // unannotated points (255, no instance) are seen as "otherfurniture" pseudo-objects, as the text teachers see them
        let a = try PointLevelTeachers.geometric(teacher: g, positions: [0.1, 0.2, 0.3], normals: [0, 0, 1], labels: [255], instances: [0], neighbours: 0)
        let b = try PointLevelTeachers.geometric(teacher: g, positions: [0.1, 0.2, 0.3], normals: [0, 0, 1], labels: [19], instances: [-20], neighbours: 0)
        #expect(a == b)
    }

    /// Point-level DINOv2- and diffusion-like features: N × dimension, finite unit rows,
    /// deterministic for a seed, seed-dependent noise, instance-aware (SIMULATED).
    @Test func pointLevelFeatureTeachersShapeAndDeterminism() throws {
        let teachers = SyntheticTeachers.standard(preset: .tiny, space: space, seed: 4)
        let g = try #require(teachers[2] as? GeometricTeacher), df = try #require(teachers[3] as? DiffusionTeacher)
        let p = scene.points
        let keep = Array(stride(from: 0, to: p.count, by: 4))
        let pos = keep.flatMap { p.positions[(3 * $0)..<(3 * $0 + 3)] }, nrm = keep.flatMap { p.normals[(3 * $0)..<(3 * $0 + 3)] }
        let col = keep.flatMap { p.colors[(3 * $0)..<(3 * $0 + 3)] }, lab = keep.map { p.labels[$0] }, ins = keep.map { p.instances[$0] }
        let n = keep.count
        for (name, d, run) in [("dinov2", g.dimension, { (s: UInt64) in try PointLevelTeachers.geometric(teacher: g, positions: pos, normals: nrm, labels: lab, instances: ins, seed: s) }),
                               ("diffusion", df.dimension, { (s: UInt64) in try PointLevelTeachers.diffusion(teacher: df, positions: pos, colors: col, labels: lab, instances: ins, seed: s) })] {
            let f = try run(1)
            #expect(f.count == n * d, "\(name)")
            #expect(f.allSatisfy { $0.isFinite }, "\(name)")
            for i in stride(from: 0, to: n, by: 97) {
                let norm = (0..<d).reduce(Float(0)) { $0 + f[i * d + $1] * f[i * d + $1] }
                #expect(abs(norm - 1) < 1e-4, "\(name) row \(i) norm \(norm)")
            }
            #expect(try run(1) == f, "\(name) deterministic")
            #expect(try run(2) != f, "\(name) noise depends on the seed")
            // mean cosine within an instance above that across instances
            var same: Float = 0, diff: Float = 0, ns: Float = 0, nd: Float = 0
            for i in stride(from: 0, to: n, by: 7) {
                let j = (i * 31 + 17) % n
                let c = (0..<d).reduce(Float(0)) { $0 + f[i * d + $1] * f[j * d + $1] }
                if ins[i] == ins[j] { same += c; ns += 1 } else { diff += c; nd += 1 }
            }
            #expect(ns > 0 && nd > 0 && same / ns > diff / nd + 0.1, "\(name): within \(same / ns), across \(diff / nd)")
        }
        #expect(throws: OV3DError.self) { try PointLevelTeachers.geometric(teacher: g, positions: pos, normals: [], labels: lab, instances: ins) }
        #expect(throws: OV3DError.self) { try PointLevelTeachers.diffusion(teacher: df, positions: pos, colors: [], labels: lab, instances: ins) }
    }

    /// Geometry alone (normals and height histograms, no colour) tells classes apart on rooms
    /// the classifier never saw.
    @Test func geometryOnlyClassifierBeatsChance() throws {
        func room(_ seed: UInt64) throws -> (x: [Float], y: [Int32]) {
            let r = RoomGenerator.generate(seed: seed, preset: .tiny)
            let p = SurfaceSampler.sample(r.world, raycaster: MeshRaycaster(mesh: r.world.mesh), density: 250, seed: seed, threads: 2)
            let nrm = try PointNormals.estimate(p.positions, k: 12).normals.map { $0.isFinite ? $0 : 0 }
            return (try GeometryProbe.features(positions: p.positions, normals: nrm, neighbours: 12), p.labels)
        }
        var x: [Float] = [], y: [Int32] = []
        for s in UInt64(1)...4 {
            let r = try room(s)
            for i in stride(from: 0, to: r.y.count, by: 3) {   // every third point keeps the debug build fast
                x += r.x[(i * GeometryProbe.featureCount)..<((i + 1) * GeometryProbe.featureCount)]; y.append(r.y[i])
            }
        }
        let probe = try GeometryProbe.Classifier(features: x, labels: y, classes: 20, dim: GeometryProbe.featureCount, iterations: 60)
        let test = try room(77)
        let pred = probe.predict(test.x)
        let m = try SegmentationMetrics.evaluate(predictions: pred, groundTruth: test.y, classes: 20, ignore: 255)
        let present = Double(m.presentClasses.count)
        print("SYNTHETIC geometry-only probe, held-out room: mAcc \(m.meanAccuracy) mIoU \(m.meanIoU) over \(Int(present)) classes (chance mAcc \(1 / present))")
        #expect(m.meanAccuracy > 2.5 / present, "held-out mAcc \(m.meanAccuracy) vs chance \(1 / present)")
    }
}
