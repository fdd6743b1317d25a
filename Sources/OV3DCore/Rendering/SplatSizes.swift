/// World-space splat radii from local point density: dense surfaces get small splats, sparse
/// ones (far LiDAR returns) larger ones, so the picture shows closed surfaces without blurring
/// detail.
///
/// The scene is cut into cubic cells of side `h`, four times the mean spacing the points would
/// have spread over a surface of the scene's extent squared (`4 · extent / √N`, kept within
/// extent/256 ... extent/8), so a typical cell holds a dozen points. A cell holding `n` points
/// of a surface crossing it covers about `h²`, so the spacing there is `h / √n` and each point
/// gets radius `0.75 · h / √n` (half the spacing, with overlap so no holes show), at most `h / 2`.
public enum SplatSizes {
    /// One radius per point of `positions` (x y z per point); non-finite points get 0.
    public static func worldRadii(_ positions: UnsafeBufferPointer<Float>, bounds: SceneBounds) -> [Float] {
        let n = positions.count / 3
        let extent = max((bounds.hi - bounds.lo).max(), 1e-3)
        let h = min(extent / 8, max(extent / 256, 4 * extent / Float(max(1, n)).squareRoot()))
        let inv = 1 / h
        var keys = [Int64](repeating: .min, count: n)
        var counts: [Int64: Int32] = [:]
        counts.reserveCapacity(min(n, 1 << 20))
        keys.withUnsafeMutableBufferPointer { kp in
            for i in 0..<n {
                let p = SIMD3(positions[3 * i], positions[3 * i + 1], positions[3 * i + 2])
                guard p.x.isFinite && p.y.isFinite && p.z.isFinite else { continue }
                kp[i] = cellKey((p - bounds.lo) * inv)
                counts[kp[i], default: 0] += 1
            }
        }
        var radii = [Float](repeating: 0, count: n)
        radii.withUnsafeMutableBufferPointer { rp in
            for i in 0..<n where keys[i] != .min {
                let c = Float(counts[keys[i]] ?? 1)
                rp[i] = min(0.5 * h, 0.75 * h / c.squareRoot())
            }
        }
        return radii
    }

    /// 21 bits per axis; cells far outside the bounds are clamped onto the outermost ones.
    @inline(__always)
    static func cellKey(_ q: SIMD3<Float>) -> Int64 {
        let lim: Float = 1_048_575
        func c(_ v: Float) -> Int64 { Int64(max(-lim, min(lim, v.rounded(.down)))) + (1 << 20) }
        return c(q.x) << 42 | c(q.y) << 21 | c(q.z)
    }
}
