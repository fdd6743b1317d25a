/// A superpoint segmentation: one segment id per point, dense in `0..<count`, or -1 for points
/// a method left unassigned (region growing's small clusters, VCCS's empty voxels).
public struct Superpoints: Sendable, Equatable {
    /// Segment id per point, in input order.
    public var ids: [Int32]
    /// Number of segments (ids are in 0..<count or -1).
    public var count: Int

    public init(ids: [Int32], count: Int) {
        self.ids = ids
        self.count = count
    }

    /// Relabels arbitrary ids densely to 0..<K in ascending order of the raw id (for the mesh
    /// method the raw id is the component's root vertex, giving SAS's convention). Raw ids equal
    /// to `unassigned` become -1.
    public static func dense(_ raw: [Int32], unassigned: Int32? = nil) -> Superpoints {
        // Fast path: raw ids are indices into the array itself (roots of a disjoint-set forest).
        if unassigned == nil, raw.allSatisfy({ $0 >= 0 && Int($0) < raw.count }) {
            var map = [Int32](repeating: -1, count: raw.count)
            for r in raw { map[Int(r)] = 0 }
            var k: Int32 = 0
            for i in 0..<map.count where map[i] == 0 { map[i] = k; k += 1 }
            return Superpoints(ids: raw.map { map[Int($0)] }, count: Int(k))
        }
        let distinct = Set(raw.filter { $0 != unassigned }).sorted()
        var map: [Int32: Int32] = [:]
        map.reserveCapacity(distinct.count)
        for (k, r) in distinct.enumerated() { map[r] = Int32(k) }
        return Superpoints(ids: raw.map { $0 == unassigned ? -1 : map[$0]! }, count: distinct.count)
    }

    /// Number of points per segment.
    public var sizes: [Int] {
        var s = [Int](repeating: 0, count: count)
        for i in ids where i >= 0 { s[Int(i)] += 1 }
        return s
    }
}

/// Superpoint methods and their parameters.
public enum SuperpointMethod: Sendable, Equatable {
    /// Felzenszwalb–Huttenlocher on a triangle mesh with ScanNet segmentator semantics.
    case mesh(MeshSegmentation.Params)
    /// Felzenszwalb–Huttenlocher on a kNN or voxel-adjacency graph of the points.
    case graph(GraphSegmentation.Params)
    /// PCL's supervoxels (VCCS).
    case vccs(PCLSegmentation.VCCSParams)
    /// PCL's region growing on normals.
    case regionGrowing(PCLSegmentation.RegionGrowingParams)
}

extension Superpoints {
    /// Computes superpoints of a cloud (with `faces` for the mesh method). A run whose projected
    /// memory (`projectedBytes`) exceeds `memoryLimit` (nil: `OV3D_MAX_MEMORY`, else none) or the
    /// address space left under `ulimit -v` is refused before it starts.
    public static func compute(_ cloud: PointCloud, faces: [Int32] = [], method: SuperpointMethod,
                               memoryLimit: Int? = nil) throws -> Superpoints {
        try cloud.validate()
        try require(cloud.count > 0, "superpoints: empty cloud")
        try require(cloud.count <= Int(Int32.max), "superpoints: more than 2^31-1 points")
        try Memory.checkProjected(projectedBytes(points: cloud.count, faces: faces.count / 3, method: method),
                                  limit: try Memory.limit(memoryLimit),
                                  what: "superpoints (\(method.name)) of \(cloud.count) points")
        switch method {
        case .mesh(let p):
            try require(!faces.isEmpty, "superpoints: the mesh method needs faces (a PLY mesh)")
            return dense(try MeshSegmentation.segment(positions: cloud.positions, faces: faces, params: p))
        case .graph(let p): return try GraphSegmentation.segment(cloud, params: p)
        case .vccs(let p): return try PCLSegmentation.supervoxels(cloud, params: p)
        case .regionGrowing(let p): return try PCLSegmentation.regionGrowing(cloud, params: p)
        }
    }
}

extension SuperpointMethod {
    /// The method's name as the `ov3d superpoints --method` option spells it.
    public var name: String {
        switch self {
        case .mesh: return "mesh"
        case .graph: return "graph"
        case .vccs: return "vccs"
        case .regionGrowing: return "region-growing"
        }
    }
}

extension Superpoints {
    /// Projected peak bytes of `compute` (an estimate from the counts, per method): the cloud
    /// copy, ids and relabelling (40 bytes a point) plus the method's graph. mesh: 3 edges per
    /// face of 24 bytes (ends, weight, sort record) and the disjoint-set forest; graph: normals,
    /// the kNN table and k edges a point (28 bytes each), or 13 voxel-adjacency edges a point;
    /// VCCS: PCL's XYZRGBA and normal clouds, octree leaves and voxel centroids (~400 bytes a
    /// point); region growing: PCL normals, the kd-tree and the k-neighbour lists (4k + 150).
    public static func projectedBytes(points n: Int, faces: Int, method: SuperpointMethod) -> Int {
        func mul(_ a: Int, _ b: Int) -> Int { let (r, o) = a.multipliedReportingOverflow(by: b); return o ? Int.max : r }
        func add(_ a: Int, _ b: Int) -> Int { let (r, o) = a.addingReportingOverflow(b); return o ? Int.max : r }
        let k = { (v: Int) in min(max(v, 0), 1 << 16) }
        let perPoint: Int, extra: Int
        switch method {
        case .mesh: perPoint = 40 + 16; extra = mul(mul(3, faces), 24)
        case .graph(let p):
            switch p.neighbourhood {
            case .knn(let kk): perPoint = 40 + 12 + 4 * k(p.normalK) + 32 * k(kk)
            case .voxel: perPoint = 40 + 12 + 4 * k(p.normalK) + 13 * 24
            }
            extra = 0
        case .vccs: perPoint = 40 + 400; extra = 0
        case .regionGrowing(let p): perPoint = 40 + 150 + 4 * k(max(p.k, p.normalK)); extra = 0
        }
        return add(add(mul(n, perPoint), extra), 32 << 20)
    }
}
