import Foundation
import Testing
@testable import OV3DCore

@Suite struct CapabilityFusionTests {
    /// Three classes whose text embeddings are the axes of R³, so a feature's predicted class is
    /// its largest coordinate.
    let vocab = try! Vocabulary(names: ["a", "b", "c"], embeddings: [1, 0, 0, 0, 1, 0, 0, 0, 1], dimension: 3)

    /// Hand computation (SAS §4): capL = [0.8, 0.5, 0.2], capS = [0.4, 0.6, 0.9].
    /// Point 0: l = (1, 0.2, 0) → cL = 0; s = (0, 0.1, 2) → cS = 2.
    ///   wL = capL[0] + capL[2] = 1.0, wS = capS[2] + capS[0] = 1.3; normalised 1/2.3, 1.3/2.3;
    ///   softmax over τ = 0.05: wS = 1/(1 + e^(−0.3/2.3/0.05)) = 0.9314191246, wL = 0.0685808754.
    /// Point 1: l = (0, 1, 0), s = (0, 0.9, 0.1), both class 1: wL = 2·0.5, wS = 2·0.6 →
    ///   wS = 1/(1 + e^(−0.2/2.2/0.05)) = 0.8603478166, wL = 0.1396521834.
    /// Point 2: l = (0, 0, 1) predicts class 2 = keepClass → l unchanged.
    @Test func handComputedTwoTeachersThreeClasses() throws {
        let cap = try CapabilityTable(rows: [[0.8, 0.5, 0.2], [0.4, 0.6, 0.9]])
        let l: [Float] = [1, 0.2, 0, 0, 1, 0, 0, 0, 1]
        let s: [Float] = [0, 0.1, 2, 0, 0.9, 0.1, 1, 0, 0]
        let (f, w) = try TeacherFusion.fuse(teachers: [l, s], vocabulary: vocab, method: .capability(cap, temperature: 0.05, keepClass: 2))
        let wantW: [Float] = [0.0685808754, 0.9314191246, 0.1396521834, 0.8603478166, 1, 0]
        let wantF: [Float] = [0.0685808754, 0.1068580875, 1.8628382492, 0, 0.9139652183, 0.0860347817, 0, 0, 1]
        for i in 0..<6 { #expect(abs(w[i] - wantW[i]) < 1e-6, "weight \(i): \(w[i]) vs \(wantW[i])") }
        for i in 0..<9 { #expect(abs(f[i] - wantF[i]) < 1e-6, "feature \(i): \(f[i]) vs \(wantF[i])") }
        // Without the exclusion point 2 is fused too: cL = 2, cS = 0 → wL = 0.2+0.8, wS = 0.4+0.9.
        let (_, w2) = try TeacherFusion.fuse(teachers: [l, s], vocabulary: vocab, method: .capability(cap))
        #expect(abs(w2[5] - 0.9314191246) < 1e-6)
    }

    /// When one teacher's capabilities dominate on every class, the fusion is that teacher alone.
    @Test func degradesToTheDominantTeacher() throws {
        var rng = SystemRandomNumberGenerator()
        let n = 200
        let l = (0..<(3 * n)).map { _ in Float.random(in: -1...1, using: &rng) }
        let s = (0..<(3 * n)).map { _ in Float.random(in: -1...1, using: &rng) }
        for (strong, alone) in [(0, l), (1, s)] {
            let rows: [[Float]] = strong == 0 ? [[0.9, 0.8, 0.95], [0.01, 0.02, 0.01]] : [[0.01, 0.02, 0.01], [0.9, 0.8, 0.95]]
            let (f, w) = try TeacherFusion.fuse(teachers: [l, s], vocabulary: vocab, method: .capability(try CapabilityTable(rows: rows)))
            for i in 0..<n { #expect(w[2 * i + strong] > 1 - 1e-6) }
            for i in 0..<(3 * n) { #expect(abs(f[i] - alone[i]) < 1e-5) }
        }
    }

    @Test func baselines() throws {
        let l: [Float] = [1, 0, 0, 0, 0, 0]
        let s: [Float] = [0.5, 0.5, 0, 0, 3, 0.1]
        let (m, _) = try TeacherFusion.fuse(teachers: [l, s], vocabulary: vocab, method: .mean)
        #expect(m == [0.75, 0.25, 0, 0, 3, 0.1]) // point 1: teacher 0 has no feature
        let (x, w) = try TeacherFusion.fuse(teachers: [l, s], vocabulary: vocab, method: .maxSimilarity)
        #expect(x == [1, 0, 0, 0, 3, 0.1] && w == [1, 0, 0, 1])
    }

    @Test func capabilityConstruction() throws {
        var b = try CapabilityBuilder(teachers: 2, classes: 3)
        // class 0, two images: teacher 0 IoU sums 2/4 and 1/1 → 3/5; teacher 1 0/3.
        try b.add(teacher: 0, cls: 0, pseudoGroundTruth: [1, 1, 1, 0], teacherMask: [0, 1, 1, 1])
        try b.add(teacher: 0, cls: 0, pseudoGroundTruth: [1, 0], teacherMask: [1, 0])
        try b.add(teacher: 1, cls: 0, pseudoGroundTruth: [1, 1, 0], teacherMask: [0, 0, 1])
        try b.add(teacher: 0, cls: 2, pseudoGroundTruth: [1, 1], teacherMask: [1, 1])
        let t = try b.table(excluded: [2])
        #expect(t.values == [0.6, 0, 0, 0, 0, 0])
        #expect(try b.table()[0, 2] == 1)
        #expect(throws: OV3DError.self) { try b.add(teacher: 2, cls: 0, pseudoGroundTruth: [1], teacherMask: [1]) }
        #expect(throws: OV3DError.self) { try b.add(teacher: 0, cls: 0, pseudoGroundTruth: [1], teacherMask: [1, 0]) }
        #expect(throws: OV3DError.self) { try CapabilityTable(rows: [[0.1, -1, 0]]) }
    }

    /// SAS stores one length-K float vector per teacher (`capability/{lseg,seem}_miou.npy`).
    @Test func capabilityTableFromFiles() throws {
        let dir = NSTemporaryDirectory() + "ov3d-cap-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try NPY.write([0.8, 0.5, 0.2], shape: [3], path: dir + "/lseg_miou.npy")
        try NPY.write([0.4, 0.6, 0.9], shape: [3], path: dir + "/seem_miou.npy")
        try NPY.write([0.4, 0.6, 0.9, 0.1, 0.2, 0.3], shape: [2, 3], path: dir + "/both.npy")
        let t = try CapabilityTable.load(paths: [dir + "/lseg_miou.npy", dir + "/seem_miou.npy"])
        #expect(t.teachers == 2 && t.classes == 3 && t[1, 2] == 0.9)
        #expect(try CapabilityTable.load(paths: [dir + "/both.npy"]).values == [0.4, 0.6, 0.9, 0.1, 0.2, 0.3])
        try NPY.write([0.1, 0.2], shape: [2], path: dir + "/short.npy")
        #expect(throws: OV3DError.self) { try CapabilityTable.load(paths: [dir + "/lseg_miou.npy", dir + "/short.npy"]) }
        #expect(throws: OV3DError.self) { try CapabilityTable.load(paths: [dir + "/missing.npy"]) }
    }

    @Test func ensembleModes() throws {
        // Point 0: 3D says class 0 weakly (cos 0.6), 2D says class 1 strongly (cos 1) → max-score takes 2D.
        // Point 1: no 2D feature → fusion gives 256; ensembles use 3D.
        let f3: [Float] = [0.6, 0.0, 0.8, 0, 0, 5]
        let f2: [Float] = [0, 3, 0, 0, 0, 0]
        #expect(try FeatureEnsemble.labels(mode: .distill, features3D: f3, features2D: [], vocabulary: vocab) == [2, 2])
        #expect(try FeatureEnsemble.labels(mode: .fusion, features3D: [], features2D: f2, vocabulary: vocab) == [1, 256])
        #expect(try FeatureEnsemble.labels(mode: .ensemble(.maxScore), features3D: f3, features2D: f2, vocabulary: vocab) == [1, 2])
        // average: (0.3, 1.5, 0.4) → class 1; (0, 0, 2.5) → class 2
        #expect(try FeatureEnsemble.labels(mode: .ensemble(.average), features3D: f3, features2D: f2, vocabulary: vocab) == [1, 2])
        let f3b: [Float] = [0, 0, 9, 0, 0, 5] // 3D cos 1 ≥ 2D cos 1 → 3D kept on ties; average (0,1.5,4.5) → 2
        #expect(try FeatureEnsemble.labels(mode: .ensemble(.maxScore), features3D: f3b, features2D: f2, vocabulary: vocab) == [2, 2])
        #expect(throws: OV3DError.self) { try FeatureEnsemble.labels(mode: .ensemble(.average), features3D: f3, features2D: [1], vocabulary: vocab) }
    }

    @Test func superpointVote() throws {
        let labels: [Int32] = [1, 1, 2, 256, 3, 3, 4, 7, 5]
        let segs: [Int32] = [10, 10, 10, 10, 20, 20, 20, -1, 30]
        #expect(try SuperpointOps.refine(labels: labels, segments: segs) == [1, 1, 1, 1, 3, 3, 3, 7, 5])
        #expect(try SuperpointOps.refine(labels: [2, 1], segments: [0, 0]) == [1, 1]) // tie → smallest
        #expect(throws: OV3DError.self) { try SuperpointOps.refine(labels: [1], segments: []) }
    }
}
