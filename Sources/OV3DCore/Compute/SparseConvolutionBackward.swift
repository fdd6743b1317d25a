/// The backward of a sparse convolution through the kernel maps its forward used (coordinate
/// management stays in `CoordinateManager`; nothing here builds a map).
///
/// - Input gradient: `dX[i] += dY[o] · W[k]ᵀ` for every pair `(i, o)` of offset `k`. That is a
///   forward convolution of `dY` with the weights transposed per offset, over the map whose pairs
///   are the forward's with inputs and outputs swapped:
///   - a stride-1 (submanifold) odd kernel: its own map with the offsets mirrored (the pairs of
///     offset `k` swapped are exactly the pairs of offset `K³−1−k`), so `W'[K³−1−k] = W[k]ᵀ`;
///   - a strided 2×2×2 convolution: the transposed convolution's map (and back), `W'[k] = W[k]ᵀ`.
///   It runs on `SparseConvolution.forward` (output-stationary tiles, the AVX-512 row kernels or
///   the OpenBLAS path), so it is as fast as the forward.
/// - Weight gradient: `dW[k] += Σ_{(i, o) of k} X[i]ᵀ · dY[o]` (`WeightGradientGEMM`), work split
///   over threads by offsets and column blocks (disjoint parts of dW), each element summed over
///   its pairs in order: the result is the same for every thread count.
public enum SparseConvolutionBackward {
    /// Writes `dX = dY ⋆ Wᵀ` (input gradient, overwriting `dX`): `weights` are the forward's
    /// (`volume · cin · cout`, ME layout); `gradMap` maps the forward's outputs to its inputs (see
    /// the type's doc); `mirrored` = true for a stride-1 odd kernel on its own map.
    static func inputGradient(_ dY: FeatureMatrix, weights: UnsafePointer<Float>, volume: Int, cin: Int, cout: Int,
                              gradMap: KernelMap, mirrored: Bool, into dX: FeatureMatrix,
                              workspace: Workspace, threads: Int) throws {
        let t = try workspace.buffer(capacity: volume * cin * cout)
        defer { workspace.recycle(t) }
        let wt = t.pointer
        for k in 0..<volume {
            let src = weights + k * cin * cout
            let dst = wt + (mirrored ? volume - 1 - k : k) * cin * cout
            for i in 0..<cin { for o in 0..<cout { dst[o * cin + i] = src[i * cout + o] } }
        }
        try SparseConvolution.forward(dY, volume: volume, cin: cout, cout: cin, weights: wt,
                                      bias: UnsafeBufferPointer(start: nil, count: 0), map: gradMap, into: dX,
                                      workspace: workspace, threads: threads)
    }

    /// `dW[k] += Σ X[i]ᵀ · dY[o]` over the pairs of every offset of `map` (the forward's map);
    /// `dW` holds `map.volume · x.cols · dY.cols` floats.
    static func weightGradient(_ x: FeatureMatrix, _ dY: FeatureMatrix, map: KernelMap, into dW: UnsafeMutablePointer<Float>,
                               kernels: ComputeKernels, threads: Int) throws {
        let cin = x.cols, cout = dY.cols
        guard x.rows == map.inCount, dY.rows == map.outCount else {
            throw OV3DError.internal("weight gradient shapes disagree: input \(x.rows)×\(cin), output gradient \(dY.rows)×\(cout), map \(map.inCount)->\(map.outCount)")
        }
        // Work items: (offset, column block); costs = pairs × block width.
        let workers = Threads.resolve(threads)
        let offsets = (0..<map.volume).filter { map.pairCount($0) > 0 }
        guard !offsets.isEmpty else { return }
        let colBlocks = offsets.count >= 4 * workers ? 1 : max(1, min((cout + 15) / 16, (4 * workers + offsets.count - 1) / offsets.count))
        let blockCols = ((cout + colBlocks - 1) / colBlocks + 15) / 16 * 16
        var items = [(k: Int, j0: Int, j1: Int, cost: Int)]()
        for k in offsets {
            var j0 = 0
            while j0 < cout {
                let j1 = min(cout, j0 + blockCols)
                items.append((k, j0, j1, map.pairCount(k) * (j1 - j0)))
                j0 = j1
            }
        }
        // Longest first onto the least loaded worker (deterministic; the result does not depend on it).
        let order = items.indices.sorted { (items[$0].cost, -$0) > (items[$1].cost, -$1) }
        var lists = [[Int]](repeating: [], count: min(workers, items.count))
        var load = [Int](repeating: 0, count: lists.count)
        for i in order {
            let w = load.indices.min { (load[$0], $0) < (load[$1], $0) }!
            lists[w].append(i)
            load[w] += items[i].cost
        }
        let identity = map.identityOffset.flatMap { map.pairCount($0) == map.outCount && map.inCount == map.outCount ? $0 : nil }
        // OpenBLAS runs single-threaded per call (the work is split here), so its sums do not
        // depend on the thread count either.
        let callerBLAS = Threads.blasThreads
        if !kernels.usesVectorKernels { Threads.setBLASThreads(1) }
        defer { if !kernels.usesVectorKernels { Threads.setBLASThreads(callerBLAS) } }
        map.inRows.withUnsafeBufferPointer { ir in
            map.outRows.withUnsafeBufferPointer { orows in
                let ctx = UncheckedSendable((x.data, dY.data, dW, ir.baseAddress!, orows.baseAddress!, items, lists, map.start))
                parallelFor(lists.count, threads: lists.count) { range in
                    let (xp, dyp, dw, irp, orp, items, lists, start) = ctx.value
                    for wkr in range {
                        for i in lists[wkr] {
                            let it = items[i]
                            let s = start[it.k], m = start[it.k + 1] - s
                            let isId = it.k == identity
                            WeightGradientGEMM.accumulate(m: m, k: cin, n: it.j1 - it.j0, a: xp, lda: cin,
                                                          aRows: isId ? nil : irp + s, b: dyp + it.j0, ldb: cout,
                                                          bRows: isId ? nil : orp + s,
                                                          w: dw + it.k * cin * cout + it.j0, ldw: cout, kernels: kernels)
                        }
                    }
                }
            }
        }
    }

    /// Dense 1×1 layer backward: `dW (cin × cout) += Xᵀ · dY` (column blocks over threads).
    static func denseWeightGradient(_ x: FeatureMatrix, _ dY: FeatureMatrix, into dW: UnsafeMutablePointer<Float>,
                                    kernels: ComputeKernels, threads: Int) throws {
        try weightGradient(x, dY, map: KernelMap.identity(count: x.rows), into: dW, kernels: kernels, threads: threads)
    }
}
