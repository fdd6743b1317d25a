/// Packing of a 3-D integer voxel coordinate into one 64-bit hash key.
///
/// Each axis holds a value in `-limit ..< limit` (limit = 2^20), biased to 21 unsigned bits:
/// `x | y << 21 | z << 42`. The top bit is never set, so `UInt64.max` can mark empty slots.
public enum CoordinateKey {
    /// Coordinates must satisfy `-limit <= c < limit` on every axis.
    public static let limit: Int32 = 1 << 20
    @usableFromInline static let bias: Int64 = 1 << 20
    @usableFromInline static let mask: UInt64 = (1 << 21) - 1
    /// The key value of an empty hash slot (never produced by `pack`).
    public static let empty: UInt64 = .max

    /// True if every axis is within `-limit ..< limit`.
    @inlinable
    public static func inRange(_ x: Int32, _ y: Int32, _ z: Int32) -> Bool {
        x >= -limit && x < limit && y >= -limit && y < limit && z >= -limit && z < limit
    }

    /// Packs an in-range coordinate (checked by the caller with `inRange`).
    @inlinable
    public static func pack(_ x: Int32, _ y: Int32, _ z: Int32) -> UInt64 {
        UInt64(truncatingIfNeeded: Int64(x) &+ bias)
            | UInt64(truncatingIfNeeded: Int64(y) &+ bias) << 21
            | UInt64(truncatingIfNeeded: Int64(z) &+ bias) << 42
    }

    /// Inverse of `pack`.
    @inlinable
    public static func unpack(_ k: UInt64) -> (Int32, Int32, Int32) {
        (Int32(truncatingIfNeeded: Int64(k & mask) - bias),
         Int32(truncatingIfNeeded: Int64((k >> 21) & mask) - bias),
         Int32(truncatingIfNeeded: Int64((k >> 42) & mask) - bias))
    }
}
