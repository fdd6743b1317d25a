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
    public static func build(input: CoordinateMap, output: CoordinateMap, kernelSize: Int,
                             sameMap: Bool, threads: Int, scratch: UnsafeMutableBufferPointer<Int32>? = nil) -> KernelMap {
        let offs = KernelOffsets.offsets(kernelSize: kernelSize, tensorStride: input.tensorStride)
        let v = kernelSize * kernelSize * kernelSize
        let nOut = output.count
        // 1. neighbour table nb[o * v + k] = input row or -1. For a stride-1 odd kernel on one map
        //    the table is symmetric (nb[o][k] = i ⟺ nb[i][v-1-k] = o): look up half, mirror the rest.
        let symmetric = sameMap && kernelSize % 2 == 1 && input.count == nOut
        let kEnd = symmetric ? v / 2 : v
        let nbBuffer: UnsafeMutableBufferPointer<Int32>
        var owned: UnsafeMutableBufferPointer<Int32>? = nil
        if let scratch, scratch.count >= nOut * v {
            nbBuffer = UnsafeMutableBufferPointer(rebasing: scratch[0..<(nOut * v)])
        } else {
            owned = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, nOut * v))
            nbBuffer = UnsafeMutableBufferPointer(rebasing: owned![0..<(nOut * v)])
        }
        defer { owned?.deallocate() }
        nbBuffer.update(repeating: -1)
        let index = BlockIndex(input)
        let t = input.tensorStride
        do {
            let nbp = nbBuffer
            let nbBox = UncheckedSendable(nbp)
            output.coords.withUnsafeBufferPointer { oc in
                offs.withUnsafeBufferPointer { op in
                    parallelFor(nOut, threads: threads, minChunk: 2048) { range in
                        let nbp = nbBox.value
                        index.withLookup { look in
                            for o in range {
                                let x = oc[3 * o], y = oc[3 * o + 1], z = oc[3 * o + 2]
                                for k in 0..<kEnd {
                                    let nx = x &+ op[3 * k], ny = y &+ op[3 * k + 1], nz = z &+ op[3 * k + 2]
                                    guard CoordinateKey.inRange(nx, ny, nz) else { continue }
                                    // Lattice coordinates (exact: outputs and offsets are multiples of t).
                                    let i = look.row(nx / t, ny / t, nz / t)
                                    nbp[o * v + k] = i
                                    // Symmetric stride-1 odd kernel: o is i's neighbour at the mirrored offset.
                                    if symmetric && i >= 0 { nbp[Int(i) * v + (v - 1 - k)] = Int32(o) }
                                }
                                if symmetric { nbp[o * v + v / 2] = Int32(o) }
                            }
                        }
                    }
                }
            }
        }
        // 2. counts per chunk and offset, prefix sums, then fill (sorted by output row per k).
        let chunks = max(1, min(Threads.resolve(threads), nOut / 2048))
        var counts = [Int](repeating: 0, count: chunks * v)
        do {
            let nbp = UnsafeBufferPointer(nbBuffer)
            counts.withUnsafeMutableBufferPointer { cp in
                let cBox = UncheckedSendable(cp)
                parallelFor(chunks, threads: threads) { cr in
                    for c in cr {
                        let lo = nOut * c / chunks, hi = nOut * (c + 1) / chunks
                        for o in lo..<hi { for k in 0..<v where nbp[o * v + k] >= 0 { cBox.value[c * v + k] += 1 } }
                    }
                }
            }
        }
        var start = [Int](repeating: 0, count: v + 1)
        var chunkBase = [Int](repeating: 0, count: chunks * v)
        var total = 0
        for k in 0..<v {
            start[k] = total
            for c in 0..<chunks { chunkBase[c * v + k] = total; total += counts[c * v + k] }
        }
        start[v] = total
        var inRows = [Int32](repeating: 0, count: total)
        var outRows = [Int32](repeating: 0, count: total)
        do {
            let nbp = UnsafeBufferPointer(nbBuffer)
            inRows.withUnsafeMutableBufferPointer { ip in
                outRows.withUnsafeMutableBufferPointer { opp in
                    let box = UncheckedSendable((ip, opp))
                    chunkBase.withUnsafeBufferPointer { cb in
                        parallelFor(chunks, threads: threads) { cr in
                            let (ip, opp) = box.value
                            var pos = [Int](repeating: 0, count: v)
                            for c in cr {
                                for k in 0..<v { pos[k] = cb[c * v + k] }
                                let lo = nOut * c / chunks, hi = nOut * (c + 1) / chunks
                                for o in lo..<hi {
                                    for k in 0..<v {
                                        let i = nbp[o * v + k]
                                        if i >= 0 { ip[pos[k]] = i; opp[pos[k]] = Int32(o); pos[k] += 1 }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
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
