/// An open-addressing hash table from packed voxel coordinates (`CoordinateKey`) to row indices.
///
/// Linear probing over a power-of-two table kept at most half full; keys are never removed.
/// Lookups are lock-free reads and may run concurrently once insertion is finished.
public struct CoordinateHash: Sendable {
    @usableFromInline var keys: [UInt64]
    @usableFromInline var values: [Int32]
    @usableFromInline var shift: UInt64
    public var count: Int = 0

    /// A table sized for up to `capacity` keys.
    public init(capacity: Int) {
        var size = 16
        while size < 2 * max(capacity, 1) { size <<= 1 }
        keys = [UInt64](repeating: CoordinateKey.empty, count: size)
        values = [Int32](repeating: -1, count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    @inlinable
    static func slot(_ key: UInt64, _ shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// Inserts `key → value` unless the key exists; returns the stored value (existing or new).
    /// The table doubles when it would become more than half full.
    @inlinable
    public mutating func insert(_ key: UInt64, _ value: Int32) -> Int32 {
        if 2 * (count + 1) > keys.count { grow() }
        let m = keys.count - 1
        var i = CoordinateHash.slot(key, shift)
        while true {
            let k = keys[i]
            if k == key { return values[i] }
            if k == CoordinateKey.empty {
                keys[i] = key
                values[i] = value
                count += 1
                return value
            }
            i = (i + 1) & m
        }
    }

    /// Doubles the table and re-inserts every key.
    @usableFromInline
    mutating func grow() {
        let oldKeys = keys, oldValues = values
        let size = 2 * keys.count
        keys = [UInt64](repeating: CoordinateKey.empty, count: size)
        values = [Int32](repeating: -1, count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
        let m = size - 1
        for (k, v) in zip(oldKeys, oldValues) where k != CoordinateKey.empty {
            var i = CoordinateHash.slot(k, shift)
            while keys[i] != CoordinateKey.empty { i = (i + 1) & m }
            keys[i] = k
            values[i] = v
        }
    }

    /// The row of `key`, or -1.
    @inlinable
    public func find(_ key: UInt64) -> Int32 {
        keys.withUnsafeBufferPointer { kp in
            values.withUnsafeBufferPointer { vp in CoordinateHash.find(key, kp, vp, shift) }
        }
    }

    /// Lookup on borrowed storage (hot loops borrow once, then call this).
    @inlinable
    static func find(_ key: UInt64, _ kp: UnsafeBufferPointer<UInt64>, _ vp: UnsafeBufferPointer<Int32>,
                     _ shift: UInt64) -> Int32 {
        let m = kp.count - 1
        var i = slot(key, shift)
        while true {
            let k = kp[i]
            if k == key { return vp[i] }
            if k == CoordinateKey.empty { return -1 }
            i = (i + 1) & m
        }
    }

    /// Runs `body` with a fast read-only lookup function.
    @inlinable
    public func withLookup<R>(_ body: ((UInt64) -> Int32) throws -> R) rethrows -> R {
        try keys.withUnsafeBufferPointer { kp in
            try values.withUnsafeBufferPointer { vp in
                let s = shift
                return try body { CoordinateHash.find($0, kp, vp, s) }
            }
        }
    }
}
