/// The voxel coordinates of a sparse tensor at one tensor stride, with a hash from coordinate to
/// row. Row order is insertion order (for an input map: the order the caller gave).
///
/// Coordinates are in input-voxel units (MinkowskiEngine convention): a map at tensor stride
/// `t` holds only multiples of `t`.
public struct CoordinateMap: Sendable {
    /// Tensor stride of every axis.
    public let tensorStride: Int32
    /// x y z per row (`3 * count` values).
    public private(set) var coords: [Int32]
    /// Coordinate → row.
    public private(set) var hash: CoordinateHash

    public var count: Int { coords.count / 3 }

    /// A map over `coords` (x y z per row), which must be unique, in range
    /// (`CoordinateKey.limit`) and multiples of `tensorStride`.
    public init(unique coords: [Int32], tensorStride: Int32 = 1) throws {
        try require(coords.count % 3 == 0, "coordinates must hold 3 values per row")
        try require(tensorStride >= 1, "tensor stride must be >= 1")
        let n = coords.count / 3
        var h = CoordinateHash(capacity: n)
        for r in 0..<n {
            let x = coords[3 * r], y = coords[3 * r + 1], z = coords[3 * r + 2]
            try require(CoordinateKey.inRange(x, y, z),
                        "voxel coordinate (\(x), \(y), \(z)) of row \(r) is beyond ±2^20")
            try require(x % tensorStride == 0 && y % tensorStride == 0 && z % tensorStride == 0,
                        "voxel coordinate (\(x), \(y), \(z)) is not a multiple of the tensor stride \(tensorStride)")
            let got = h.insert(CoordinateKey.pack(x, y, z), Int32(r))
            try require(got == Int32(r), "voxel coordinate (\(x), \(y), \(z)) appears twice (rows \(got) and \(r)); coordinates must be unique")
        }
        self.coords = coords
        self.hash = h
        self.tensorStride = tensorStride
    }

    private init(coords: [Int32], hash: CoordinateHash, tensorStride: Int32) {
        self.coords = coords
        self.hash = hash
        self.tensorStride = tensorStride
    }

    /// The map at tensor stride `tensorStride * stride`: every coordinate rounded down (true
    /// floor) to a multiple of the new stride, duplicates merged in first-occurrence order.
    public func strided(by stride: Int32) throws -> CoordinateMap {
        try require(stride >= 1, "stride must be >= 1")
        let (t, o) = tensorStride.multipliedReportingOverflow(by: stride)
        try require(!o && t <= CoordinateKey.limit, "tensor stride \(tensorStride)·\(stride) is too large")
        let n = count
        var h = CoordinateHash(capacity: max(1, n / 2))
        var out = [Int32]()
        out.reserveCapacity(3 * max(1, n / 2))
        coords.withUnsafeBufferPointer { c in
            for r in 0..<n {
                let x = CoordinateMap.floorMultiple(c[3 * r], t)
                let y = CoordinateMap.floorMultiple(c[3 * r + 1], t)
                let z = CoordinateMap.floorMultiple(c[3 * r + 2], t)
                let row = Int32(out.count / 3)
                if h.insert(CoordinateKey.pack(x, y, z), row) == row {
                    out.append(x); out.append(y); out.append(z)
                }
            }
        }
        return CoordinateMap(coords: out, hash: h, tensorStride: t)
    }

    /// `floor(v / t) * t` for t > 0 (exact integer floor, also for negative v).
    @inlinable
    static func floorMultiple(_ v: Int32, _ t: Int32) -> Int32 {
        let q = v / t
        return (q * t > v ? q - 1 : q) * t
    }
}
