/// The trainer's random stream (SplitMix64) with its state exposed, so a checkpoint can save it
/// and a resumed run continues the same stream (scene shuffling, augmentation draws).
public struct TrainingRNG: RandomNumberGenerator, Sendable, Equatable {
    /// The whole state: restoring it restores the stream.
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
    /// Uniform integer in 0 ..< n (n ≥ 1), unbiased.
    public mutating func below(_ n: Int) -> Int { Int(UInt64.random(in: 0 ..< UInt64(n), using: &self)) }
}
