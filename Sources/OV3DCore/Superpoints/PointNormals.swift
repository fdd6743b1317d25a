import CPCLBridge

/// Normals and neighbourhoods of unorganized points through PCL (`pcl::NormalEstimation`,
/// `pcl::KdTreeFLANN`).
public enum PointNormals {
    /// Unit normals from the `k` nearest neighbours, flipped towards `viewpoint` (default: the
    /// centroid of the points, which orients room scans inwards). NaN where undefined.
    public static func estimate(_ positions: [Float], k: Int, viewpoint: SIMD3<Float>? = nil) throws -> (normals: [Float], curvature: [Float]) {
        let n = positions.count / 3
        try require(n > 0 && positions.count == 3 * n, "normals: need 3 floats per point and at least one point")
        try require(k >= 3 && k <= 1024, "normals: k = \(k) must be in 3...1024")
        let vp = viewpoint ?? centroid(positions)
        var normals = [Float](repeating: 0, count: 3 * n)
        var curv = [Float](repeating: 0, count: n)
        var err = [CChar](repeating: 0, count: 512)
        let r = positions.withUnsafeBufferPointer { p in
            normals.withUnsafeMutableBufferPointer { o in
                curv.withUnsafeMutableBufferPointer { c in
                    ov3d_pcl_normals(n, p.baseAddress, Int32(k), vp.x, vp.y, vp.z, o.baseAddress, c.baseAddress, &err, err.count)
                }
            }
        }
        try bridgeCheck(r, err)
        return (normals, curv)
    }

    /// The `k` nearest neighbours of every point (itself excluded), `k` per point, -1 padded.
    public static func knn(_ positions: [Float], k: Int) throws -> [Int32] {
        let n = positions.count / 3
        try require(n > 0 && positions.count == 3 * n, "knn: need 3 floats per point and at least one point")
        try require(k >= 1 && k <= 1024, "knn: k = \(k) must be in 1...1024")
        var idx = [Int32](repeating: -1, count: n * k)
        var err = [CChar](repeating: 0, count: 512)
        let r = positions.withUnsafeBufferPointer { p in
            idx.withUnsafeMutableBufferPointer { o in
                ov3d_pcl_knn(n, p.baseAddress, Int32(k), o.baseAddress, nil, &err, err.count)
            }
        }
        try bridgeCheck(r, err)
        return idx
    }

    static func centroid(_ p: [Float]) -> SIMD3<Float> {
        var s = SIMD3<Double>(0, 0, 0)
        let n = p.count / 3
        for i in 0..<n { s += SIMD3(Double(p[3 * i]), Double(p[3 * i + 1]), Double(p[3 * i + 2])) }
        s /= Double(max(n, 1))
        return SIMD3(Float(s.x), Float(s.y), Float(s.z))
    }
}
