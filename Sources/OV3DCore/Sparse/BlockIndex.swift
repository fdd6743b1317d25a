/// A two-level index of a coordinate map for neighbour queries: the lattice (coordinates divided
/// by the tensor stride) is cut into 4×4×4 blocks; a hash finds a block, a dense 64-entry table
/// inside it finds the row. A voxel's neighbours mostly share its few blocks, so a neighbourhood
/// query costs a handful of hash probes instead of one per offset (used by `KernelMap.build`).
struct BlockIndex {
    let tensorStride: Int32
    var blocks: CoordinateHash
    var rows: [Int32]          // blockCount × 64, -1 = empty

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
                    var l = Lookup(rows: rp, keys: kp, values: vp, shift: blocks.shift, cacheKeys: cacheKeys, cacheBase: cacheBase)
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

        @inline(__always)
        mutating func row(_ x: Int32, _ y: Int32, _ z: Int32) -> Int32 {
            let bx = x >> 2, by = y >> 2, bz = z >> 2
            let key = CoordinateKey.pack(bx, by, bz)
            let slot = Int((bx & 1) | (by & 1) << 1 | (bz & 1) << 2)
            var b: Int
            if cacheKeys[slot] == key {
                b = cacheBase[slot]
            } else {
                let id = CoordinateHash.find(key, keys, values, shift)
                b = id < 0 ? -1 : 64 * Int(id)
                cacheKeys[slot] = key
                cacheBase[slot] = b
            }
            if b < 0 { return -1 }
            return rows[b + Int((x & 3) | (y & 3) << 2 | (z & 3) << 4)]
        }
    }
}
