/// Which scenes an epoch visits, as OpenScene's loader does: the dataset's length is
/// `scenes × loop` (each scene seen `loop` times per epoch, released `loop: 5`), item k is
/// scene `k mod scenes`, shuffled per epoch when `shuffle` (from `seed` and the epoch number),
/// cut into batches of `batchSize` (the last, short batch dropped when `dropLast`, as the
/// released `drop_last=True`).
public struct EpochPlan: Sendable, Equatable {
    public var scenes: Int
    public var loop: Int
    public var batchSize: Int
    public var shuffle: Bool
    public var dropLast: Bool
    public var seed: UInt64

    public init(scenes: Int, loop: Int = 1, batchSize: Int = 1, shuffle: Bool = true, dropLast: Bool = true, seed: UInt64 = 0) throws {
        try require(scenes > 0, "epoch plan: no scenes")
        try require(loop > 0 && loop <= 10_000, "epoch plan: loop must be in 1...10000, got \(loop)")
        try require(batchSize > 0, "epoch plan: batch size must be positive")
        self.scenes = scenes; self.loop = loop; self.batchSize = batchSize
        self.shuffle = shuffle; self.dropLast = dropLast; self.seed = seed
    }

    /// Steps per epoch.
    public var stepsPerEpoch: Int {
        let items = scenes * loop
        return dropLast ? max(items / batchSize, 1) : (items + batchSize - 1) / batchSize
    }

    /// The batches (scene indices) of epoch `epoch` (0-based).
    public func batches(epoch: Int) -> [[Int]] {
        var items = (0..<(scenes * loop)).map { $0 % scenes }
        if shuffle {
            var rng = SplitMix64(seed: seed ^ (0x9E37_79B9_7F4A_7C15 &* UInt64(epoch + 1)))
            for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        }
        var out = [[Int]]()
        var k = 0
        while k < items.count {
            let b = Array(items[k..<min(k + batchSize, items.count)])
            if b.count == batchSize || !dropLast || out.isEmpty { out.append(b) }
            k += batchSize
        }
        return out
    }
}
