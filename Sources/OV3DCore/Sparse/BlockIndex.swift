/// A two-level index of a coordinate map for neighbour queries: the lattice (coordinates divided
/// by the tensor stride) is cut into 4×4×4 blocks; a hash finds a block, a dense 64-entry table
/// inside it finds the row. A voxel's neighbours mostly share its few blocks, so a neighbourhood
/// query costs a handful of hash probes instead of one per offset (used by `KernelMap.build`).
struct BlockIndex {
    let tensorStride: Int32
    var blocks: CoordinateHash
    /// `(blockCount + 1) × 64` rows, -1 = empty; the last block is all empty (the stand-in for
    /// blocks that hold no voxel).
    var rows: [Int32]
    var emptyBlock: Int { rows.count - 64 }

    init(_ map: CoordinateMap) {
        tensorStride = map.tensorStride
        let n = map.count
        var h = CoordinateHash(capacity: max(1, n / 8))
        var r = [Int32]()
        r.reserveCapacity(64 * max(1, n / 8))
        let t = map.tensorStride
        map.coords.withUnsafeBufferPointer { c in
            for i in 0..<n {
                let x = c[3 * i] / t, y = c[3 * i + 1] / t, z = c[3 * i + 2] / t
                let key = CoordinateKey.pack(x >> 2, y >> 2, z >> 2)
                let id = Int32(r.count / 64)
                let b = Int(h.insert(key, id))
                if b == Int(id) { r.append(contentsOf: repeatElement(-1, count: 64)) }
                r[64 * b + Int((x & 3) | (y & 3) << 2 | (z & 3) << 4)] = Int32(i)
            }
        }
        r.append(contentsOf: repeatElement(-1, count: 64))
        blocks = h
        rows = r
    }

    /// Runs `body` with a lookup `(lattice x, y, z) -> row or -1` that caches the last block per
    /// parity class (8 entries), so consecutive queries around one voxel rarely probe the hash.
    /// Lattice coordinates must be within ±2^20 (callers check the voxel range first).
    func withLookup<R>(_ body: (inout Lookup) -> R) -> R {
        rows.withUnsafeBufferPointer { rp in
            blocks.keys.withUnsafeBufferPointer { kp in
                blocks.values.withUnsafeBufferPointer { vp in
                    let cacheKeys = UnsafeMutablePointer<UInt64>.allocate(capacity: 8)
                    let cacheBase = UnsafeMutablePointer<Int>.allocate(capacity: 8)
                    cacheKeys.initialize(repeating: CoordinateKey.empty, count: 8)
                    cacheBase.initialize(repeating: -1, count: 8)
                    defer { cacheKeys.deallocate(); cacheBase.deallocate() }
                    let near = UnsafeMutablePointer<Int>.allocate(capacity: 27)
                    near.initialize(repeating: emptyBlock, count: 27)
                    defer { near.deallocate() }
                    var l = Lookup(rows: rp, keys: kp, values: vp, shift: blocks.shift, cacheKeys: cacheKeys,
                                   cacheBase: cacheBase, emptyBase: emptyBlock, near: near)
                    return body(&l)
                }
            }
        }
    }

    struct Lookup {
        let rows: UnsafeBufferPointer<Int32>
        let keys: UnsafeBufferPointer<UInt64>
        let values: UnsafeBufferPointer<Int32>
        let shift: UInt64
        let cacheKeys: UnsafeMutablePointer<UInt64>
        let cacheBase: UnsafeMutablePointer<Int>
        /// Offset in `rows` of the all-empty block.
        let emptyBase: Int
        /// Scratch: base offsets of the 27 blocks around the current voxel's block.
        let near: UnsafeMutablePointer<Int>

        /// Offset in `rows` of block `(bx, by, bz)` (`emptyBase` when it holds no voxel).
        @inline(__always)
        mutating func blockBase(_ bx: Int32, _ by: Int32, _ bz: Int32) -> Int {
            let key = CoordinateKey.pack(bx, by, bz)
            let slot = Int((bx & 1) | (by & 1) << 1 | (bz & 1) << 2)
            if cacheKeys[slot] == key { return cacheBase[slot] }
            let id = CoordinateHash.find(key, keys, values, shift)
            let b = id < 0 ? emptyBase : 64 * Int(id)
            cacheKeys[slot] = key
            cacheBase[slot] = b
            return b
        }

        /// `out[k]` = the row at lattice `(x, y, z) + offset k` or -1, for every offset of `plan`.
        /// Lattice coordinates within ±2^20; neighbours beyond that range read as empty.
        @inline(__always)
        mutating func neighbours(_ x: Int32, _ y: Int32, _ z: Int32, plan: UnsafeBufferPointer<UInt16>,
                                 blocks: UnsafeBufferPointer<UInt8>, blockCount: UnsafeBufferPointer<UInt8>,
                                 volume v: Int, out: UnsafeMutablePointer<Int32>) {
            let bx = x >> 2, by = y >> 2, bz = z >> 2
            let p = Int((x & 3) | (y & 3) << 2 | (z & 3) << 4)
            for i in 0..<Int(blockCount[p]) {
                let b = blocks[27 * p + i]
                let d = Int32(b)
                near[Int(b)] = blockBase(bx + d % 3 - 1, by + (d / 3) % 3 - 1, bz + d / 9 - 1)
            }
            let cells = plan.baseAddress! + p * v
            for k in 0..<v {
                let c = Int(cells[k])
                out[k] = rows[near[c >> 6] + (c & 63)]
            }
        }
    }
}
