/// Superpoints of a point cloud without a mesh: the segmentator's Felzenszwalb–Huttenlocher
/// criterion and edge weight (spec §9.2) over a graph of the points — either each point's k
/// nearest neighbours, or the 26-adjacency of occupied voxels (segmenting voxel centroids and
/// broadcasting to the points). Normals are the cloud's own when present, else estimated by PCL.
public enum GraphSegmentation {
    public enum Neighbourhood: Sendable, Equatable {
        case knn(Int)
        case voxel(Float)
    }

    public struct Params: Sendable, Equatable {
        public var neighbourhood: Neighbourhood = .knn(10)
        public var kThresh: Float = 0.01
        public var segMinVerts: Int = 20
        /// Neighbours for normal estimation.
        public var normalK: Int = 16
        /// Normal orientation viewpoint; nil = the cloud's centroid.
        public var viewpoint: SIMD3<Float>? = nil
        /// Use normals stored in the cloud when present.
        public var useCloudNormals: Bool = true
        public init() {}
    }

    public static func segment(_ cloud: PointCloud, params p: Params) throws -> Superpoints {
        try cloud.validate(finite: true)
        try require(cloud.count > 0, "graph superpoints: empty cloud")
        try require(p.kThresh.isFinite && p.kThresh >= 0, "kThresh must be finite and >= 0")
        try require(p.segMinVerts >= 0, "segMinVerts must be >= 0")
        switch p.neighbourhood {
        case .knn(let k):
            try require(k >= 1 && k <= 128, "graph k = \(k) must be in 1...128")
            let n = cloud.count
            let normals = try normalsOf(cloud.positions, cloud.useNormals(p), p)
            let nbr = try PointNormals.knn(cloud.positions, k: min(k, max(1, n - 1)))
            let kk = nbr.count / n
            var a: [Int32] = [], b: [Int32] = [], w: [Float] = []
            a.reserveCapacity(nbr.count); b.reserveCapacity(nbr.count); w.reserveCapacity(nbr.count)
            for i in 0..<n {
                for j in 0..<kk {
                    let q = nbr[i * kk + j]
                    guard q >= 0 else { continue }
                    a.append(Int32(i)); b.append(q)
                    w.append(weight(cloud.positions, normals, i, Int(q)))
                }
            }
            let roots = try Felzenszwalb.segment(n: n, a: a, b: b, w: w, k: p.kThresh, minSize: p.segMinVerts)
            return Superpoints.dense(roots)
        case .voxel(let size):
            try require(size.isFinite && size > 0, "voxel size must be > 0")
            let grid = try VoxelGrid(cloud.positions, size: size)
            let normals = try normalsOf(grid.centroids, nil, p)
            var a: [Int32] = [], b: [Int32] = [], w: [Float] = []
            for (v, key) in grid.keys.enumerated() {
                for d in VoxelGrid.forwardOffsets {
                    if let u = grid.index[key &+ d] {
                        a.append(Int32(v)); b.append(u)
                        w.append(weight(grid.centroids, normals, v, Int(u)))
                    }
                }
            }
            let roots = try Felzenszwalb.segment(n: grid.keys.count, a: a, b: b, w: w, k: p.kThresh, minSize: p.segMinVerts)
            let dense = Superpoints.dense(roots)
            return Superpoints(ids: grid.pointVoxel.map { dense.ids[Int($0)] }, count: dense.count)
        }
    }

    static func normalsOf(_ positions: [Float], _ own: [Float]?, _ p: Params) throws -> [Float] {
        if let own { return own }
        let n = positions.count / 3
        return try PointNormals.estimate(positions, k: min(p.normalK, max(3, n)), viewpoint: p.viewpoint).normals
    }

    @inline(__always)
    static func weight(_ pos: [Float], _ nrm: [Float], _ a: Int, _ b: Int) -> Float {
        Felzenszwalb.weight(pa: SIMD3(pos[3 * a], pos[3 * a + 1], pos[3 * a + 2]),
                            pb: SIMD3(pos[3 * b], pos[3 * b + 1], pos[3 * b + 2]),
                            na: SIMD3(nrm[3 * a], nrm[3 * a + 1], nrm[3 * a + 2]),
                            nb: SIMD3(nrm[3 * b], nrm[3 * b + 1], nrm[3 * b + 2]))
    }
}

extension PointCloud {
    /// The cloud's normals if present and all finite and the params allow them.
    func useNormals(_ p: GraphSegmentation.Params) -> [Float]? {
        p.useCloudNormals ? finiteNormals : nil
    }
}

/// Occupied voxels of a point set: centroids, and each point's voxel.
struct VoxelGrid {
    var keys: [SIMD3<Int32>] = []
    var index: [SIMD3<Int32>: Int32] = [:]
    var centroids: [Float] = []
    var pointVoxel: [Int32] = []

    /// The 13 neighbour offsets of one half of the 26-neighbourhood (each pair once).
    static let forwardOffsets: [SIMD3<Int32>] = {
        var o: [SIMD3<Int32>] = []
        for dx in -1...1 { for dy in -1...1 { for dz in -1...1 {
            let d = SIMD3<Int32>(Int32(dx), Int32(dy), Int32(dz))
            if (dx, dy, dz) > (0, 0, 0) { o.append(d) }
        } } }
        return o
    }()

    init(_ pos: [Float], size: Float) throws {
        let n = pos.count / 3
        var sums: [SIMD3<Double>] = []
        var counts: [Int] = []
        pointVoxel = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            var key = SIMD3<Int32>()
            for c in 0..<3 {
                let q = (pos[3 * i + c] / size).rounded(.down)
                try require(q > -1e9 && q < 1e9, "voxel coordinate out of range (coordinates too large for voxel size \(size))")
                key[c] = Int32(q)
            }
            if let v = index[key] {
                pointVoxel[i] = v
                sums[Int(v)] += SIMD3(Double(pos[3 * i]), Double(pos[3 * i + 1]), Double(pos[3 * i + 2]))
                counts[Int(v)] += 1
            } else {
                let v = Int32(keys.count)
                index[key] = v
                keys.append(key)
                sums.append(SIMD3(Double(pos[3 * i]), Double(pos[3 * i + 1]), Double(pos[3 * i + 2])))
                counts.append(1)
                pointVoxel[i] = v
            }
        }
        centroids = [Float](repeating: 0, count: 3 * keys.count)
        for v in 0..<keys.count {
            let c = sums[v] / Double(counts[v])
            centroids[3 * v] = Float(c.x); centroids[3 * v + 1] = Float(c.y); centroids[3 * v + 2] = Float(c.z)
        }
    }
}
