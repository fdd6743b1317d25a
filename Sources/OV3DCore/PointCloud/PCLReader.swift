import CPCLBridge

/// Loads PCD/PLY files through PCL's own readers (`pcl::PCDReader`, `pcl::PLYReader`). PCL's
/// parsers are not hardened against malicious files, so this is for cross-checking trusted files
/// (tests, tools); `CloudFile.read` is the reader for untrusted input.
public enum PCLReader {
    public static func read(_ path: String) throws -> LoadedCloud {
        var h: OpaquePointer?
        var err = [CChar](repeating: 0, count: 512)
        try bridgeCheck(ov3d_pcl_load(path, &h, &err, err.count), err)
        guard let h else { throw OV3DError.internal("PCL loader returned no cloud") }
        defer { ov3d_pcl_cloud_free(h) }
        let n = ov3d_pcl_cloud_count(h)
        var c = PointCloud()
        func copy<T>(_ p: UnsafePointer<T>?, _ k: Int) -> [T] {
            guard let p else { return [] }
            return Array(UnsafeBufferPointer(start: p, count: k))
        }
        c.positions = copy(ov3d_pcl_cloud_xyz(h), 3 * n)
        c.colors = copy(ov3d_pcl_cloud_rgb(h), 3 * n)
        c.normals = copy(ov3d_pcl_cloud_normals(h), 3 * n)
        c.intensity = copy(ov3d_pcl_cloud_intensity(h), n)
        c.labels = copy(ov3d_pcl_cloud_labels(h), n)
        let w = Int(ov3d_pcl_cloud_width(h)), ht = Int(ov3d_pcl_cloud_height(h))
        if ht > 1 { c.width = w; c.height = ht }
        let fields = String(cString: ov3d_pcl_cloud_fields(h)).split(separator: " ").map(String.init)
        return LoadedCloud(cloud: c, fields: fields, format: path.lowercased().hasSuffix(".ply") ? .plyBinaryLE : .pcdBinary)
    }
}
