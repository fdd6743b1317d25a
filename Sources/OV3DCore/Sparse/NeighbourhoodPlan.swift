/// Where each kernel offset's neighbour lies in a `BlockIndex`, for every position of a voxel
/// inside its 4×4×4 block: which of the 27 surrounding blocks (`(dx+1) + 3(dy+1) + 9(dz+1)`)
/// and which of its 64 cells. With it, a whole neighbourhood is read with one hash probe per
/// block touched (at most 8) and one table read per offset, without per-offset arithmetic or branches.
struct NeighbourhoodPlan {
    /// Kernel volume (offsets per voxel).
    let volume: Int
    /// `cell[position · volume + k] = block << 6 | cell` for the 64 positions.
    let cell: [UInt16]
    /// Per position `p`, the distinct blocks its neighbourhood touches:
    /// `blocks[27p ..< 27p + blockCount[p]]` (at most 8 for offsets within -2...2).
    let blocks: [UInt8]
    let blockCount: [UInt8]

    /// A plan for lattice offsets (x y z triples, flattened) each within -4...4.
    init(latticeOffsets offs: [Int32]) {
        precondition(offs.count % 3 == 0 && offs.allSatisfy { $0 >= -4 && $0 <= 4 }, "offsets beyond one block")
        let v = offs.count / 3
        var cell = [UInt16](repeating: 0, count: 64 * v)
        var blocks = [UInt8](repeating: 0, count: 64 * 27)
        var blockCount = [UInt8](repeating: 0, count: 64)
        for p in 0..<64 {
            let px = Int32(p & 3), py = Int32((p >> 2) & 3), pz = Int32(p >> 4)
            var used = Set<UInt8>()
            for k in 0..<v {
                let x = px + offs[3 * k], y = py + offs[3 * k + 1], z = pz + offs[3 * k + 2]
                // floor division by 4 (arithmetic shift) and the remainder in 0...3.
                let bx: Int32 = (x >> 2) + 1, by: Int32 = (y >> 2) + 1, bz: Int32 = (z >> 2) + 1
                let b = UInt8(bx + 3 * by + 9 * bz)
                let c = UInt16((x & 3) | (y & 3) << 2 | (z & 3) << 4)
                cell[p * v + k] = UInt16(b) << 6 | c
                used.insert(b)
            }
            for (i, b) in used.sorted().enumerated() { blocks[27 * p + i] = b }
            blockCount[p] = UInt8(used.count)
        }
        self.volume = v
        self.cell = cell
        self.blocks = blocks
        self.blockCount = blockCount
    }
}
