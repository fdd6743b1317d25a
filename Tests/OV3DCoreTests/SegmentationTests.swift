import Foundation
import Testing
@testable import OV3DCore

/// The segmentation pipeline (`Segmenter`) against spconv golden features (Tests/Fixtures/minkunet,
/// tools/minkunet_reference.py) scored independently here in float64, and against the library's
/// own reference pieces (FeatureEnsemble, SuperpointOps) for the 2D ensemble and superpoints.
@Suite struct SegmentationTests {
    /// Deterministic pseudo-random unit-free embeddings, `words × dim`.
    static func embeddings(words: Int, dim: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<(words * dim)).map { _ in Float(rng.normal()) }
    }

    /// Cosine scores in float64 of rows `features` (`n × d`) against `emb` (`k × d`).
    static func referenceScores(_ features: [Float], _ emb: [Float], d: Int) -> [[Double]] {
        let n = features.count / d, k = emb.count / d
        let en: [[Double]] = (0..<k).map { c in
            let r = (0..<d).map { Double(emb[c * d + $0]) }
            let s = r.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return r.map { $0 / s }
        }
        return (0..<n).map { i in
            let f = (0..<d).map { Double(features[i * d + $0]) }
            let s = f.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return en.map { e in zip(f, e).reduce(0) { $0 + $1.0 * $1.1 } / s }
        }
    }

    /// Compares labels and scores with float64 references; rows whose best two words are within
    /// `tie` are not compared for the label.
    static func compare(labels: [Int32], scores: [Float], reference: [[Double]], tie: Double = 1e-4) -> (mismatches: Int, maxScoreError: Double) {
        var mis = 0, err = 0.0
        for (i, row) in reference.enumerated() {
            let sorted = row.enumerated().sorted { $0.element > $1.element }
            if sorted[0].element - sorted[1].element > tie, labels[i] != Int32(sorted[0].offset) { mis += 1 }
            err = max(err, abs(Double(scores[i]) - row[Int(labels[i])]))
        }
        return (mis, err)
    }

    static func synthModel() throws -> (Segmenter, [Float], [Float]) {
        let model = try MinkUNet(stateDict: try MinkFixture.seededStateDict(try MinkUNetSpec.named("18A")))
        let pts = try MinkFixture.floats(MinkFixture.dir("synth_18a_full") + "/points.npy").values
        let golden = try MinkFixture.floats(MinkFixture.dir("synth_18a_full") + "/point_features.npy").values
        return (Segmenter(model: model), pts, golden)
    }

    @Test func synthFullWidthMatchesSpconvFeatures() throws {
        guard MinkFixture.exists("synth_18a_full") else { return }
        let (seg, pts, golden) = try Self.synthModel()
        let emb = Self.embeddings(words: 12, dim: 512, seed: 7)
        let vocab = try Vocabulary(names: (0..<12).map { "w\($0)" }, embeddings: emb, dimension: 512)
        var params = SegmentationParams(voxelSize: 0.02, threads: 1)
        params.probabilities = true
        let r = try seg.segment(positions: pts, vocabulary: vocab, params: params, workspace: Workspace())
        #expect(r.count == 300 && r.voxelCount == 139 && r.skippedCount == 0)
        let ref = Self.referenceScores(golden, emb, d: 512)
        let c = Self.compare(labels: r.labels, scores: r.scores, reference: ref)
        print("synth_18a_full segmentation vs spconv features: \(c.mismatches) label mismatches, max score error \(c.maxScoreError)")
        #expect(c.mismatches == 0)
        #expect(c.maxScoreError < 1e-4)
        // Probabilities: softmax(cos / 0.01), rows sum to 1, argmax = label.
        for i in 0..<r.count {
            let row = Array(r.probabilities[(i * 12)..<(i * 12 + 12)])
            #expect(abs(row.reduce(0, +) - 1) < 1e-4)
            #expect(Int32(row.indices.max { row[$0] < row[$1] }!) == r.labels[i])
            let z = ref[i].map { exp(($0 - ref[i].max()!) / 0.01) }
            #expect(abs(Double(row[0]) - z[0] / z.reduce(0, +)) < 2e-3)
        }
        // Queries: the heat-map of a word equals that column of the float64 reference.
        let heat = try r.query(word: 3)
        #expect(zip(heat, ref).allSatisfy { abs(Double($0) - $1[3]) < 1e-4 })
        let raw = Array(emb[(3 * 512)..<(4 * 512)]).map { $0 * 7 }   // any scale
        #expect(zip(try r.query(embedding: raw), heat).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test func nanPointsAreSkippedAndTheRestIsUnchanged() throws {
        guard MinkFixture.exists("synth_18a_full") else { return }
        let (seg, pts, _) = try Self.synthModel()
        let vocab = try Vocabulary(names: ["a", "b", "c"], embeddings: Self.embeddings(words: 3, dim: 512, seed: 3), dimension: 512)
        let params = SegmentationParams(voxelSize: 0.02, threads: 1)
        let clean = try seg.segment(positions: pts, vocabulary: vocab, params: params, workspace: Workspace())
        // An organised-cloud style input: NaN points interleaved.
        var holes = [Float](), where_ = [Int]()
        for i in 0..<(pts.count / 3) {
            if i % 7 == 0 { holes += [.nan, .nan, .nan]; where_.append(-1) }
            if i % 11 == 0 { holes += [1, .nan, 2]; where_.append(-1) }
            holes += pts[(3 * i)..<(3 * i + 3)]; where_.append(i)
        }
        let r = try seg.segment(positions: holes, vocabulary: vocab, params: params, workspace: Workspace())
        #expect(r.count == where_.count)
        #expect(r.skippedCount == where_.filter { $0 < 0 }.count)
        for (k, i) in where_.enumerated() {
            if i < 0 {
                #expect(r.labels[k] == -1 && r.scores[k].isNaN && r.voxelOfPoint[k] == -1)
            } else {
                #expect(r.labels[k] == clean.labels[i] && r.scores[k].bitPattern == clean.scores[i].bitPattern)
            }
        }
        let heat = try r.query(word: 0)
        #expect(heat.enumerated().allSatisfy { where_[$0.offset] < 0 ? $0.element.isNaN : !$0.element.isNaN })
        // Infinite / huge coordinates are errors, not skipped; all-NaN is an error.
        var bad = pts
        bad[5] = .infinity
        #expect(throws: OV3DError.self) { try seg.segment(positions: bad, vocabulary: vocab, params: params, workspace: Workspace()) }
        bad[5] = 3e7
        #expect(throws: OV3DError.self) { try seg.segment(positions: bad, vocabulary: vocab, params: params, workspace: Workspace()) }
        #expect(throws: OV3DError.self) {
            try seg.segment(positions: [Float](repeating: .nan, count: 9), vocabulary: vocab, params: params, workspace: Workspace())
        }
    }

    @Test func realSceneNarrowMatchesSpconvLabels() throws {
        guard MinkFixture.exists("scene0000_18a_w8"),
              let path = TestPaths.shared("scannet_votenet50k/scene0000_00_vert.npy") else { return }
        let dir = MinkFixture.dir("scene0000_18a_w8")
        let model = try MinkUNet(stateDict: try Safetensors.read(path: MinkFixture.dir("room_18a_w8") + "/weights.safetensors"))
        let loaded = try CloudFile.read(path)   // N×6 x y z r g b, as users have it
        // 16 words = the 16 channels of `final`: the label is the argmax channel, which spconv's
        // fixture records for every point.
        var basis = [Float](repeating: 0, count: 16 * 16)
        for c in 0..<16 { basis[c * 16 + c] = 1 }
        let vocab = try Vocabulary(names: (0..<16).map { "c\($0)" }, embeddings: basis, dimension: 16)
        let r1 = try Segmenter(model: model).segment(positions: loaded.cloud.positions, vocabulary: vocab,
                                                     params: SegmentationParams(voxelSize: 0.02, threads: 1), workspace: Workspace())
        let golden = try MinkFixture.ints(dir + "/point_labels.npy")
        let mis = zip(golden, r1.labels).filter { $0.0 >= 0 && $0.0 != $0.1 }.count
        print("scene0000_00 (real ScanNet) segmentation vs spconv argmax: \(mis) of \(golden.count) differ, \(r1.voxelCount) voxels")
        #expect(mis == 0)
        // Scores at the sampled rows: the largest unit feature value.
        let rows = try NPY.read(path: dir + "/sample_point_rows.npy").int64s()
        let f = try MinkFixture.floats(dir + "/sample_point_features.npy").values
        for (j, i) in rows.enumerated() {
            let row = f[(j * 16)..<(j * 16 + 16)]
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(r1.scores[Int(i)] - row.max()! / norm) < 1e-4)
        }
        // The same thread count: the same bits, whatever ran before or runs beside (the parallel
        // test runner); another thread count: the same bits too (fixed row blocks everywhere).
        let run2 = { try Segmenter(model: model).segment(positions: loaded.cloud.positions, vocabulary: vocab,
                                                         params: SegmentationParams(voxelSize: 0.02, threads: 2), workspace: Workspace()) }
        let r2 = try run2(), r3 = try run2()
        #expect(r2.labels == r3.labels && r2.scores.map(\.bitPattern) == r3.scores.map(\.bitPattern)
                && r2.voxelFeatures == r3.voxelFeatures)
        #expect(r1.labels == r2.labels && r1.scores.map(\.bitPattern) == r2.scores.map(\.bitPattern))
    }

    @Test func ensembleAndSuperpointsFollowTheLibraryReferences() throws {
        guard MinkFixture.exists("synth_18a_full") else { return }
        let (seg, pts, _) = try Self.synthModel()
        let d = 512, n = pts.count / 3
        let emb = Self.embeddings(words: 6, dim: d, seed: 11)
        let vocab = try Vocabulary(names: (0..<6).map { "w\($0)" }, embeddings: emb, dimension: d)
        let base = try seg.segment(positions: pts, vocabulary: vocab, params: SegmentationParams(voxelSize: 0.02, threads: 1),
                                   workspace: Workspace())
        let f3 = base.pointFeatures()
        // 2D features: a word embedding plus noise on two thirds of the points, zeros elsewhere.
        var rng = SplitMix64(seed: 5)
        var f2 = [Float](repeating: 0, count: n * d)
        for i in 0..<n where i % 3 != 0 {
            let w = i % 6
            for j in 0..<d { f2[i * d + j] = 0.05 * emb[w * d + j] + Float(rng.normal()) * 0.05 }
        }
        for mode in [FeatureEnsemble.Mode.ensemble(.maxScore), .ensemble(.average), .fusion] {
            var p = SegmentationParams(voxelSize: 0.02, threads: 1)
            p.fused = FusedFeatures(features: f2, mode: mode)
            let r = try seg.segment(positions: pts, vocabulary: vocab, params: p, workspace: Workspace())
            let ref = try FeatureEnsemble.labels(mode: mode, features3D: f3, features2D: f2, vocabulary: vocab, threads: 1)
            for i in 0..<n {
                if i % 3 == 0 {   // no 2D feature: the 3D label (fusion: none)
                    #expect(r.labels[i] == (mode == .fusion ? -1 : base.labels[i]))
                } else {
                    #expect(r.labels[i] == ref[i], "mode \(mode) point \(i)")
                }
            }
            // The score is the cosine of the chosen label with the combined feature.
            for i in stride(from: 1, to: n, by: 3) where mode == .fusion {
                let row = Array(f2[(i * d)..<(i * d + d)])
                let s = Self.referenceScores(row, emb, d: d)[0][Int(r.labels[i])]
                #expect(abs(Double(r.scores[i]) - s) < 1e-5)
            }
        }
        // Superpoints: majority vote of the 3D labels; scores are the cosine of the voted label.
        let ids = (0..<n).map { Int32($0 / 25) }
        var p = SegmentationParams(voxelSize: 0.02, threads: 1)
        p.superpoints = ids
        let r = try seg.segment(positions: pts, vocabulary: vocab, params: p, workspace: Workspace())
        #expect(r.labels == (try SuperpointOps.refine(labels: base.labels, segments: ids, abstain: nil)))
        let ref = Self.referenceScores(f3, emb, d: d)
        for i in 0..<n { #expect(abs(Double(r.scores[i]) - ref[i][Int(r.labels[i])]) < 1e-4) }
    }

    @Test func errorsNameTheProblem() throws {
        guard MinkFixture.exists("synth_18a_full") else { return }
        let (seg, pts, _) = try Self.synthModel()
        let small = try Vocabulary(names: ["a"], embeddings: [1, 0, 0], dimension: 3)
        do {
            _ = try seg.segment(positions: pts, vocabulary: small, workspace: Workspace())
            Issue.record("a 3-d vocabulary against a 512-d head must fail")
        } catch let e as OV3DError {
            #expect(e.status == .invalidArgument && e.message.contains("512") && e.message.contains("3"))
        }
        let vocab = try Vocabulary(names: ["a"], embeddings: [Float](repeating: 1, count: 512), dimension: 512)
        #expect(throws: OV3DError.self) { try seg.segment(positions: pts, vocabulary: vocab, params: SegmentationParams(head: 3), workspace: Workspace()) }
        #expect(throws: OV3DError.self) { try seg.segment(positions: pts, vocabulary: vocab, params: SegmentationParams(voxelSize: -1), workspace: Workspace()) }
        var p = SegmentationParams()
        p.superpoints = [1, 2]
        #expect(throws: OV3DError.self) { try seg.segment(positions: pts, vocabulary: vocab, params: p, workspace: Workspace()) }
        let r = try seg.segment(positions: pts, vocabulary: vocab, workspace: Workspace())
        #expect(r.voxelSizeSource == .default && r.voxelSize == 0.02)
        #expect(throws: OV3DError.self) { try r.query(embedding: [1, 2]) }
        #expect(throws: OV3DError.self) { try r.query(embedding: [Float](repeating: 0, count: 512)) }
        #expect(try Segmenter(model: seg.model, recordedVoxelSize: 0.05).voxelSize(nil) == (0.05, .checkpoint))
    }

    @Test func pointFeaturesFromFusionAreScoredTheSameWay() throws {
        // Per-point features (as fused from images): unseen points get -1 and no score, seen
        // points the best word's cosine; superpoints vote; queries answer from the kept rows.
        let d = 8, n = 60
        let emb = Self.embeddings(words: 4, dim: d, seed: 21)
        let vocab = try Vocabulary(names: ["a", "b", "c", "d"], embeddings: emb, dimension: d)
        var f = Self.embeddings(words: n, dim: d, seed: 22)
        var mask = [UInt8](repeating: 1, count: n)
        for i in stride(from: 0, to: n, by: 4) { mask[i] = 0; for j in 0..<d { f[i * d + j] = 0 } }
        let r = try Segmenter.segment(pointFeatures: f, mask: mask, vocabulary: vocab, probabilities: true, threads: 1)
        let ref = Self.referenceScores(f, emb, d: d)
        for i in 0..<n {
            if mask[i] == 0 {
                #expect(r.labels[i] == -1 && r.scores[i].isNaN)
            } else {
                let best = ref[i].indices.max { ref[i][$0] < ref[i][$1] }!
                #expect(r.labels[i] == Int32(best) && abs(Double(r.scores[i]) - ref[i][best]) < 1e-5)
            }
        }
        #expect(r.probabilities.count == n * 4)
        let heat = try r.query(word: 1)
        for i in 0..<n where mask[i] != 0 { #expect(abs(Double(heat[i]) - ref[i][1]) < 1e-5) }
        let ids = (0..<n).map { Int32($0 / 6) }
        let v = try Segmenter.segment(pointFeatures: f, mask: mask, vocabulary: vocab, superpoints: ids, threads: 1)
        #expect(v.labels == (try SuperpointOps.refine(labels: r.labels, segments: ids, abstain: nil)))
        for i in 0..<n where mask[i] != 0 { #expect(abs(Double(v.scores[i]) - ref[i][Int(v.labels[i])]) < 1e-5) }
        #expect(throws: OV3DError.self) { try Segmenter.segment(pointFeatures: [1, 2, 3], vocabulary: vocab) }
        #expect(throws: OV3DError.self) { try Segmenter.segment(pointFeatures: f, mask: [1], vocabulary: vocab) }
    }
}
