import CPCLBridge

/// Superpoints through PCL: supervoxels (VCCS, `pcl::SupervoxelClustering`) and region growing
/// on normals (`pcl::RegionGrowing`), parameters exposed as PCL names them.
public enum PCLSegmentation {
    public struct VCCSParams: Sendable, Equatable {
        public var voxelResolution: Float = 0.05
        public var seedResolution: Float = 0.25
        public var colorImportance: Float = 0.2
        public var spatialImportance: Float = 0.4
        public var normalImportance: Float = 1.0
        public var useSingleCameraTransform: Bool = false
        public init() {}
    }

    public struct RegionGrowingParams: Sendable, Equatable {
        /// Neighbours used by region growing.
        public var k: Int = 30
        /// Neighbours for normal estimation (when the cloud has none).
        public var normalK: Int = 30
        public var minClusterSize: Int = 50
        public var maxClusterSize: Int = 1_000_000
        /// Smoothness threshold in degrees.
        public var smoothnessDegrees: Float = 3.0
        /// Curvature threshold (applied when curvature is known, i.e. normals were estimated).
        public var curvatureThreshold: Float = 1.0
        public init() {}
    }

    /// The number of points of a cloud PCL may see: finite, at least one.
    private static func pointCount(_ cloud: PointCloud, _ method: String) throws -> Int {
        try cloud.validate(finite: true)
        try require(cloud.count > 0, "\(method): empty cloud")
        return cloud.count
    }

    public static func supervoxels(_ cloud: PointCloud, params p: VCCSParams) throws -> Superpoints {
        let n = try pointCount(cloud, "vccs")
        for v in [p.voxelResolution, p.seedResolution, p.colorImportance, p.spatialImportance, p.normalImportance] {
            try require(v.isFinite && v >= 0, "vccs: parameters must be finite and >= 0")
        }
        try require(p.voxelResolution > 0 && p.seedResolution >= p.voxelResolution, "vccs: need 0 < voxel resolution <= seed resolution")
        // Extent, magnitude and single-camera (z > 0) limits of PCL's octrees are checked by
        // the bridge (checkOctreeGeometry in bridge_seg.cpp), on exactly the floats PCL sees.
        var labels = [Int32](repeating: 0, count: n)
        var err = [CChar](repeating: 0, count: 512)
        let normals = cloud.finiteNormals ?? []
        let r = cloud.positions.withUnsafeBufferPointer { xyz in
            cloud.colors.withUnsafeBufferPointer { rgb in
                normals.withUnsafeBufferPointer { nrm in
                    labels.withUnsafeMutableBufferPointer { out in
                        ov3d_pcl_supervoxels(n, xyz.baseAddress, cloud.hasColors ? rgb.baseAddress : nil,
                                             normals.isEmpty ? nil : nrm.baseAddress,
                                             p.voxelResolution, p.seedResolution, p.colorImportance,
                                             p.spatialImportance, p.normalImportance,
                                             p.useSingleCameraTransform ? 1 : 0, out.baseAddress, &err, err.count)
                    }
                }
            }
        }
        try bridgeCheck(r, err)
        return Superpoints.dense(labels, unassigned: 0)
    }

    public static func regionGrowing(_ cloud: PointCloud, params p: RegionGrowingParams) throws -> Superpoints {
        let n = try pointCount(cloud, "region growing")
        try require(p.k >= 1 && p.k <= 1024 && p.normalK >= 3 && p.normalK <= 1024, "region growing: k out of range")
        try require(p.minClusterSize >= 1 && p.maxClusterSize >= p.minClusterSize, "region growing: bad cluster sizes")
        try require(p.smoothnessDegrees.isFinite && p.curvatureThreshold.isFinite, "region growing: thresholds must be finite")
        var normals: [Float], curvature: [Float]?
        if let given = cloud.finiteNormals {
            normals = given; curvature = nil
        } else {
            let e = try PointNormals.estimate(cloud.positions, k: min(p.normalK, max(3, n)))
            normals = e.normals; curvature = e.curvature
        }
        var labels = [Int32](repeating: -1, count: n)
        var err = [CChar](repeating: 0, count: 512)
        let smooth = p.smoothnessDegrees * .pi / 180
        let curv = curvature ?? []
        let r = cloud.positions.withUnsafeBufferPointer { xyz in
            normals.withUnsafeBufferPointer { nrm in
                curv.withUnsafeBufferPointer { cv in
                    labels.withUnsafeMutableBufferPointer { out in
                        ov3d_pcl_region_growing(n, xyz.baseAddress, nrm.baseAddress, Int32(min(p.k, 1024)),
                                                Int32(clamping: p.minClusterSize), Int32(clamping: p.maxClusterSize),
                                                smooth, p.curvatureThreshold, curvature == nil ? nil : cv.baseAddress,
                                                out.baseAddress, &err, err.count)
                    }
                }
            }
        }
        try bridgeCheck(r, err)
        return Superpoints.dense(labels, unassigned: -1)
    }
}
