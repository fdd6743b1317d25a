/// A spatially coherent row order (Morton / Z-order) for voxel coordinates.
///
/// Running a network in this order makes a voxel's neighbours (and so the gathered inputs of a
/// tile of output rows) close in memory; results are permuted back to the caller's order.
public enum SpatialOrder {
    /// Spreads the low 21 bits of `v` to every third bit.
    @inline(__always)
    static func spread(_ v: UInt64) -> UInt64 {
        var x = v & 0x1F_FFFF
        x = (x | x << 32) & 0x001F_0000_0000_FFFF
        x = (x | x << 16) & 0x001F_0000_FF00_00FF
        x = (x | x << 8) & 0x100F_00F0_0F00_F00F
        x = (x | x << 4) & 0x10C3_0C30_C30C_30C3
        x = (x | x << 2) & 0x1249_2492_4924_9249
        return x
    }

    /// The permutation `order` (new row → original row) sorting `coords` (x y z per row, in
    /// `CoordinateKey` range) by Morton code.
    public static func morton(_ coords: [Int32]) -> [Int32] {
        let n = coords.count / 3
        var keys = [(UInt64, Int32)]()
        keys.reserveCapacity(n)
        let bias = Int64(CoordinateKey.limit)
        for r in 0..<n {
            let x = UInt64(Int64(coords[3 * r]) + bias), y = UInt64(Int64(coords[3 * r + 1]) + bias)
            let z = UInt64(Int64(coords[3 * r + 2]) + bias)
            keys.append((spread(x) | spread(y) << 1 | spread(z) << 2, Int32(r)))
        }
        keys.sort { $0.0 < $1.0 }
        return keys.map { $0.1 }
    }
}
