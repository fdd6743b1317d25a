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
