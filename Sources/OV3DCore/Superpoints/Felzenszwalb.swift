import CPCLBridge

/// Felzenszwalb–Huttenlocher graph segmentation exactly as ScanNet's segmentator runs it:
/// edges sorted by weight with libstdc++'s `std::sort` order (ties included), a disjoint-set
/// forest with union by rank where `find` compresses only the queried node, per-component
/// thresholds `w + k / size`, then a merge pass over the same sorted edges joining components
/// smaller than `minSize`. All arithmetic in float32.
enum Felzenszwalb {
    /// The order in which `std::sort` visits records keyed by `w` (NaN last).
    static func sortOrder(_ w: [Float]) throws -> [UInt32] {
        var order = [UInt32](repeating: 0, count: w.count)
        let r = w.withUnsafeBufferPointer { wp in
            order.withUnsafeMutableBufferPointer { op in ov3d_sort_order_f32(wp.baseAddress, wp.count, op.baseAddress) }
        }
        try require(r == 0, "edge sort failed (\(r))")
        return order
    }

    /// Segments a graph of `n` vertices with edges (a[i], b[i], w[i]) in the given (file) order.
    /// Returns each vertex's component root.
    static func segment(n: Int, a: [Int32], b: [Int32], w: [Float], k: Float, minSize: Int) throws -> [Int32] {
        try require(a.count == b.count && a.count == w.count, "edge arrays differ in length")
        try require(n >= 0 && n <= Int(Int32.max), "vertex count out of range")
        let n32 = Int32(n)
        var bad = -1
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                for i in 0..<ap.count where ap[i] < 0 || ap[i] >= n32 || bp[i] < 0 || bp[i] >= n32 { bad = i; break }
            }
        }
        try require(bad < 0, "edge \(bad) refers to a missing vertex")
        let order = try sortOrder(w)
        let minSize32 = Int32(clamping: minSize)
        // Disjoint-set forest (parent, rank, size) and thresholds in flat buffers.
        let parent = UnsafeMutablePointer<Int32>.allocate(capacity: max(n, 1))
        let rank = UnsafeMutablePointer<Int32>.allocate(capacity: max(n, 1))
        let size = UnsafeMutablePointer<Int32>.allocate(capacity: max(n, 1))
        let threshold = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
        defer { parent.deallocate(); rank.deallocate(); size.deallocate(); threshold.deallocate() }
        for i in 0..<n { parent[i] = Int32(i); rank[i] = 0; size[i] = 1; threshold[i] = k }
        @inline(__always) func find(_ x: Int32) -> Int32 {
            var y = x
            while y != parent[Int(y)] { y = parent[Int(y)] }
            parent[Int(x)] = y
            return y
        }
        @inline(__always) func join(_ x: Int32, _ y: Int32) {
            let xi = Int(x), yi = Int(y)
            if rank[xi] > rank[yi] {
                parent[yi] = x
                size[xi] += size[yi]
            } else {
                parent[xi] = y
                size[yi] += size[xi]
                if rank[xi] == rank[yi] { rank[yi] += 1 }
            }
        }
        order.withUnsafeBufferPointer { ord in
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    w.withUnsafeBufferPointer { wp in
                        for e in ord {
                            let ei = Int(e)
                            let we = wp[ei]
                            var ra = find(ap[ei])
                            let rb = find(bp[ei])
                            if ra != rb && we <= threshold[Int(ra)] && we <= threshold[Int(rb)] {
                                join(ra, rb)
                                ra = find(ra)
                                threshold[Int(ra)] = we + k / Float(size[Int(ra)])
                            }
                        }
                        for e in ord {
                            let ei = Int(e)
                            let ra = find(ap[ei])
                            let rb = find(bp[ei])
                            if ra != rb && (size[Int(ra)] < minSize32 || size[Int(rb)] < minSize32) {
                                join(ra, rb)
                            }
                        }
                    }
                }
            }
        }
        return [Int32](unsafeUninitializedCapacity: n) { out, done in
            for i in 0..<n { out[i] = find(Int32(i)) }
            done = n
        }
    }

    /// The segmentator's edge weight between vertices a -> b with (possibly non-unit) normals:
    /// `1 - n_a·n_b`, squared when the edge is convex (`n_b · normalize(p_b - p_a) > 0`).
    @inline(__always)
    static func weight(pa: SIMD3<Float>, pb: SIMD3<Float>, na: SIMD3<Float>, nb: SIMD3<Float>) -> Float {
        var dx = pb.x - pa.x, dy = pb.y - pa.y, dz = pb.z - pa.z
        let dd = (dx * dx + dy * dy + dz * dz).squareRoot()
        dx /= dd; dy /= dd; dz /= dd
        let dot = na.x * nb.x + na.y * nb.y + na.z * nb.z
        let dot2 = nb.x * dx + nb.y * dy + nb.z * dz
        var ww: Float = 1 - dot
        if dot2 > 0 { ww = ww * ww }
        return ww
    }
}
