/// OpenScene's training-time augmentation of one scene, as a deterministic seeded transform
/// (`dataset/point_loader.py`, `dataset/augmentation.py`, `dataset/voxelizer.py`,
/// openscene-pipeline.md §2.2–2.3), in the released order:
///
/// 1. elastic distortion in metres (`ElasticDistortion`, `((0.2, 0.4), (0.8, 1.6))`, p 0.95);
/// 2. voxelisation with a random rotation (θx, θy ~ U(±π/64), θz ~ U(±π), the three axis
///    rotations multiplied in a random order) and scale `U(0.9, 1.1)/voxel` (`Voxelizer`);
/// 3. flips of the horizontal voxel axes: with p 0.95, each of x, y with p 0.5 becomes
///    `max − c` (`RandomHorizontalFlip('z')`);
/// 4. a random integer translation `⌊U(0,1)·100⌋` per axis (`coords += (rand(3)·100)`, per batch
///    in the released loop, per scene here).
///
/// Colour jitter is not applied (every released recipe feeds constant ones). Quirk kept as an
/// option: the released distillation loader (`FusedFeatureLoader`, train split) computes the
/// elastic distortion and then voxelises the *undistorted* points, so it has no effect there;
/// `elastic = nil` reproduces that. Random streams are ov3d's (`SplitMix64`), not numpy's.
public struct SceneAugmentation: Sendable {
    public var elastic: [(granularity: Double, magnitude: Double)]? = ElasticDistortion.releasedParameters
    public var elasticProbability = 0.95
    public var rotationScale = true
    public var flip = true
    public var flipProbability = 0.95
    /// Upper bound of the integer translation (0: none).
    public var translation = 100

    public init() {}

    /// No augmentation (evaluation): identity rotation, scale 1/voxel, no flip or shift.
    public static var none: SceneAugmentation {
        var a = SceneAugmentation()
        a.elastic = nil; a.rotationScale = false; a.flip = false; a.translation = 0
        return a
    }

    /// Voxelises `positions` (x y z per point, metres) with the augmentation drawn from `seed`.
    /// The result's coordinates are ≥ 0 (after flips and translation).
    public func apply(positions: [Float], voxelSize: Double, seed: UInt64) throws -> Voxelizer.Result {
        var rng = SplitMix64(seed: seed)
        var p = positions
        if let elastic, Double.random(in: 0..<1, using: &rng) < elasticProbability {
            for e in elastic { p = try ElasticDistortion.apply(p, granularity: e.granularity, magnitude: e.magnitude, rng: &rng) }
        }
        var aug: Voxelizer.Augmentation? = nil
        if rotationScale { aug = Voxelizer.Augmentation(seed: rng.next()) }
        var r = try Voxelizer.voxelize(positions: p, voxelSize: voxelSize, augmentation: aug)
        if flip, Double.random(in: 0..<1, using: &rng) < flipProbability {
            for axis in 0..<2 where Double.random(in: 0..<1, using: &rng) < 0.5 {
                var mx: Int32 = 0
                for v in 0..<r.voxelCount { mx = max(mx, r.coords[3 * v + axis]) }
                for v in 0..<r.voxelCount { r.coords[3 * v + axis] = mx - r.coords[3 * v + axis] }
            }
        }
        if translation > 0 {
            for axis in 0..<3 {
                let t = Int32(Double.random(in: 0..<1, using: &rng) * Double(translation))
                for v in 0..<r.voxelCount { r.coords[3 * v + axis] += t }
            }
        }
        return r
    }
}
