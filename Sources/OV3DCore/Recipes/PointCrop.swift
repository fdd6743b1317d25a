/// Bounds the memory of a training step: a scene with more than `maxPoints` points keeps the
/// `maxPoints` points nearest (horizontally, in x–y) to a centre point drawn from the seed — a
/// vertical column through the room, so floors, walls and furniture stay together. Ties go to
/// the lower point index; the kept indices are returned ascending. Deterministic per seed.
public enum PointCrop {
    public static func indices(positions: [Float], maxPoints: Int, seed: UInt64) throws -> [Int] {
        try require(positions.count % 3 == 0, "point crop: positions must be N × 3")
        try require(maxPoints > 0, "point crop: maxPoints must be positive")
        let n = positions.count / 3
        guard n > maxPoints else { return Array(0..<n) }
        var rng = SplitMix64(seed: seed)
        let c = Int(rng.next() % UInt64(n))
        let cx = Double(positions[3 * c]), cy = Double(positions[3 * c + 1])
        var order = [(d: Double, i: Int)]()
        order.reserveCapacity(n)
        for i in 0..<n {
            let dx = Double(positions[3 * i]) - cx, dy = Double(positions[3 * i + 1]) - cy
            let d = dx * dx + dy * dy
            try require(d.isFinite, "point crop: point \(i) has a non-finite coordinate")
            order.append((d, i))
        }
        order.sort { ($0.d, $0.i) < ($1.d, $1.i) }
        return order.prefix(maxPoints).map(\.i).sorted()
    }
}
