#if canImport(Glibc)
import Glibc
#endif

/// OpenScene's voxeliser (BPNet's `Voxelizer` with `sparse_quantize`), made deterministic.
///
/// Per point, in float64: `q = floor(p · (1/voxelSize))` (optionally after a random rotation and
/// scale), shift so the minimum is 0, then group points by voxel. Voxels are ordered as
/// OpenScene orders them (ascending 64-bit FNV-1 hash of the shifted coordinate, as
/// `np.unique` does); the first point (lowest index) of each voxel represents it; `inverse`
/// maps every point to its voxel row. Specs: minkowski-engine-semantics.md §7.3,
/// openscene-pipeline.md §2.
public enum Voxelizer {
    /// Random rotation/scale augmentation as OpenScene applies it (also at evaluation time).
    /// Uses its own seeded generator: the distribution matches, the random stream does not.
    public struct Augmentation: Sendable, Equatable {
        public var seed: UInt64
        /// Rotation bounds (radians) about x, y, z: angles drawn from U(-b, b).
        public var rotationBounds: (Double, Double, Double) = (Double.pi / 64, Double.pi / 64, Double.pi)
        /// Scale factor drawn from U(lo, hi).
        public var scaleRange: (Double, Double) = (0.9, 1.1)
        public init(seed: UInt64) { self.seed = seed }
        public static func == (a: Augmentation, b: Augmentation) -> Bool {
            a.seed == b.seed && a.rotationBounds == b.rotationBounds && a.scaleRange == b.scaleRange
        }
    }

    /// The result: unique voxels and the point ↔ voxel maps.
    public struct Result: Sendable {
        /// x y z per voxel (all >= 0), in OpenScene's row order.
        public var coords: [Int32]
        /// Index of the representative (first) point of each voxel.
        public var representative: [Int32]
        /// Voxel row of every point.
        public var inverse: [Int32]
        public var voxelCount: Int { representative.count }
    }

    /// Voxelises `positions` (x y z per point) at `voxelSize` (metres per voxel; 0.02 indoor,
    /// 0.05 outdoor). Throws on an empty cloud, non-finite coordinates, a non-positive voxel
    /// size, or a scene spanning 2^20 voxels or more along an axis.
    public static func voxelize(positions: [Float], voxelSize: Double,
                                augmentation: Augmentation? = nil) throws -> Result {
        try require(voxelSize.isFinite && voxelSize > 0, "voxel size must be a positive finite number, got \(voxelSize)")
        try require(positions.count % 3 == 0, "positions must hold 3 floats per point")
        let n = positions.count / 3
        try require(n > 0, "the point cloud is empty")
        try require(n <= Int(Int32.max), "too many points (\(n))")
        let s = 1.0 / voxelSize
        try require(s.isFinite, "voxel size \(voxelSize) is too small")
        // Transform (row-major 3×3) applied before flooring.
        var m: [Double] = [s, 0, 0, 0, s, 0, 0, 0, s]
        if let aug = augmentation { m = augmentationMatrix(aug, scale: s) }

        var q = try Memory.array(repeating: 0.0, count: 3 * n, what: "voxelisation (float64 coordinates of \(n) points)")
        var lo = [Double](repeating: .infinity, count: 3)
        var hi = [Double](repeating: -.infinity, count: 3)
        let identityDiag = augmentation == nil
        for i in 0..<n {
            let x = Double(positions[3 * i]), y = Double(positions[3 * i + 1]), z = Double(positions[3 * i + 2])
            try require(x.isFinite && y.isFinite && z.isFinite, "point \(i) has a non-finite coordinate")
            for a in 0..<3 {
                let v: Double
                if identityDiag {
                    v = (a == 0 ? x : a == 1 ? y : z) * s
                } else {
                    v = m[3 * a] * x + m[3 * a + 1] * y + m[3 * a + 2] * z
                }
                let f = v.rounded(.down)
                q[3 * i + a] = f
                lo[a] = Swift.min(lo[a], f)
                hi[a] = Swift.max(hi[a], f)
            }
        }
        for a in 0..<3 {
            let span = hi[a] - lo[a]
            try require(span.isFinite && span < Double(CoordinateKey.limit),
                        "the cloud spans \(span) voxels along axis \(a) at voxel size \(voxelSize); at most 2^20 - 1 are supported")
        }
        // Shifted integer coordinates and their FNV-1 hashes (OpenScene's fnv_hash_vec).
        var c = try Memory.array(repeating: Int32(0), count: 3 * n, what: "voxelisation (integer coordinates of \(n) points)")
        var order = [(hash: UInt64, key: UInt64, index: Int32)]()
        try Memory.reserve((hash: UInt64, key: UInt64, index: Int32).self, count: n, what: "voxelisation (sort records of \(n) points)")
        order.reserveCapacity(n)
        for i in 0..<n {
            var h: UInt64 = 14_695_981_039_346_656_037
            for a in 0..<3 {
                let v = Int32(q[3 * i + a] - lo[a])
                c[3 * i + a] = v
                h = h &* 1_099_511_628_211
                h ^= UInt64(v)
            }
            order.append((h, CoordinateKey.pack(c[3 * i], c[3 * i + 1], c[3 * i + 2]), Int32(i)))
        }
        order.sort { ($0.hash, $0.key, $0.index) < ($1.hash, $1.key, $1.index) }
        var coords = [Int32]()
        var rep = [Int32]()
        var inverse = try Memory.array(repeating: Int32(0), count: n, what: "voxelisation (inverse map of \(n) points)")
        var prev: (UInt64, UInt64)? = nil
        for e in order {
            if prev == nil || prev! != (e.hash, e.key) {
                prev = (e.hash, e.key)
                rep.append(e.index)
                let i = Int(e.index)
                coords.append(c[3 * i]); coords.append(c[3 * i + 1]); coords.append(c[3 * i + 2])
            }
            inverse[Int(e.index)] = Int32(rep.count - 1)
        }
        return Result(coords: coords, representative: rep, inverse: inverse)
    }

    /// R · scale, with R the product of the three axis rotations in a random order.
    static func augmentationMatrix(_ aug: Augmentation, scale s: Double) -> [Double] {
        var rng = SplitMix64(seed: aug.seed)
        let b = [aug.rotationBounds.0, aug.rotationBounds.1, aug.rotationBounds.2]
        let angles = b.map { (Double.random(in: 0..<1, using: &rng) * 2 - 1) * $0 }
        func rot(_ axis: Int, _ t: Double) -> [Double] {
            let c = cos(t), sn = sin(t)
            switch axis {
            case 0: return [1, 0, 0, 0, c, -sn, 0, sn, c]
            case 1: return [c, 0, sn, 0, 1, 0, -sn, 0, c]
            default: return [c, -sn, 0, sn, c, 0, 0, 0, 1]
            }
        }
        var mats = (0..<3).map { rot($0, angles[$0]) }
        for i in stride(from: 2, to: 0, by: -1) { mats.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        func mul(_ a: [Double], _ b: [Double]) -> [Double] {
            var r = [Double](repeating: 0, count: 9)
            for i in 0..<3 { for j in 0..<3 { for k in 0..<3 { r[3 * i + j] += a[3 * i + k] * b[3 * k + j] } } }
            return r
        }
        let r = mul(mul(mats[0], mats[1]), mats[2])
        let scale = s * (aug.scaleRange.0 + Double.random(in: 0..<1, using: &rng) * (aug.scaleRange.1 - aug.scaleRange.0))
        return r.map { $0 * scale }
    }
}
