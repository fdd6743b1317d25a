import CSupport
import OV3DCore

// ov3d.h section "Point clouds": superpoints and superpoint operations.

@_cdecl("ov3d_superpoint_default_params")
public func ov3d_superpoint_default_params() -> ov3d_superpoint_params {
    var p = ov3d_superpoint_params()
    p.struct_size = UInt32(MemoryLayout<ov3d_superpoint_params>.size)
    p.method = 0
    p.k_thresh = 0.01
    p.seg_min_verts = 20
    p.graph_k = 10
    p.graph_voxel = 0.05
    p.normal_k = 16
    let v = PCLSegmentation.VCCSParams()
    p.voxel_resolution = v.voxelResolution
    p.seed_resolution = v.seedResolution
    p.color_importance = v.colorImportance
    p.spatial_importance = v.spatialImportance
    p.normal_importance = v.normalImportance
    p.use_single_camera_transform = 0
    let r = PCLSegmentation.RegionGrowingParams()
    p.rg_k = Int32(r.k)
    p.rg_min_cluster_size = Int32(r.minClusterSize)
    p.rg_max_cluster_size = Int32(r.maxClusterSize)
    p.rg_smoothness_deg = r.smoothnessDegrees
    p.rg_curvature_threshold = r.curvatureThreshold
    return p
}

func superpointMethod(_ p: ov3d_superpoint_params) throws -> SuperpointMethod {
    func finite(_ v: Float, _ name: String) throws { try require(v.isFinite, "params.\(name) is not finite") }
    try finite(p.k_thresh, "k_thresh")
    switch p.method {
    case 0:
        return .mesh(.init(kThresh: p.k_thresh, segMinVerts: Int(p.seg_min_verts)))
    case 1, 2:
        var g = GraphSegmentation.Params()
        g.kThresh = p.k_thresh
        g.segMinVerts = Int(p.seg_min_verts)
        g.normalK = Int(p.normal_k)
        try require(g.normalK >= 3 && g.normalK <= 1024, "params.normal_k must be in 3...1024")
        try finite(p.graph_voxel, "graph_voxel")
        g.neighbourhood = p.method == 1 ? .knn(Int(p.graph_k)) : .voxel(p.graph_voxel)
        return .graph(g)
    case 3:
        var v = PCLSegmentation.VCCSParams()
        v.voxelResolution = p.voxel_resolution
        v.seedResolution = p.seed_resolution
        v.colorImportance = p.color_importance
        v.spatialImportance = p.spatial_importance
        v.normalImportance = p.normal_importance
        v.useSingleCameraTransform = p.use_single_camera_transform != 0
        return .vccs(v)
    case 4:
        var r = PCLSegmentation.RegionGrowingParams()
        r.k = Int(p.rg_k)
        r.normalK = Int(p.normal_k)
        r.minClusterSize = Int(p.rg_min_cluster_size)
        r.maxClusterSize = Int(p.rg_max_cluster_size)
        r.smoothnessDegrees = p.rg_smoothness_deg
        r.curvatureThreshold = p.rg_curvature_threshold
        return .regionGrowing(r)
    default:
        throw OV3DError.invalidArgument("params.method \(p.method) is not an ov3d_superpoint_method")
    }
}

@_cdecl("ov3d_superpoints_compute")
public func ov3d_superpoints_compute(_ cloud: OpaquePointer?, _ params: UnsafePointer<ov3d_superpoint_params>?,
                                     _ ids: UnsafeMutablePointer<Int32>?, _ capacity: Int,
                                     _ nSegments: UnsafeMutablePointer<Int32>?) -> Int32 {
    capi {
        let box = try borrowCloud(cloud)
        let p = try readParams(UnsafeRawPointer(params), defaults: ov3d_superpoint_default_params(),
                               minSize: MemoryLayout<ov3d_superpoint_params>.size, name: "params")
        let n = box.loaded.cloud.count
        let ids = try nonNull(ids, "ids_out")
        try require(capacity >= n, "ids_capacity \(capacity) < point count \(n)")
        var c = box.loaded.cloud
        c.width = 0; c.height = 0
        let sp = try Superpoints.compute(c, faces: box.loaded.faces, method: try superpointMethod(p))
        for i in 0..<n { ids[i] = sp.ids[i] }
        nSegments?.pointee = Int32(sp.count)
    }
}

/// Validates the ids array shared by the superpoint operations and wraps it.
func readSuperpoints(_ ids: UnsafePointer<Int32>?, _ n: Int, _ k: Int32) throws -> Superpoints {
    try require(n > 0 && n <= maxPointCount, "n_points \(n) is out of range")
    try require(k >= 0 && Int(k) <= n, "n_segments \(k) must be in 0...n_points (\(n))")
    let ids = try nonNull(ids, "ids")
    let s = Superpoints(ids: Array(UnsafeBufferPointer(start: ids, count: n)), count: Int(k))
    for (i, g) in s.ids.enumerated() {
        try require(g >= -1 && g < k, "ids[\(i)] = \(g) is outside -1..<\(k)")
    }
    return s
}

func checkedProduct(_ a: Int, _ b: Int, _ what: String) throws -> Int {
    let (m, o) = a.multipliedReportingOverflow(by: b)
    try require(!o && m <= (1 << 34), "\(what) size overflows")
    return m
}

@_cdecl("ov3d_superpoints_mean_pool")
public func ov3d_superpoints_mean_pool(_ ids: UnsafePointer<Int32>?, _ n: Int, _ k: Int32, _ features: UnsafePointer<Float>?,
                                       _ dim: Int, _ out: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    capi {
        let s = try readSuperpoints(ids, n, k)
        try require(dim > 0 && dim <= 1 << 16, "dim \(dim) must be in 1...65536")
        let nf = try checkedProduct(n, dim, "features")
        let no = try checkedProduct(Int(k), dim, "out")
        let features = try nonNull(features, "features")
        try requireBuffer(out, count: no, name: "out")
        try require(capacity >= no, "out_capacity \(capacity) < n_segments × dim \(no)")
        let f = Array(UnsafeBufferPointer(start: features, count: nf))
        let r = try SuperpointOps.meanPool(f, dim: dim, superpoints: s)
        for i in 0..<no { out![i] = r[i] }
    }
}

@_cdecl("ov3d_superpoints_vote")
public func ov3d_superpoints_vote(_ ids: UnsafePointer<Int32>?, _ n: Int, _ k: Int32, _ labels: UnsafePointer<Int32>?,
                                  _ scores: UnsafePointer<Float>?, _ mode: Int32, _ segLabels: UnsafeMutablePointer<Int32>?,
                                  _ segScores: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    capi {
        let s = try readSuperpoints(ids, n, k)
        guard let m = SuperpointOps.VoteMode(rawValue: mode) else { throw OV3DError.invalidArgument("mode \(mode) must be 0 or 1") }
        let labels = try nonNull(labels, "labels")
        try requireBuffer(segLabels, count: Int(k), name: "seg_labels_out")
        try require(capacity >= Int(k), "out_capacity \(capacity) < n_segments \(k)")
        let l = Array(UnsafeBufferPointer(start: labels, count: n))
        let sc = scores.map { Array(UnsafeBufferPointer(start: $0, count: n)) }
        let r = try SuperpointOps.vote(labels: l, scores: sc, superpoints: s, mode: m)
        for i in 0..<Int(k) {
            segLabels![i] = r.labels[i]
            segScores?[i] = r.scores[i]
        }
    }
}

@_cdecl("ov3d_superpoints_broadcast")
public func ov3d_superpoints_broadcast(_ ids: UnsafePointer<Int32>?, _ n: Int, _ k: Int32, _ values: UnsafePointer<Float>?,
                                       _ dim: Int, _ fill: Float, _ out: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    capi {
        let s = try readSuperpoints(ids, n, k)
        try require(dim > 0 && dim <= 1 << 16, "dim \(dim) must be in 1...65536")
        let nv = try checkedProduct(Int(k), dim, "seg_values")
        let no = try checkedProduct(n, dim, "out")
        try requireBuffer(values, count: nv, name: "seg_values")
        let out = try nonNull(out, "out")
        try require(capacity >= no, "out_capacity \(capacity) < n_points × dim \(no)")
        let v = values.map { Array(UnsafeBufferPointer(start: $0, count: nv)) } ?? []
        let r = try SuperpointOps.broadcast(v, dim: dim, superpoints: s, fill: fill)
        for i in 0..<no { out[i] = r[i] }
    }
}

@_cdecl("ov3d_superpoints_broadcast_labels")
public func ov3d_superpoints_broadcast_labels(_ ids: UnsafePointer<Int32>?, _ n: Int, _ k: Int32, _ values: UnsafePointer<Int32>?,
                                              _ fill: Int32, _ out: UnsafeMutablePointer<Int32>?, _ capacity: Int) -> Int32 {
    capi {
        let s = try readSuperpoints(ids, n, k)
        try requireBuffer(values, count: Int(k), name: "seg_labels")
        let out = try nonNull(out, "out")
        try require(capacity >= n, "out_capacity \(capacity) < n_points \(n)")
        let v = values.map { Array(UnsafeBufferPointer(start: $0, count: Int(k))) } ?? []
        let r = try SuperpointOps.broadcast(v, dim: 1, superpoints: s, fill: fill)
        for i in 0..<n { out[i] = r[i] }
    }
}
