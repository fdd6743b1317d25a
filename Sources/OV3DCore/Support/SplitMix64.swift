#if canImport(Glibc)
import Glibc
#endif

/// SplitMix64 (Steele, Lea & Flood 2014): ov3d's one seeded random stream, used by everything
/// that must be reproducible bit for bit for a seed — synthetic data, random initialisation,
/// augmentation, the trainer's shuffling. The whole state is the public `state`, so a training
/// checkpoint saves it and a resumed run continues the same stream (`SplitMix64(seed: state)`
/// restores it).
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
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
    /// Uniform float in the closed range (24 random bits).
    public mutating func uniform(_ r: ClosedRange<Float>) -> Float {
        let u = Float(next() >> 40) / Float(1 << 24)
        return r.lowerBound + (r.upperBound - r.lowerBound) * u
    }
    /// Standard normal (Box–Muller, 24-bit uniforms).
    public mutating func normal() -> Float {
        let u1 = max(Float(next() >> 40) / Float(1 << 24), 1e-7)
        let u2 = Float(next() >> 40) / Float(1 << 24)
        return (-2 * logf(u1)).squareRoot() * cosf(2 * Float.pi * u2)
    }
    /// Uniform in [0, 1) with 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
    /// Uniform integer in 0 ..< n (n ≥ 1), unbiased.
    public mutating func below(_ n: Int) -> Int { Int(UInt64.random(in: 0 ..< UInt64(n), using: &self)) }
}
