/// Superpoints on a triangle mesh: ScanNet's segmentator (Felzenszwalb–Huttenlocher on vertex
/// normals), re-implemented with its exact float32 semantics (spec §9.2): face normals by
/// normalized cross products, vertex normals as an unnormalized running mean, three directed
/// edges per face (i1,i2) (i1,i3) (i3,i2), convex edges down-weighted.
public enum MeshSegmentation {
    public struct Params: Sendable, Equatable {
        /// The segmentator's kThresh (default 0.01).
        public var kThresh: Float = 0.01
        /// Components smaller than this are merged (default 20; SAS uses 60).
        public var segMinVerts: Int = 20
        public init(kThresh: Float = 0.01, segMinVerts: Int = 20) {
            self.kThresh = kThresh
            self.segMinVerts = segMinVerts
        }
    }

    /// Returns the root vertex index of each vertex's segment, as the segmentator writes
    /// `segIndices`. `positions`: 3 floats per vertex; `faces`: 3 indices per triangle.
    public static func segment(positions: [Float], faces: [Int32], params: Params) throws -> [Int32] {
        try require(positions.count % 3 == 0, "positions must hold 3 floats per vertex")
        try require(faces.count % 3 == 0, "faces must hold 3 indices per triangle")
        try require(params.kThresh.isFinite && params.kThresh >= 0, "kThresh must be finite and >= 0")
        try require(params.segMinVerts >= 0, "segMinVerts must be >= 0")
        let n = positions.count / 3
        let nf = faces.count / 3
        try require(nf <= Int(Int32.max) / 3, "too many faces")
        if let f = faces.first(where: { $0 < 0 || Int($0) >= n }) {
            throw OV3DError.invalidArgument("face index \(f) out of range (\(n) vertices)")
        }
        var points = [SIMD3<Float>](repeating: .zero, count: n)
        var normals = [SIMD3<Float>](repeating: .zero, count: n)
        var counts = [Int32](repeating: 0, count: n)
        var ea = [Int32](repeating: 0, count: 3 * nf)
        var eb = [Int32](repeating: 0, count: 3 * nf)
        var w = [Float](repeating: 0, count: 3 * nf)
        @inline(__always) func lerp(_ a: SIMD3<Float>, _ b: SIMD3<Float>, _ v: Float) -> SIMD3<Float> {
            let u: Float = 1 - v
            return SIMD3(v * b.x + u * a.x, v * b.y + u * a.y, v * b.z + u * a.z)
        }
        positions.withUnsafeBufferPointer { pos in
        faces.withUnsafeBufferPointer { fc in
        points.withUnsafeMutableBufferPointer { points in
        normals.withUnsafeMutableBufferPointer { normals in
        counts.withUnsafeMutableBufferPointer { counts in
        ea.withUnsafeMutableBufferPointer { ea in
        eb.withUnsafeMutableBufferPointer { eb in
            @inline(__always) func p(_ i: Int32) -> SIMD3<Float> {
                let k = 3 * Int(i)
                return SIMD3(pos[k], pos[k + 1], pos[k + 2])
            }
            for i in 0..<nf {
                let i1 = fc[3 * i], i2 = fc[3 * i + 1], i3 = fc[3 * i + 2]
                let p1 = p(i1), p2 = p(i2), p3 = p(i3)
                let k1 = Int(i1), k2 = Int(i2), k3 = Int(i3)
                points[k1] = p1; points[k2] = p2; points[k3] = p3
                ea[3 * i] = i1; eb[3 * i] = i2
                ea[3 * i + 1] = i1; eb[3 * i + 1] = i3
                ea[3 * i + 2] = i3; eb[3 * i + 2] = i2
                let u = SIMD3(p2.x - p1.x, p2.y - p1.y, p2.z - p1.z)
                let v = SIMD3(p3.x - p1.x, p3.y - p1.y, p3.z - p1.z)
                var c = SIMD3(u.y * v.z - u.z * v.y, u.z * v.x - u.x * v.z, u.x * v.y - u.y * v.x)
                let len = (c.x * c.x + c.y * c.y + c.z * c.z).squareRoot()
                c = SIMD3(c.x / len, c.y / len, c.z / len)
                // All three updates read the counts before any is incremented (as the reference
                // does, which matters for faces that repeat a vertex).
                normals[k1] = lerp(normals[k1], c, 1 / (Float(counts[k1]) + 1))
                normals[k2] = lerp(normals[k2], c, 1 / (Float(counts[k2]) + 1))
                normals[k3] = lerp(normals[k3], c, 1 / (Float(counts[k3]) + 1))
                counts[k1] += 1; counts[k2] += 1; counts[k3] += 1
            }
            w.withUnsafeMutableBufferPointer { w in
                for e in 0..<(3 * nf) {
                    let a = Int(ea[e]), b = Int(eb[e])
                    w[e] = Felzenszwalb.weight(pa: points[a], pb: points[b], na: normals[a], nb: normals[b])
                }
            }
        }}}}}}}
        return try Felzenszwalb.segment(n: n, a: ea, b: eb, w: w, k: params.kThresh, minSize: params.segMinVerts)
    }
}
