/// Superpoint refinement of per-point predictions: every point of a superpoint takes the
/// superpoint's majority label (ties: the smallest label).
public enum SuperpointVote {
    /// `segments[i]` is point i's superpoint id (any non-negative integers; < 0 = no superpoint,
    /// the point keeps its label). Labels equal to `abstain` (e.g. 256, no 2D feature) or
    /// negative do not vote; a superpoint with no votes keeps its points' labels.
    public static func refine(labels: [Int32], segments: [Int32], abstain: Int32? = FeatureEnsemble.noFeatureLabel) throws -> [Int32] {
        try require(labels.count == segments.count, "superpoint vote: \(labels.count) labels but \(segments.count) segment ids")
        // Densify segment ids.
        var index: [Int32: Int] = [:]
        var seg = [Int](repeating: -1, count: labels.count)
        for (i, s) in segments.enumerated() where s >= 0 {
            if let k = index[s] { seg[i] = k } else { seg[i] = index.count; index[s] = index.count }
        }
        var votes = [[Int32: Int]](repeating: [:], count: index.count)
        for i in labels.indices where seg[i] >= 0 {
            let l = labels[i]
            if l < 0 || l == abstain { continue }
            votes[seg[i]][l, default: 0] += 1
        }
        let winner: [Int32?] = votes.map { v in
            v.max { a, b in a.value != b.value ? a.value < b.value : a.key > b.key }?.key
        }
        var out = labels
        for i in labels.indices where seg[i] >= 0 {
            if let w = winner[seg[i]] { out[i] = w }
        }
        return out
    }
}
