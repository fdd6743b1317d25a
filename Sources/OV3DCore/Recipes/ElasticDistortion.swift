/// OpenScene's elastic distortion (`dataset/augmentation.py` `ElasticDistortion`, from
/// MinkowskiEngine's examples), in metres before voxelisation: for each (granularity,
/// magnitude) pair (released `((0.2, 0.4), (0.8, 1.6))`), a grid of standard-normal 3-vectors
/// with spacing `granularity` covering the cloud plus one cell of margin (`⌊extent/g⌋ + 3`
/// nodes per axis), smoothed twice by a 3-tap box filter along x, y and z (zero outside, as
/// `scipy.ndimage.convolve(mode='constant')`), trilinearly interpolated at every point
/// (`RegularGridInterpolator`, grid axis `min − g + k·g`), scaled by `magnitude` and added.
/// Applied with probability 0.95 as a whole.
public enum ElasticDistortion {
    public static let releasedParameters: [(granularity: Double, magnitude: Double)] = [(0.2, 0.4), (0.8, 1.6)]
    /// Grid nodes allowed per distortion (bounds memory on huge or degenerate extents).
    public static let maxGridNodes = 1 << 24

    /// Grid size per axis for a cloud of extent `extent` (metres).
    static func gridSize(extent: [Double], granularity g: Double) throws -> [Int] {
        try extent.map { e in
            let n = (e / g).rounded(.down) + 3
            try require(n.isFinite && n <= Double(maxGridNodes), "elastic distortion: grid of \(n) nodes per axis")
            return Int(n)
        }
    }

    /// One distortion with the noise drawn from `rng`.
    public static func apply(_ positions: [Float], granularity: Double, magnitude: Double, rng: inout SplitMix64) throws -> [Float] {
        let (lo, hi) = try bounds(positions)
        let dims = try gridSize(extent: (0..<3).map { hi[$0] - lo[$0] }, granularity: granularity)
        let nodes = dims[0] * dims[1] * dims[2]
        try require(nodes <= maxGridNodes, "elastic distortion: a \(dims) grid at granularity \(granularity) is too large")
        var noise = [Float](repeating: 0, count: nodes * 3)
        for i in noise.indices { noise[i] = rng.normal() }
        return try apply(positions, granularity: granularity, magnitude: magnitude, noise: noise)
    }

    /// One distortion with the given raw noise (`nx × ny × nz × 3`, C order, before smoothing).
    public static func apply(_ positions: [Float], granularity g: Double, magnitude: Double, noise: [Float]) throws -> [Float] {
        try require(g.isFinite && g > 0 && magnitude.isFinite, "elastic distortion: granularity must be positive and magnitude finite")
        let (lo, hi) = try bounds(positions)
        let dims = try gridSize(extent: (0..<3).map { hi[$0] - lo[$0] }, granularity: g)
        let (nx, ny, nz) = (dims[0], dims[1], dims[2])
        try require(noise.count == nx * ny * nz * 3, "elastic distortion: noise has \(noise.count) values, the grid needs \(nx)×\(ny)×\(nz)×3")
        // Smoothing: twice (blur x, blur y, blur z), float32 storage as scipy keeps the dtype.
        var a = noise
        var b = [Float](repeating: 0, count: a.count)
        let strides = [ny * nz * 3, nz * 3, 3]
        for _ in 0..<2 {
            for axis in 0..<3 {
                let st = strides[axis], len = dims[axis]
                for x in 0..<nx { for y in 0..<ny { for z in 0..<nz {
                    let pos = axis == 0 ? x : axis == 1 ? y : z
                    let base = (x * ny + y) * nz * 3 + z * 3
                    for c in 0..<3 {
                        var s = Double(a[base + c])
                        if pos > 0 { s += Double(a[base - st + c]) }
                        if pos + 1 < len { s += Double(a[base + st + c]) }
                        b[base + c] = Float(s / 3)
                    }
                } } }
                swap(&a, &b)
            }
        }
        // Trilinear interpolation on the grid min − g + k·g (np.linspace(lo − g, lo + g(n − 2), n)).
        let n = positions.count / 3
        var out = positions
        for i in 0..<n {
            var idx = [Int](repeating: 0, count: 3), frac = [Double](repeating: 0, count: 3)
            var inside = true
            for ax in 0..<3 {
                let start = lo[ax] - g, stop = lo[ax] + g * Double(dims[ax] - 2)
                let step = (stop - start) / Double(dims[ax] - 1)
                let t = (Double(positions[3 * i + ax]) - start) / step
                guard t >= 0 && t <= Double(dims[ax] - 1) else { inside = false; break }
                let k = min(Int(t.rounded(.down)), dims[ax] - 2)
                idx[ax] = k; frac[ax] = t - Double(k)
            }
            guard inside else { continue }
            for c in 0..<3 {
                var v = 0.0
                for corner in 0..<8 {
                    let dx = corner >> 2 & 1, dy = corner >> 1 & 1, dz = corner & 1
                    let w = (dx == 1 ? frac[0] : 1 - frac[0]) * (dy == 1 ? frac[1] : 1 - frac[1]) * (dz == 1 ? frac[2] : 1 - frac[2])
                    let node = ((idx[0] + dx) * ny + (idx[1] + dy)) * nz + (idx[2] + dz)
                    v += w * Double(a[node * 3 + c])
                }
                out[3 * i + c] = Float(Double(positions[3 * i + c]) + v * magnitude)
            }
        }
        return out
    }

    static func bounds(_ p: [Float]) throws -> ([Double], [Double]) {
        try require(p.count % 3 == 0 && !p.isEmpty, "elastic distortion: positions must be a non-empty N × 3 array")
        var lo = [Double](repeating: .infinity, count: 3), hi = [Double](repeating: -.infinity, count: 3)
        for i in 0..<(p.count / 3) {
            for a in 0..<3 {
                let v = Double(p[3 * i + a])
                try require(v.isFinite, "elastic distortion: point \(i) has a non-finite coordinate")
                lo[a] = min(lo[a], v); hi[a] = max(hi[a], v)
            }
        }
        return (lo, hi)
    }
}
