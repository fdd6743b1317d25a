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
        let voxelSize = canonicalVoxelSize(voxelSize)
        try require(positions.count % 3 == 0, "positions must hold 3 floats per point")
        let n = positions.count / 3
        try require(n > 0, "the point cloud is empty")
        try require(n <= Int(Int32.max), "too many points (\(n))")
        let s = 1.0 / voxelSize
        try require(s.isFinite, "voxel size \(voxelSize) is too small")
        // Transform (row-major 3×3) applied before flooring.
        let m: [Double] = augmentation.map { augmentationMatrix($0, scale: s) } ?? [s, 0, 0, 0, s, 0, 0, 0, s]

        // Pass 1: the floored coordinates' range (float64, as OpenScene). Pass 2 recomputes the
        // same products instead of keeping 3n doubles.
        let identityDiag = augmentation == nil
        @inline(__always) func floored(_ b: UnsafeBufferPointer<Float>, _ i: Int) -> (Double, Double, Double) {
            let x = Double(b[3 * i]), y = Double(b[3 * i + 1]), z = Double(b[3 * i + 2])
            if identityDiag { return ((x * s).rounded(.down), (y * s).rounded(.down), (z * s).rounded(.down)) }
            return ((m[0] * x + m[1] * y + m[2] * z).rounded(.down),
                    (m[3] * x + m[4] * y + m[5] * z).rounded(.down),
                    (m[6] * x + m[7] * y + m[8] * z).rounded(.down))
        }
        var lo = (Double.infinity, Double.infinity, Double.infinity)
        var hi = (-Double.infinity, -Double.infinity, -Double.infinity)
        try positions.withUnsafeBufferPointer { b in
            for i in 0..<n {
                guard b[3 * i].isFinite && b[3 * i + 1].isFinite && b[3 * i + 2].isFinite else {
                    throw OV3DError.invalidArgument("point \(i) has a non-finite coordinate")
                }
                let (fx, fy, fz) = floored(b, i)
                lo = (Swift.min(lo.0, fx), Swift.min(lo.1, fy), Swift.min(lo.2, fz))
                hi = (Swift.max(hi.0, fx), Swift.max(hi.1, fy), Swift.max(hi.2, fz))
            }
        }
        for (a, span) in [hi.0 - lo.0, hi.1 - lo.1, hi.2 - lo.2].enumerated() {
            try require(span.isFinite && span < Double(CoordinateKey.limit),
                        "the cloud spans \(span) voxels along axis \(a) at voxel size \(voxelSize); at most 2^20 - 1 are supported")
        }
        // Pass 2: one hash table sized once for every point (it never grows): each point's voxel
        // in order of first appearance, so a voxel's first point (the lowest index) represents
        // it. Memory per point: the table (24-48 bytes), the inverse map and the first keys /
        // points (12, capacity reserved untouched) -- within `MinkUNet.projectedPeak`'s 76
        // bytes with the positions; the table is freed before the sort.
        var inverse = try Memory.array(repeating: Int32(0), count: n, what: "voxelisation (inverse map of \(n) points)")
        _ = try Memory.reserve(UInt64.self, count: n, what: "voxelisation (voxel keys of \(n) points)")
        _ = try Memory.reserve((UInt64, Int32).self, count: 3 * n, what: "voxelisation (hash table of \(n) points)")
        var firstKeys = [UInt64](), firstPoint = [Int32]()
        firstKeys.reserveCapacity(n)
        firstPoint.reserveCapacity(n)
        do {
            var table = CoordinateHash(capacity: n)
            positions.withUnsafeBufferPointer { b in
                inverse.withUnsafeMutableBufferPointer { inv in
                    for i in 0..<n {
                        let (fx, fy, fz) = floored(b, i)
                        let key = CoordinateKey.pack(Int32(fx - lo.0), Int32(fy - lo.1), Int32(fz - lo.2))
                        let id = table.insert(key, Int32(firstKeys.count))
                        if Int(id) == firstKeys.count { firstKeys.append(key); firstPoint.append(Int32(i)) }
                        inv[i] = id
                    }
                }
            }
        }
        // Voxels in OpenScene's order: ascending 64-bit FNV-1 hash of the shifted coordinate
        // (fnv_hash_vec, as np.unique orders them), ties by the packed coordinate. Only the
        // voxels are sorted, not the points.
        let v = firstKeys.count
        var order = [(hash: UInt64, key: UInt64, id: Int32)]()
        order.reserveCapacity(v)
        for (id, key) in firstKeys.enumerated() {
            let (x, y, z) = CoordinateKey.unpack(key)
            var h: UInt64 = 14_695_981_039_346_656_037
            h = h &* 1_099_511_628_211; h ^= UInt64(x)
            h = h &* 1_099_511_628_211; h ^= UInt64(y)
            h = h &* 1_099_511_628_211; h ^= UInt64(z)
            order.append((h, key, Int32(id)))
        }
        order.sort { ($0.hash, $0.key) < ($1.hash, $1.key) }
        var coords = [Int32](repeating: 0, count: 3 * v), rep = [Int32](repeating: 0, count: v)
        var rank = [Int32](repeating: 0, count: v)
        for (row, e) in order.enumerated() {
            let (x, y, z) = CoordinateKey.unpack(e.key)
            coords[3 * row] = x; coords[3 * row + 1] = y; coords[3 * row + 2] = z
            rep[row] = firstPoint[Int(e.id)]
            rank[Int(e.id)] = Int32(row)
        }
        rank.withUnsafeBufferPointer { rk in
            inverse.withUnsafeMutableBufferPointer { inv in
                for i in 0..<n { inv[i] = rk[Int(inv[i])] }
            }
        }
        return Result(coords: coords, representative: rep, inverse: inverse)
    }

    /// The voxel size actually used for `voxelSize`: the shortest decimal that rounds to the same
    /// float32 (`Float(v).description`, read back as a double). The C ABI carries voxel sizes as
    /// `float` (0.05f = 0.0500000007...) while the CLI and Swift callers pass doubles (0.05):
    /// one rule makes both voxelise identically (points within float rounding of a voxel
    /// boundary would otherwise change voxel), and it is the identity for every size written
    /// with at most 6 significant digits (0.02, 0.05, 0.1, 0.025...). Sizes outside float32's
    /// normal range are used as given.
    public static func canonicalVoxelSize(_ v: Double) -> Double {
        let f = Float(v)
        guard v.isFinite, f.isNormal, let d = Double(f.description), d.isFinite, d > 0 else { return v }
        return d
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
