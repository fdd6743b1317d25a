#if canImport(Glibc)
import Glibc
#endif

/// A geometry-only check that the rooms carry class information: per-point shape features
/// without colour — height, |normal z|, a histogram of the neighbours' relative heights and of
/// their normals, and the heights of horizontal surfaces in the point's 20 cm floor column (a
/// table top at 0.75 m, shelves every 35 cm, a seat at 0.45 m) — and a softmax regression on
/// them, trained on some rooms and tested on others.
public enum GeometryProbe {
    public static let featureCount = 20

    /// `positions` and unit `normals` (`N × 3`); returns `N × featureCount`.
    public static func features(positions: [Float], normals: [Float], neighbours k: Int = 24) throws -> [Float] {
        let n = positions.count / 3
        try require(n > k && normals.count == positions.count, "geometry probe: need more than \(k) points with normals")
        let nn = try PointNormals.knn(positions, k: k)
        // floor columns: horizontal-surface heights in 8 bins over 0–2.4 m, and the top
        let cell: Float = 0.2
        var columns: [Int64: [Float]] = [:]
        func key(_ i: Int) -> Int64 {
            let x = Int64(floorf(max(-1e6, min(1e6, positions[3 * i] / cell)))), y = Int64(floorf(max(-1e6, min(1e6, positions[3 * i + 1] / cell))))
            return x << 32 ^ (y & 0xFFFF_FFFF)
        }
        for i in 0..<n {
            var c = columns[key(i)] ?? [Float](repeating: 0, count: 10)
            let z = positions[3 * i + 2]
            if abs(normals[3 * i + 2]) > 0.8 { c[min(7, max(0, Int(z / 0.3)))] += 1 }
            c[8] = max(c[8], z)
            c[9] += 1
            columns[key(i)] = c
        }
        var out = [Float](repeating: 0, count: n * featureCount)
        for i in 0..<n {
            let z = positions[3 * i + 2], nz = abs(normals[3 * i + 2])
            var f = [Float](repeating: 0, count: featureCount)
            f[0] = z / 2.5
            f[1] = nz
            for j in 0..<k {
                let q = Int(nn[i * k + j])
                guard q >= 0 else { continue }
                let dz = positions[3 * q + 2] - z
                f[2 + min(5, max(0, Int((dz + 0.3) / 0.1)))] += 1 / Float(k)
                let qn = abs(normals[3 * q + 2])
                f[8 + (qn > 0.8 ? 0 : (qn < 0.2 ? 1 : 2))] += 1 / Float(k)
            }
            let c = columns[key(i)]!
            let horizontal = c[0..<8].reduce(0, +)
            for b in 0..<8 { f[11 + b] = horizontal > 0 ? c[b] / horizontal : 0 }
            f[19] = c[8] / 2.5
            for j in 0..<featureCount { out[i * featureCount + j] = f[j] }
        }
        return out
    }

    /// Softmax regression on standardised features (full-batch gradient descent, fixed order: deterministic).
    public struct Classifier: Sendable {
        public var classes: Int
        public var dim: Int
        var mean: [Float], scale: [Float], weights: [Float]

        public init(features x: [Float], labels y: [Int32], classes: Int, dim: Int, iterations: Int = 300, learningRate: Float = 0.5) throws {
            let rows = (0..<y.count).filter { y[$0] >= 0 && Int(y[$0]) < classes }
            try require(!rows.isEmpty && x.count == y.count * dim, "geometry probe: no training rows")
            self.classes = classes; self.dim = dim
            mean = [Float](repeating: 0, count: dim); scale = mean
            for r in rows { for j in 0..<dim { mean[j] += x[r * dim + j] / Float(rows.count) } }
            for r in rows { for j in 0..<dim { let d = x[r * dim + j] - mean[j]; scale[j] += d * d / Float(rows.count) } }
            scale = scale.map { $0 > 1e-12 ? 1 / $0.squareRoot() : 0 }
            let dd = dim + 1
            weights = [Float](repeating: 0, count: classes * dd)
            // class-balanced weights so frequent classes (wall, floor) do not swamp the rest
            var count = [Float](repeating: 0, count: classes)
            for r in rows { count[Int(y[r])] += 1 }
            let present = Float(count.filter { $0 > 0 }.count)
            let w = count.map { $0 > 0 ? Float(rows.count) / (present * $0) : 0 }
            var z = [Float](repeating: 0, count: rows.count * dd)
            for (ri, r) in rows.enumerated() {
                for j in 0..<dim { z[ri * dd + j] = (x[r * dim + j] - mean[j]) * scale[j] }
                z[ri * dd + dim] = 1
            }
            var grad = [Float](repeating: 0, count: classes * dd)
            var p = [Float](repeating: 0, count: classes)
            for _ in 0..<iterations {
                for i in 0..<grad.count { grad[i] = 0 }
                z.withUnsafeBufferPointer { zp in
                    weights.withUnsafeBufferPointer { wp in
                        grad.withUnsafeMutableBufferPointer { gp in
                            for (ri, r) in rows.enumerated() {
                                var mx = -Float.infinity
                                for c in 0..<classes {
                                    var s: Float = 0
                                    for j in 0..<dd { s += wp[c * dd + j] * zp[ri * dd + j] }
                                    p[c] = s; mx = max(mx, s)
                                }
                                var sum: Float = 0
                                for c in 0..<classes { p[c] = expf(p[c] - mx); sum += p[c] }
                                let yc = Int(y[r]), rw = w[yc]
                                for c in 0..<classes {
                                    let g = rw * (p[c] / sum - (c == yc ? 1 : 0))
                                    for j in 0..<dd { gp[c * dd + j] += g * zp[ri * dd + j] }
                                }
                            }
                        }
                    }
                }
                let lr = learningRate / Float(rows.count)
                for i in 0..<weights.count { weights[i] -= lr * grad[i] }
            }
        }

        public func predict(_ x: [Float]) -> [Int32] {
            let n = x.count / dim, dd = dim + 1
            var out = [Int32](repeating: 0, count: n)
            var zr = [Float](repeating: 0, count: dd)
            for i in 0..<n {
                for j in 0..<dim { zr[j] = (x[i * dim + j] - mean[j]) * scale[j] }
                zr[dim] = 1
                var best = 0, bs = -Float.infinity
                for c in 0..<classes {
                    var s: Float = 0
                    for j in 0..<dd { s += weights[c * dd + j] * zr[j] }
                    if s > bs { bs = s; best = c }
                }
                out[i] = Int32(best)
            }
            return out
        }
    }
}
