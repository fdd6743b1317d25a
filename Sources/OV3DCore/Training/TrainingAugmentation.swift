/// Training-time augmentation, per scene and step, drawn from the trainer's `SplitMix64`
/// (so it is seeded and resumes exactly). OpenScene's distillation augments the same way in
/// kind (rotation, scale, flips, an integer translation `floor(rand(3)·100)`); the random
/// streams differ.
///
/// - Point scenes: x / y flips (p = ½ each), then OpenScene's voxeliser augmentation (rotation
///   x, y ∈ U(±π/64), z ∈ U(±π), random axis order, scale U(0.9, 1.1)), then the translation.
/// - Voxel scenes (integer coordinates, which must stay unique): x / y flips, a rotation about z
///   by a random multiple of 90°, a shift to min 0, then the translation. No scale.
public struct TrainingAugmentation: Sendable, Equatable {
    public var flip = true
    public var rotate = true
    /// Point scenes only: scale range (nil: no scaling).
    public var scale: ClosedRange<Double>? = 0.9 ... 1.1
    /// Per-axis integer translation drawn from 0 ..< translate (0: none).
    public var translate = 100
    /// Point scenes only: OpenScene's elastic distortion in metres before everything else
    /// (`ElasticDistortion`, released `((0.2, 0.4), (0.8, 1.6))`, p 0.95). Off by default: the
    /// released distillation loader computes it and then voxelises the undistorted points.
    public var elastic = false

    public init() {}

    /// Augments the N×3 voxel coordinates of a voxel scene in place.
    public func apply(voxels c: inout [Int32], rng: inout SplitMix64) {
        let n = c.count / 3
        let fx = flip && rng.next() & 1 == 1, fy = flip && rng.next() & 1 == 1
        let quarter = rotate ? rng.below(4) : 0
        var lo: (Int32, Int32, Int32) = (.max, .max, .max)
        for i in 0..<n {
            var x = c[3 * i], y = c[3 * i + 1]
            if fx { x = -x }
            if fy { y = -y }
            for _ in 0..<quarter { (x, y) = (-y, x) }
            c[3 * i] = x; c[3 * i + 1] = y
            lo = (Swift.min(lo.0, x), Swift.min(lo.1, y), Swift.min(lo.2, c[3 * i + 2]))
        }
        let t = translation(&rng)
        for i in 0..<n {
            c[3 * i] = c[3 * i] - lo.0 + t.0
            c[3 * i + 1] = c[3 * i + 1] - lo.1 + t.1
            c[3 * i + 2] = c[3 * i + 2] - lo.2 + t.2
        }
    }

    /// Voxelises the P×3 `points` of a point scene with flips, rotation and scale; then
    /// translates the voxel coordinates.
    public func voxelize(points: [Float], voxelSize: Double, rng: inout SplitMix64) throws -> Voxelizer.Result {
        var p = points
        if elastic {
            var r = SplitMix64(seed: rng.next())
            if Double(r.next() >> 11) * 0x1p-53 < 0.95 {
                for e in ElasticDistortion.releasedParameters {
                    p = try ElasticDistortion.apply(p, granularity: e.granularity, magnitude: e.magnitude, rng: &r)
                }
            }
        }
        let fx = flip && rng.next() & 1 == 1, fy = flip && rng.next() & 1 == 1
        if fx || fy {
            for i in stride(from: 0, to: p.count, by: 3) {
                if fx { p[i] = -p[i] }
                if fy { p[i + 1] = -p[i + 1] }
            }
        }
        var aug: Voxelizer.Augmentation? = nil
        if rotate || scale != nil {
            var a = Voxelizer.Augmentation(seed: rng.next())
            if !rotate { a.rotationBounds = (0, 0, 0) }
            a.scaleRange = scale.map { ($0.lowerBound, $0.upperBound) } ?? (1, 1)
            aug = a
        }
        var r = try Voxelizer.voxelize(positions: p, voxelSize: voxelSize, augmentation: aug)
        let t = translation(&rng)
        for i in stride(from: 0, to: r.coords.count, by: 3) {
            r.coords[i] += t.0; r.coords[i + 1] += t.1; r.coords[i + 2] += t.2
        }
        return r
    }

    private func translation(_ rng: inout SplitMix64) -> (Int32, Int32, Int32) {
        guard translate > 0 else { return (0, 0, 0) }
        return (Int32(rng.below(translate)), Int32(rng.below(translate)), Int32(rng.below(translate)))
    }
}
