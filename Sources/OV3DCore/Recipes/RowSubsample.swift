/// The row selection SAS's distillation losses share (`run/distill_sp.py`, `run/distill_EMA.py`):
/// the rows that take part (mask ≠ 0 and a superpoint id ≥ 0), at most `maxRows` of them drawn
/// without replacement from a seeded generator (released: 20,000 with `np.random.choice`; the
/// distribution matches, the random stream does not), in ascending row order; and their
/// superpoint ids relabelled densely in ascending id order (`torch.unique(sorted=True,
/// return_inverse=True)`).
public struct RowSubsample: Sendable, Equatable {
    /// Selected rows, ascending.
    public var rows: [Int]
    /// Dense segment of each selected row (0..<segmentCount).
    public var segment: [Int]
    public var segmentCount: Int
    /// Members per dense segment.
    public var segmentSizes: [Int]

    public init(segments: [Int32], mask: [UInt8]?, maxRows: Int?, rng: inout SplitMix64) throws {
        if let mask { try require(mask.count == segments.count, "superpoint losses: mask has \(mask.count) entries for \(segments.count) rows") }
        if let maxRows { try require(maxRows > 0, "superpoint losses: max rows must be positive") }
        var rows = [Int]()
        rows.reserveCapacity(segments.count)
        for i in segments.indices where segments[i] >= 0 && (mask == nil || mask![i] != 0) { rows.append(i) }
        if let maxRows, rows.count > maxRows {
            // Partial Fisher–Yates: the first maxRows entries are a uniform sample.
            for k in 0..<maxRows {
                let j = k + Int(rng.next() % UInt64(rows.count - k))
                rows.swapAt(k, j)
            }
            rows.removeLast(rows.count - maxRows)
            rows.sort()
        }
        let ids = Array(Set(rows.map { segments[$0] })).sorted()
        var dense = [Int32: Int](minimumCapacity: ids.count)
        for (k, v) in ids.enumerated() { dense[v] = k }
        segment = rows.map { dense[segments[$0]]! }
        segmentCount = ids.count
        var sizes = [Int](repeating: 0, count: ids.count)
        for s in segment { sizes[s] += 1 }
        segmentSizes = sizes
        self.rows = rows
    }

    /// Mean of the selected rows' `dim` values per segment (`segmentCount × dim`, Double).
    func segmentMeans<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>, dim: Int) -> [Double] {
        var m = [Double](repeating: 0, count: segmentCount * dim)
        m.withUnsafeMutableBufferPointer { mp in
            for (k, r) in rows.enumerated() {
                let s = segment[k] * dim, o = r * dim
                for j in 0..<dim { mp[s + j] += Double(x[o + j]) }
            }
            for s in 0..<segmentCount {
                let inv = 1 / Double(segmentSizes[s])
                for j in 0..<dim { mp[s * dim + j] *= inv }
            }
        }
        return m
    }
}
