/// Bounds of a point set that a few stray points do not blow up: the renderer frames and sizes
/// splats from these.
public struct SceneBounds: Sendable, Equatable {
    public var lo: SIMD3<Float>
    public var hi: SIMD3<Float>

    /// At most about `limit` finite points of `positions` (x y z per point), evenly strided
    /// (deterministic).
    public static func sample(_ positions: UnsafeBufferPointer<Float>, limit: Int) -> [SIMD3<Float>] {
        let n = positions.count / 3
        guard n > 0 else { return [] }
        let stride = max(1, (n + limit - 1) / max(1, limit))
        var out: [SIMD3<Float>] = []
        out.reserveCapacity(n / stride + 1)
        var i = 0
        while i < n {
            let p = SIMD3(positions[3 * i], positions[3 * i + 1], positions[3 * i + 2])
            if p.x.isFinite && p.y.isFinite && p.z.isFinite { out.append(p) }
            i += stride
        }
        return out
    }

    /// The 0.5 % and 99.5 % values per axis of `points` (the full range for fewer than 200
    /// points). `points` must not be empty.
    public static func robust(_ points: [SIMD3<Float>]) -> SceneBounds {
        var lo = SIMD3<Float>(repeating: 0), hi = lo
        for axis in 0..<3 {
            let v = points.map { $0[axis] }.sorted()
            let cut = v.count >= 200 ? v.count / 200 : 0
            lo[axis] = v[cut]
            hi[axis] = v[v.count - 1 - cut]
        }
        return SceneBounds(lo: lo, hi: hi)
    }
}
