import Foundation
import Testing
@testable import OV3DCore

/// The recipes' data transforms: OpenScene's elastic distortion against SciPy (fixture from
/// tools/recipe_reference.py; tolerance 1e-5 m), the seeded augmentation, point cropping and the
/// epoch plan ("loop").
@Suite struct RecipeDataTests {
    @Test func elasticDistortionMatchesScipy() throws {
        for name in ["elastic_fine", "elastic_coarse"] {
            let params = RecipeLossTests.doubles("\(name)_params")
            let out = try ElasticDistortion.apply(RecipeLossTests.floats("\(name)_coords"), granularity: params[0], magnitude: params[1],
                                                  noise: RecipeLossTests.floats("\(name)_noise"))
            let d = RecipeLossTests.maxAbsDiff(out, RecipeLossTests.doubles("\(name)_out"))
            #expect(d.diff < 1e-5, "\(name): differs from scipy by \(d.diff) m")
            let moved = zip(out, RecipeLossTests.floats("\(name)_coords")).map { abs($0 - $1) }.max()!
            #expect(moved > 1e-3, "\(name): the distortion moved nothing")
        }
        #expect(throws: OV3DError.self) { try ElasticDistortion.apply([0, 0, Float.nan], granularity: 0.2, magnitude: 0.4, noise: []) }
    }

    static func room(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<(3 * n)).map { i in rng.uniform(0...1) * (i % 3 == 2 ? 1.5 : 3) }
    }

    @Test func augmentationIsSeededAndBounded() throws {
        let p = Self.room(3000, seed: 4)
        let aug = SceneAugmentation()
        let a = try aug.apply(positions: p, voxelSize: 0.05, seed: 11)
        let b = try aug.apply(positions: p, voxelSize: 0.05, seed: 11)
        let c = try aug.apply(positions: p, voxelSize: 0.05, seed: 12)
        #expect(a.coords == b.coords && a.inverse == b.inverse)
        #expect(a.coords != c.coords)
        #expect(a.coords.allSatisfy { $0 >= 0 })
        #expect(a.inverse.count == 3000 && a.inverse.allSatisfy { $0 >= 0 && Int($0) < a.voxelCount })
        // No augmentation = the plain voxeliser.
        let plain = try SceneAugmentation.none.apply(positions: p, voxelSize: 0.05, seed: 11)
        let ref = try Voxelizer.voxelize(positions: p, voxelSize: 0.05)
        #expect(plain.coords == ref.coords && plain.inverse == ref.inverse)
        // Translation only: the same voxels shifted by integers in [0, 100).
        var shift = SceneAugmentation.none
        shift.translation = 100
        let s = try shift.apply(positions: p, voxelSize: 0.05, seed: 3)
        #expect(s.inverse == ref.inverse)
        let off = (0..<3).map { s.coords[$0] - ref.coords[$0] }
        #expect(off.allSatisfy { $0 >= 0 && $0 < 100 })
        for v in 0..<ref.voxelCount { for ax in 0..<3 { #expect(s.coords[3 * v + ax] - ref.coords[3 * v + ax] == off[ax]) } }
        // Flip only: x and/or y mirrored (c → max − c), z untouched, over several seeds.
        var flip = SceneAugmentation.none
        flip.flip = true
        var flipped = Set<Int>()
        for seed in 0..<12 {
            let f = try flip.apply(positions: p, voxelSize: 0.05, seed: UInt64(seed))
            for ax in 0..<3 {
                let mx = (0..<ref.voxelCount).map { ref.coords[3 * $0 + ax] }.max()!
                let same = (0..<ref.voxelCount).allSatisfy { f.coords[3 * $0 + ax] == ref.coords[3 * $0 + ax] }
                let mirrored = (0..<ref.voxelCount).allSatisfy { f.coords[3 * $0 + ax] == mx - ref.coords[3 * $0 + ax] }
                #expect(same || (ax < 2 && mirrored))
                if !same { flipped.insert(ax) }
            }
        }
        #expect(flipped == [0, 1])
    }

    @Test func pointCropKeepsTheNearestColumn() throws {
        let p = Self.room(2000, seed: 9)
        let k = try PointCrop.indices(positions: p, maxPoints: 500, seed: 5)
        #expect(k.count == 500 && k == k.sorted() && Set(k).count == 500)
        #expect(try PointCrop.indices(positions: p, maxPoints: 500, seed: 5) == k)
        #expect(try PointCrop.indices(positions: p, maxPoints: 5000, seed: 5) == Array(0..<2000))
        // Every kept point is at least as close (in x–y) to some centre as every dropped one:
        // the kept set is a disc, so its bounding box is far smaller than the room's.
        let xs = k.map { p[3 * $0] }, ys = k.map { p[3 * $0 + 1] }
        #expect((xs.max()! - xs.min()!) < 3 && (ys.max()! - ys.min()!) < 3)
        #expect(throws: OV3DError.self) { try PointCrop.indices(positions: p, maxPoints: 0, seed: 1) }
    }

    /// `data.crop_points` keeps the scene's rows `PointCrop` picks, with their features, targets and mask.
    @Test func croppedSceneKeepsItsRows() throws {
        let p = Self.room(300, seed: 4)
        var rng = SplitMix64(seed: 8)
        let feats = (0..<(300 * 2)).map { _ in rng.uniform(-1...1) }, tgt = (0..<(300 * 5)).map { _ in rng.uniform(-1...1) }
        let mask = (0..<300).map { UInt8($0 % 3 == 0 ? 0 : 1) }
        let scene = TrainingScene(label: "s", points: p, voxelSize: 0.05, features: feats, inChannels: 2,
                                  targets: ["final": tgt], mask: mask, rows: 300)
        let keep = try PointCrop.indices(positions: scene.cropPositions, maxPoints: 120, seed: 3)
        let c = scene.subset(rows: keep)
        #expect(c.rows == 120 && c.points!.count == 360 && c.features!.count == 240 && c.targets["final"]!.count == 600)
        for (r, i) in keep.enumerated() {
            #expect(Array(c.points![(3 * r)..<(3 * r + 3)]) == Array(p[(3 * i)..<(3 * i + 3)]))
            #expect(Array(c.features![(2 * r)..<(2 * r + 2)]) == Array(feats[(2 * i)..<(2 * i + 2)]))
            #expect(Array(c.targets["final"]![(5 * r)..<(5 * r + 5)]) == Array(tgt[(5 * i)..<(5 * i + 5)]))
            #expect(c.mask![r] == mask[i])
        }
        // voxel scenes crop on their integer coordinates
        let v = TrainingScene(label: "v", coords: (0..<30).flatMap { [Int32($0), Int32($0 % 7), 0] }, inChannels: 1, targets: [:], rows: 30)
        #expect(v.cropPositions.count == 90 && v.subset(rows: [2, 5]).coords! == [2, 2, 0, 5, 5, 0])
    }

    /// Stage 2's EMA state round-trips through the checkpoint tensor bit for bit, and a cropped
    /// batch updates only its rows.
    @Test func temporalEnsembleStateRoundTripsAndUpdatesRows() throws {
        for half in [true, false] {
            let dim = 3, n = 6
            var rng = SplitMix64(seed: 2)
            let p0 = (0..<(n * dim)).map { _ in rng.uniform(-1...1) }
            let ema = try TemporalEnsemble(dim: dim, momentum: 0.7, storeHalf: half)
            try ema.initialize(scene: 1, pointPredictions: p0, superpoints: Superpoints.dense([0, 0, 1, 1, -1, 2], unassigned: -1))
            let before = ema.state(scene: 1)!
            let p = (0..<(2 * dim)).map { _ in rng.uniform(-1...1) }
            let rows = try ema.update(scene: 1, rows: [1, 4], pointPredictions: p)
            let after = ema.state(scene: 1)!
            for i in 0..<n {
                let k = [1: 0, 4: 1][i]
                for j in 0..<dim {
                    if let k {
                        let want = Float(0.7) * before[i * dim + j] + Float(1 - 0.7) * p[k * dim + j]
                        #expect(abs(after[i * dim + j] - want) <= (half ? 1e-3 : 1e-6))
                        #expect(rows[k * dim + j] == after[i * dim + j])
                    } else {
                        #expect(after[i * dim + j] == before[i * dim + j])
                    }
                }
            }
            let t = try #require(try ema.tensor(scene: 1))
            #expect(t.dtype == (half ? .float16 : .float32) && t.shape == [n, dim])
            let back = try TemporalEnsemble(dim: dim, momentum: 0.7, storeHalf: half)
            try back.restore(scene: 1, tensor: t)
            #expect(back.state(scene: 1)! == after)
            #expect(throws: OV3DError.self) { try TemporalEnsemble(dim: dim + 1, storeHalf: half).restore(scene: 0, tensor: t) }
            #expect(throws: OV3DError.self) { try TemporalEnsemble(dim: dim, storeHalf: !half).restore(scene: 0, tensor: t) }
        }
    }

    @Test func epochPlanLoopsAndShuffles() throws {
        let plan = try EpochPlan(scenes: 3, loop: 5, batchSize: 4, shuffle: true, dropLast: true, seed: 1463)
        let e0 = plan.batches(epoch: 0), e1 = plan.batches(epoch: 1)
        #expect(plan.stepsPerEpoch == 3 && e0.count == 3 && e0.allSatisfy { $0.count == 4 })
        #expect(e0 == plan.batches(epoch: 0) && e0 != e1)
        let all = try EpochPlan(scenes: 3, loop: 5, batchSize: 4, shuffle: true, dropLast: false, seed: 1463).batches(epoch: 0).flatMap { $0 }
        #expect(all.count == 15 && (0..<3).allSatisfy { s in all.filter { $0 == s }.count == 5 })
        let ordered = try EpochPlan(scenes: 3, loop: 2, batchSize: 2, shuffle: false).batches(epoch: 7)
        #expect(ordered == [[0, 1], [2, 0], [1, 2]])
    }
}
