/// Which input points take part in a segmentation: every point whose three coordinates are
/// numbers. Organised clouds (PCL, depth images) mark missing points with NaN; those are skipped
/// and reported as label -1, not refused. An infinite or huge coordinate is an error (it would
/// be a broken sensor reading, not a missing one).
public struct ValidPoints: Sendable {
    /// Number of input points (valid or not).
    public let inputCount: Int
    /// Input index of every valid point, ascending; empty when every point is valid.
    public let indices: [Int32]
    /// x y z of the valid points, in input order.
    public let positions: [Float]

    public var validCount: Int { positions.count / 3 }
    public var skippedCount: Int { inputCount - validCount }
    public var allValid: Bool { skippedCount == 0 }

    /// Splits `positions` (x y z per point). Throws when a coordinate is ±Inf or beyond
    /// `maxAbs` metres, or when no point is valid.
    public init(positions p: [Float], maxAbs: Float = 1e6) throws {
        try require(p.count % 3 == 0, "positions must hold 3 floats per point (\(p.count) given)")
        let n = p.count / 3
        try require(n > 0, "the point cloud is empty")
        try require(n <= Int(Int32.max), "too many points (\(n))")
        var nanCount = 0
        try p.withUnsafeBufferPointer { b in
            for i in 0..<n {
                let x = b[3 * i], y = b[3 * i + 1], z = b[3 * i + 2]
                if x.isNaN || y.isNaN || z.isNaN { nanCount += 1; continue }
                guard abs(x) <= maxAbs && abs(y) <= maxAbs && abs(z) <= maxAbs else {
                    throw OV3DError.invalidArgument("point \(i) has an infinite or huge coordinate (\(x), \(y), \(z)); at most \(maxAbs) m is accepted")
                }
            }
        }
        inputCount = n
        guard nanCount > 0 else { indices = []; positions = p; return }
        try require(nanCount < n, "every one of the \(n) points has a NaN coordinate: nothing to segment")
        var idx = [Int32](), kept = [Float]()
        idx.reserveCapacity(n - nanCount)
        kept.reserveCapacity(3 * (n - nanCount))
        for i in 0..<n where !(p[3 * i].isNaN || p[3 * i + 1].isNaN || p[3 * i + 2].isNaN) {
            idx.append(Int32(i))
            kept.append(p[3 * i]); kept.append(p[3 * i + 1]); kept.append(p[3 * i + 2])
        }
        indices = idx
        positions = kept
    }

    /// Values of the valid points (`width` per point) spread back to every input point, `fill`
    /// for skipped ones.
    public func expand<T>(_ values: [T], width: Int = 1, fill: T) -> [T] {
        if allValid { return values }
        var out = [T](repeating: fill, count: inputCount * width)
        for (k, i) in indices.enumerated() {
            for c in 0..<width { out[Int(i) * width + c] = values[k * width + c] }
        }
        return out
    }

    /// The per-input-point voxel row (-1 for skipped points) from the valid points' voxel rows.
    public func expandInverse(_ inverse: [Int32]) -> [Int32] { expand(inverse, fill: -1) }
}
