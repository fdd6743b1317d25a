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
    /// Computes superpoints of a cloud (with `faces` for the mesh method).
    public static func compute(_ cloud: PointCloud, faces: [Int32] = [], method: SuperpointMethod) throws -> Superpoints {
        try cloud.validate()
        try require(cloud.count > 0, "superpoints: empty cloud")
        try require(cloud.count <= Int(Int32.max), "superpoints: more than 2^31-1 points")
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
