/// Which input row feeds which output row through which kernel offset (ME's "kernel map").
///
/// Pairs are grouped by offset `k` (ascending); within one offset they are sorted by output row
/// and every output row occurs at most once, so a scatter over one offset is race-free.
public struct KernelMap: Sendable {
    /// Kernel size per axis (volume `kernelSize³`).
    public let kernelSize: Int
    /// Rows of the input and output coordinate maps.
    public let inCount: Int
    public let outCount: Int
    /// `start[k] ..< start[k+1]` are the pairs of offset `k`.
    public private(set) var start: [Int]
    public private(set) var inRows: [Int32]
    public private(set) var outRows: [Int32]
    /// An offset whose pairs are exactly `(r, r)` for every row (the centre of a stride-1 odd
    /// kernel), which compute runs as one dense GEMM without gather or scatter.
    public let identityOffset: Int?

    public var volume: Int { start.count - 1 }
    public var totalPairs: Int { inRows.count }
    public func pairCount(_ k: Int) -> Int { start[k + 1] - start[k] }
    public var pairCounts: [Int] { (0..<volume).map(pairCount) }

    /// The kernel map of a convolution with kernel size `kernelSize` from `input` to `output`
    /// (ME semantics: output `o` receives input `o + offset_k · input.tensorStride`).
    /// `output` is `input` for stride 1, or `input.strided(by: s)`.
    /// `scratch`, when given, holds the temporary neighbour table (reused across forwards, so its
    /// pages are not faulted in again); it must hold `output.count · kernelSize³` Int32.
    /// Kernel sizes 1-5 and 7 (offsets within one 4×4×4 block of the voxel's).
    public static func build(input: CoordinateMap, output: CoordinateMap, kernelSize: Int,
                             sameMap: Bool, threads: Int, scratch: UnsafeMutableBufferPointer<Int32>? = nil) throws -> KernelMap {
        // Offsets in lattice units (coordinates divided by the input's tensor stride): one exact
        // division per output row, none per neighbour.
        let offs = KernelOffsets.offsets(kernelSize: kernelSize, tensorStride: 1)
        let v = kernelSize * kernelSize * kernelSize
        let nOut = output.count
        // 1. neighbour table nb[o * v + k] = input row or -1, one row of the table per output,
        //    written whole (every entry), read through the block index's neighbourhood plan.
        let nbBuffer: UnsafeMutableBufferPointer<Int32>
        var owned: UnsafeMutableBufferPointer<Int32>? = nil
        if let scratch, scratch.count >= nOut * v {
            nbBuffer = UnsafeMutableBufferPointer(rebasing: scratch[0..<(nOut * v)])
        } else {
            let bytes = try Memory.bytes(Int32.self, count: max(1, nOut * v), what: "kernel map neighbour table")
            let raw = try Memory.allocate(bytes: bytes, alignment: 64, what: "kernel map neighbour table (\(nOut) × \(v))")
            owned = UnsafeMutableBufferPointer(start: raw.bindMemory(to: Int32.self, capacity: max(1, nOut * v)), count: max(1, nOut * v))
            nbBuffer = UnsafeMutableBufferPointer(rebasing: owned![0..<(nOut * v)])
        }
        defer { if let owned { Memory.deallocate(UnsafeMutableRawPointer(owned.baseAddress)) } }
        let index = BlockIndex(input)
        let plan = NeighbourhoodPlan(latticeOffsets: offs)
        let t = input.tensorStride
        // Output rows are cut into `chunks` contiguous ranges; each range's pairs of offset k go
        // to one contiguous run of the offset's segment (so the fill needs no synchronisation).
        let chunks = max(1, min(Threads.resolve(threads), nOut / 2048))
        var counts = [Int](repeating: 0, count: chunks * v)
        do {
            let box = UncheckedSendable(nbBuffer)
            counts.withUnsafeMutableBufferPointer { cp in
                let cBox = UncheckedSendable(cp)
                output.coords.withUnsafeBufferPointer { oc in
                    plan.cell.withUnsafeBufferPointer { cells in
                        plan.blocks.withUnsafeBufferPointer { blocks in
                            plan.blockCount.withUnsafeBufferPointer { blockCount in
                                parallelFor(chunks, threads: threads) { cr in
                                    let nb = box.value.baseAddress!
                                    index.withLookup { look in
                                        for c in cr {
                                            let cnt = cBox.value.baseAddress! + c * v
                                            for o in (nOut * c / chunks)..<(nOut * (c + 1) / chunks) {
                                                // Lattice coordinates (exact: outputs are multiples of t).
                                                let row = nb + o * v
                                                look.neighbours(oc[3 * o] / t, oc[3 * o + 1] / t, oc[3 * o + 2] / t, plan: cells,
                                                                blocks: blocks, blockCount: blockCount, volume: v, out: row)
                                                for k in 0..<v { cnt[k] &+= Int(truncatingIfNeeded: ~row[k] >> 31) & 1 }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        // 2. prefix sums, then the fill (sorted by output row within each offset). Branch-free:
        //    an absent neighbour is written to the chunk's own spare slot past the end instead.
        var start = [Int](repeating: 0, count: v + 1)
        var chunkBase = [Int](repeating: 0, count: chunks * v)
        var total = 0
        for k in 0..<v {
            start[k] = total
            for c in 0..<chunks { chunkBase[c * v + k] = total; total += counts[c * v + k] }
        }
        start[v] = total
        try Memory.reserve(Int32.self, count: 2 * (total + chunks), what: "kernel map pairs (\(total))")
        var inRows = [Int32](repeating: 0, count: total + chunks)
        var outRows = [Int32](repeating: 0, count: total + chunks)
        do {
            let nbp = UnsafeBufferPointer(nbBuffer)
            inRows.withUnsafeMutableBufferPointer { ip in
                outRows.withUnsafeMutableBufferPointer { opp in
                    let box = UncheckedSendable((ip, opp))
                    chunkBase.withUnsafeBufferPointer { cb in
                        parallelFor(chunks, threads: threads) { cr in
                            let (ip, opp) = box.value
                            let ib = ip.baseAddress!, ob = opp.baseAddress!
                            let pos = UnsafeMutablePointer<Int>.allocate(capacity: v)
                            defer { pos.deallocate() }
                            for c in cr {
                                for k in 0..<v { pos[k] = cb[c * v + k] }
                                let spare = total + c
                                for o in (nOut * c / chunks)..<(nOut * (c + 1) / chunks) {
                                    let row = nbp.baseAddress! + o * v
                                    let o32 = Int32(truncatingIfNeeded: o)
                                    for k in 0..<v {
                                        let i = row[k]
                                        let present = Int(truncatingIfNeeded: ~i >> 31) & 1
                                        let q = present != 0 ? pos[k] : spare
                                        ib[q] = i
                                        ob[q] = o32
                                        pos[k] &+= present
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        inRows.removeLast(chunks)
        outRows.removeLast(chunks)
        let centre = (kernelSize % 2 == 1 && sameMap) ? v / 2 : nil
        return KernelMap(kernelSize: kernelSize, inCount: input.count, outCount: nOut, start: start,
                         inRows: inRows, outRows: outRows, identityOffset: centre)
    }

    /// The map of the transposed convolution: the same pairs with input and output swapped
    /// (ME builds a transposed conv's map as the regular map fine → coarse, then swaps), re-sorted
    /// by output row within each offset.
    public func transposed() -> KernelMap {
        var ins = outRows, outs = inRows
        for k in 0..<volume {
            let a = start[k], b = start[k + 1]
            if b - a < 2 { continue }
            var idx = Array(a..<b)
            idx.sort { outs[$0] < outs[$1] }
            let o2 = idx.map { outs[$0] }, i2 = idx.map { ins[$0] }
            outs.replaceSubrange(a..<b, with: o2)
            ins.replaceSubrange(a..<b, with: i2)
        }
        return KernelMap(kernelSize: kernelSize, inCount: outCount, outCount: inCount, start: start,
                         inRows: ins, outRows: outs, identityOffset: identityOffset)
    }

    /// The 1×1 (stride 1) map: every row to itself.
    public static func identity(count: Int) -> KernelMap {
        let rows = (0..<count).map { Int32($0) }
        return KernelMap(kernelSize: 1, inCount: count, outCount: count, start: [0, count],
                         inRows: rows, outRows: rows, identityOffset: 0)
    }
}
