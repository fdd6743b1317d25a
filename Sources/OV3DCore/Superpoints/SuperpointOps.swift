/// Operations later stages run over superpoints: pool per-point features per segment, vote
/// labels per segment, and broadcast per-segment values back to the points. Points with id -1
/// take part in nothing and receive the fill value.
public enum SuperpointOps {
    /// Mean of the `dim`-dimensional features of each segment's points (`count × dim`; zeros for
    /// empty segments).
    public static func meanPool(_ features: [Float], dim: Int, superpoints s: Superpoints) throws -> [Float] {
        let n = s.ids.count
        try require(dim > 0 && features.count == n * dim, "meanPool: \(features.count) features for \(n) points × dim \(dim)")
        try validateIDs(s)
        var sum = [Double](repeating: 0, count: s.count * dim)
        var cnt = [Int](repeating: 0, count: s.count)
        for i in 0..<n {
            let g = Int(s.ids[i])
            guard g >= 0 else { continue }
            cnt[g] += 1
            for d in 0..<dim { sum[g * dim + d] += Double(features[i * dim + d]) }
        }
        var out = [Float](repeating: 0, count: s.count * dim)
        for g in 0..<s.count where cnt[g] > 0 {
            for d in 0..<dim { out[g * dim + d] = Float(sum[g * dim + d] / Double(cnt[g])) }
        }
        return out
    }

    public enum VoteMode: Int32, Sendable {
        /// The most frequent label (ties: the smaller label); score = mean score of its voters.
        case majority = 0
        /// The label with the largest summed score (ties: the smaller label); score = mean score
        /// of its voters.
        case meanScore = 1
    }

    /// Per segment, the voted label (-1 when the segment has no voters) and its score.
    /// Points with a negative label abstain. `scores` may be nil (then 1 per point).
    public static func vote(labels: [Int32], scores: [Float]?, superpoints s: Superpoints,
                            mode: VoteMode) throws -> (labels: [Int32], scores: [Float]) {
        let n = s.ids.count
        try require(labels.count == n, "vote: \(labels.count) labels for \(n) points")
        if let scores { try require(scores.count == n, "vote: \(scores.count) scores for \(n) points") }
        try validateIDs(s)
        var tallies = [[Int32: (count: Int, sum: Double)]](repeating: [:], count: s.count)
        for i in 0..<n {
            let g = Int(s.ids[i]), l = labels[i]
            guard g >= 0, l >= 0 else { continue }
            let sc = Double(scores?[i] ?? 1)
            guard sc.isFinite else { continue }
            let t = tallies[g][l] ?? (0, 0)
            tallies[g][l] = (t.count + 1, t.sum + sc)
        }
        var outL = [Int32](repeating: -1, count: s.count)
        var outS = [Float](repeating: 0, count: s.count)
        for g in 0..<s.count {
            var best: (Int32, Int, Double)? = nil
            for (l, t) in tallies[g] {
                guard let b = best else { best = (l, t.count, t.sum); continue }
                let better: Bool
                switch mode {
                case .majority: better = t.count > b.1 || (t.count == b.1 && l < b.0)
                case .meanScore: better = t.sum > b.2 || (t.sum == b.2 && l < b.0)
                }
                if better { best = (l, t.count, t.sum) }
            }
            if let b = best { outL[g] = b.0; outS[g] = Float(b.2 / Double(b.1)) }
        }
        return (outL, outS)
    }

    /// Gives every point its segment's `dim` values (`fill` for id -1).
    public static func broadcast<T>(_ values: [T], dim: Int, superpoints s: Superpoints, fill: T) throws -> [T] {
        try require(dim > 0 && values.count == s.count * dim, "broadcast: \(values.count) values for \(s.count) segments × dim \(dim)")
        try validateIDs(s)
        var out = [T](repeating: fill, count: s.ids.count * dim)
        for (i, g) in s.ids.enumerated() where g >= 0 {
            for d in 0..<dim { out[i * dim + d] = values[Int(g) * dim + d] }
        }
        return out
    }

    static func validateIDs(_ s: Superpoints) throws {
        try require(s.count >= 0, "negative segment count")
        for (i, g) in s.ids.enumerated() {
            try require(g >= -1 && Int(g) < s.count, "point \(i) has segment id \(g), outside -1..<\(s.count)")
        }
    }
}

extension SuperpointOps {
    /// Superpoint refinement of per-point predictions: every point of a superpoint takes the
    /// superpoint's majority label (ties: the smallest label). `segments[i]` is point i's
    /// superpoint id (any integers; < 0 = none, the point keeps its label). Labels equal to
    /// `abstain` (e.g. 256, "no 2D feature") or negative do not vote; a superpoint without
    /// votes keeps its points' labels.
    public static func refine(labels: [Int32], segments: [Int32], abstain: Int32? = FeatureEnsemble.noFeatureLabel) throws -> [Int32] {
        try require(labels.count == segments.count, "superpoint vote: \(labels.count) labels but \(segments.count) segment ids")
        let s = Superpoints.dense(segments.map { $0 < 0 ? -1 : $0 }, unassigned: -1)
        let voters = labels.map { $0 < 0 || $0 == abstain ? Int32(-1) : $0 }
        let voted = try vote(labels: voters, scores: nil, superpoints: s, mode: .majority)
        var out = labels
        for i in labels.indices where s.ids[i] >= 0 {
            let w = voted.labels[Int(s.ids[i])]
            if w >= 0 { out[i] = w }
        }
        return out
    }
}
