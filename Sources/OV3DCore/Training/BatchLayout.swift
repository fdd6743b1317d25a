/// Where the scenes of a batch sit in one coordinate space, so that a single set of coordinate
/// and kernel maps serves the whole batch exactly as MinkowskiEngine's batch index does.
///
/// ME keys coordinates by `(batch, x, y, z)`: kernel maps never join voxels of different scenes,
/// and a strided map floors each scene's coordinates to multiples of the stride on its own. Here
/// every scene is translated along x by a multiple of `alignment` (64, a multiple of every tensor
/// stride of the network, at most 16), scenes side by side with `gap` (256) empty voxels between
/// their extents. This is an exact equivalent: a translation by a multiple of `t` commutes with
/// flooring to multiples of `t` (`floor((x+T)/t)·t = floor(x/t)·t + T`) and with every kernel
/// offset, and neighbourhoods (at most ±2 at stride 1, ±t at stride t ≤ 16, cells of 2t) never
/// span the gap. The whole layout must fit the coordinate range (±2^20 per axis); a batch that
/// does not is an error.
public struct BatchLayout: Sendable {
    public static let alignment: Int32 = 64
    public static let gap: Int64 = 256

    /// x y z per row (rows in batch order), scenes translated along x.
    public let coords: [Int32]
    /// The translation of each scene, by batch index (sorted ascending).
    public let scenes: [(batch: Int32, shiftX: Int32)]

    /// Lays out `batchCoords` (rows × 4: batch, x, y, z). Throws for a negative batch index,
    /// coordinates beyond ±2^20 or a layout wider than the coordinate range.
    public init(batchCoords: [Int32]) throws {
        try require(batchCoords.count % 4 == 0 && !batchCoords.isEmpty, "batch coordinates must be rows of 4 (batch, x, y, z), got \(batchCoords.count) values")
        let n = batchCoords.count / 4
        var extent = [Int32: (lo: Int64, hi: Int64)]()
        for r in 0..<n {
            let b = batchCoords[4 * r], x = batchCoords[4 * r + 1], y = batchCoords[4 * r + 2], z = batchCoords[4 * r + 3]
            try require(b >= 0, "row \(r) has a negative batch index \(b)")
            try require(CoordinateKey.inRange(x, y, z), "voxel coordinate (\(x), \(y), \(z)) of row \(r) is beyond ±2^20")
            let e = extent[b] ?? (Int64(x), Int64(x))
            extent[b] = (min(e.lo, Int64(x)), max(e.hi, Int64(x)))
        }
        let a = Int64(BatchLayout.alignment)
        func floorA(_ v: Int64) -> Int64 { v >= 0 ? v / a * a : -((-v + a - 1) / a) * a }
        var shifts = [(batch: Int32, shiftX: Int64)]()
        var end = Int64.min
        for b in extent.keys.sorted() {
            let e = extent[b]!
            var t: Int64 = 0
            if end != .min {
                // Smallest multiple of the alignment with e.lo + t ≥ end + gap.
                t = -floorA(e.lo - end - BatchLayout.gap)
            }
            shifts.append((b, t))
            end = e.hi + t
        }
        // Centre the whole layout (by a multiple of the alignment) when it leaves the range.
        let lo = extent[shifts[0].batch]!.lo + shifts[0].shiftX
        let limit = Int64(CoordinateKey.limit)
        var common: Int64 = 0
        if lo < -limit || end >= limit { common = -floorA((lo + end) / 2) }
        try require(lo + common >= -limit && end + common < limit,
                    "the batch's \(shifts.count) scenes span \(end - lo + 1) voxels along x side by side, beyond the coordinate range 2^21")
        var shiftOf = [Int32: Int32]()
        for s in shifts { shiftOf[s.batch] = Int32(s.shiftX + common) }
        var out = [Int32](repeating: 0, count: 3 * n)
        for r in 0..<n {
            out[3 * r] = batchCoords[4 * r + 1] + shiftOf[batchCoords[4 * r]]!
            out[3 * r + 1] = batchCoords[4 * r + 2]
            out[3 * r + 2] = batchCoords[4 * r + 3]
        }
        coords = out
        scenes = shifts.map { ($0.batch, shiftOf[$0.batch]!) }
    }
}
