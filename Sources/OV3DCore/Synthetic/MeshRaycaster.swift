import CKernels

/// Ray casting against a `TriangleMesh` through a bounding volume hierarchy (median split on
/// the longest axis of the centroids' bounds, leaves of up to 4 triangles). The traversal runs
/// in C (`Sources/CKernels/raycast.c`); the hierarchy is built here once per mesh.
public struct MeshRaycaster: @unchecked Sendable {
    /// Triangles in BVH order, 9 floats each.
    let triangles: [Float]
    /// BVH position → triangle index of the original mesh.
    let originalIndex: [Int32]
    let nodes: [ov3d_bvh_node]

    public init(mesh: TriangleMesh) {
        let n = mesh.triangleCount
        var order = Array(0..<n)
        var centroids = [SIMD3<Float>](repeating: .zero, count: n)
        var los = [SIMD3<Float>](repeating: .zero, count: n), his = los
        for t in 0..<n {
            let a = mesh.vertex(t, 0), b = mesh.vertex(t, 1), c = mesh.vertex(t, 2)
            centroids[t] = (a + b + c) / 3
            los[t] = pointwiseMin(a, pointwiseMin(b, c))
            his[t] = pointwiseMax(a, pointwiseMax(b, c))
        }
        var nodes: [ov3d_bvh_node] = []
        nodes.reserveCapacity(max(1, 2 * n / 2 + 2))
        func bounds(_ r: Range<Int>) -> (SIMD3<Float>, SIMD3<Float>) {
            var lo = SIMD3<Float>(repeating: .infinity), hi = -lo
            for i in r { lo = pointwiseMin(lo, los[order[i]]); hi = pointwiseMax(hi, his[order[i]]) }
            if r.isEmpty { lo = .zero; hi = .zero }
            return (lo - 1e-5, hi + 1e-5)
        }
        func makeNode(_ r: Range<Int>) -> ov3d_bvh_node {
            let (lo, hi) = bounds(r)
            return ov3d_bvh_node(lo: (lo.x, lo.y, lo.z), hi: (hi.x, hi.y, hi.z), first: Int32(r.lowerBound), count: Int32(r.count))
        }
        // Iterative build: a node is appended, then split in place if it holds > 4 triangles.
        nodes.append(makeNode(0..<n))
        var work = [(node: 0, range: 0..<n)]
        while let (ni, r) = work.popLast() {
            guard r.count > 4 else { continue }
            var clo = SIMD3<Float>(repeating: .infinity), chi = -clo
            for i in r { clo = pointwiseMin(clo, centroids[order[i]]); chi = pointwiseMax(chi, centroids[order[i]]) }
            let ext = chi - clo
            let axis = ext.x >= ext.y && ext.x >= ext.z ? 0 : (ext.y >= ext.z ? 1 : 2)
            order[r].sort { (centroids[$0][axis], $0) < (centroids[$1][axis], $1) }
            let mid = r.lowerBound + r.count / 2
            let left = nodes.count
            nodes.append(makeNode(r.lowerBound..<mid))
            nodes.append(makeNode(mid..<r.upperBound))
            nodes[ni].first = Int32(left)
            nodes[ni].count = 0
            work.append((left, r.lowerBound..<mid))
            work.append((left + 1, mid..<r.upperBound))
        }
        var tris = [Float](repeating: 0, count: 9 * n)
        for (i, t) in order.enumerated() { for k in 0..<9 { tris[9 * i + k] = mesh.vertices[9 * t + k] } }
        triangles = tris
        originalIndex = order.map { Int32($0) }
        self.nodes = nodes
    }

    /// Nearest hit of `origin + t·direction`, t in (tMin, tMax): the mesh triangle and t.
    public func nearest(origin: SIMD3<Float>, direction: SIMD3<Float>, tMin: Float = 1e-4, tMax: Float = 1e4) -> (triangle: Int, t: Float)? {
        guard !originalIndex.isEmpty else { return nil }
        var t: Float = 0
        let o = [origin.x, origin.y, origin.z], d = [direction.x, direction.y, direction.z]
        let hit = triangles.withUnsafeBufferPointer { tp in
            nodes.withUnsafeBufferPointer { np in ov3d_raycast_nearest(tp.baseAddress, np.baseAddress, o, d, tMin, tMax, &t) }
        }
        return hit >= 0 ? (Int(originalIndex[Int(hit)]), t) : nil
    }

    /// Renders depth along the optical axis (metres, 0 = no hit) and the hit mesh triangle (-1 =
    /// none) per pixel of a pinhole camera with camera-to-world `rotation` (row-major 3×3) at `eye`.
    public func castImage(width: Int, height: Int, fx: Float, fy: Float, cx: Float, cy: Float,
                          rotation: [Float], eye: SIMD3<Float>, maxDistance: Float = 100,
                          threads: Int = 0) -> (depth: [Float], triangle: [Int32]) {
        var depth = [Float](repeating: 0, count: width * height)
        var tri = [Int32](repeating: -1, count: width * height)
        guard !originalIndex.isEmpty, rotation.count == 9 else { return (depth, tri) }
        let e = [eye.x, eye.y, eye.z]
        triangles.withUnsafeBufferPointer { tp in
            nodes.withUnsafeBufferPointer { np in
                depth.withUnsafeMutableBufferPointer { dp in
                    tri.withUnsafeMutableBufferPointer { op in
                        let box = UncheckedSendable((tp, np, dp, op))
                        parallelFor(height, threads: threads, minChunk: 8) { rows in
                            let (tp, np, dp, op) = box.value
                            ov3d_raycast_image(tp.baseAddress, np.baseAddress, rotation, e, fx, fy, cx, cy, Int32(width),
                                               Int32(rows.lowerBound), Int32(rows.upperBound), maxDistance,
                                               dp.baseAddress, op.baseAddress)
                        }
                    }
                }
            }
        }
        originalIndex.withUnsafeBufferPointer { map in
            for k in 0..<tri.count where tri[k] >= 0 { tri[k] = map[Int(tri[k])] }
        }
        return (depth, tri)
    }
}

extension MeshRaycaster {
    /// Nearest hits of many rays (`origins`, `directions`: 3 floats per ray): per ray t (0 where
    /// none) and the mesh triangle (-1 where none).
    public func cast(origins: [Float], directions: [Float], tMin: Float = 1e-4, tMax: Float = 1e4,
                     threads: Int = 0) -> (t: [Float], triangle: [Int32]) {
        let n = min(origins.count, directions.count) / 3
        var t = [Float](repeating: 0, count: n)
        var tri = [Int32](repeating: -1, count: n)
        guard !originalIndex.isEmpty, n > 0 else { return (t, tri) }
        triangles.withUnsafeBufferPointer { tp in
            nodes.withUnsafeBufferPointer { np in
                origins.withUnsafeBufferPointer { op in
                    directions.withUnsafeBufferPointer { dp in
                        t.withUnsafeMutableBufferPointer { to in
                            tri.withUnsafeMutableBufferPointer { ro in
                                let box = UncheckedSendable((tp, np, op, dp, to, ro))
                                parallelFor(n, threads: threads, minChunk: 4096) { r in
                                    let (tp, np, op, dp, to, ro) = box.value
                                    ov3d_raycast_rays(tp.baseAddress, np.baseAddress, op.baseAddress! + 3 * r.lowerBound,
                                                      dp.baseAddress! + 3 * r.lowerBound, r.count, tMin, tMax,
                                                      to.baseAddress! + r.lowerBound, ro.baseAddress! + r.lowerBound)
                                }
                            }
                        }
                    }
                }
            }
        }
        originalIndex.withUnsafeBufferPointer { map in
            for k in 0..<n where tri[k] >= 0 { tri[k] = map[Int(tri[k])] }
        }
        return (t, tri)
    }
}
