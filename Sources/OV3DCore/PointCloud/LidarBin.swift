/// Raw LiDAR sweeps: little-endian float32 records of 4 (KITTI / SemanticKITTI: x y z remission)
/// or 5 (nuScenes `.pcd.bin`: x y z intensity ring) values per point. The 4th column becomes
/// `intensity`; further columns are dropped.
public enum LidarBin {
    public static func decode(_ b: UnsafeRawBufferPointer, columns: Int) throws -> LoadedCloud {
        try require(columns >= 4 && columns <= 16, "bin: \(columns) columns per point (expected 4 or 5)")
        let rec = 4 * columns
        try requireFormat(b.count % rec == 0, "bin: size \(b.count) is not a multiple of \(rec) bytes (\(columns) float32 per point)")
        let n = b.count / rec
        var c = PointCloud()
        c.positions = [Float](repeating: 0, count: 3 * n)
        c.intensity = [Float](repeating: 0, count: n)
        for i in 0..<n {
            for k in 0..<4 {
                let v = Float(bitPattern: b.loadUnaligned(fromByteOffset: i * rec + 4 * k, as: UInt32.self).littleEndian)
                if k < 3 { c.positions[3 * i + k] = v } else { c.intensity[i] = v }
            }
        }
        let names = columns == 5 ? ["x", "y", "z", "intensity", "ring"] : ["x", "y", "z", "intensity"] + (columns > 4 ? (4..<columns).map { "c\($0)" } : [])
        return LoadedCloud(cloud: c, fields: names, format: .lidarBin)
    }

    /// Writes 4 float32 per point (x y z intensity; 0 without intensity).
    public static func write(_ c: PointCloud, to path: String) throws {
        var out = [UInt32]()
        out.reserveCapacity(4 * c.count)
        for i in 0..<c.count {
            for k in 0..<3 { out.append(c.positions[3 * i + k].bitPattern.littleEndian) }
            out.append((c.intensity.isEmpty ? 0 : c.intensity[i]).bitPattern.littleEndian)
        }
        try out.withUnsafeBytes { try FileIO.write(path, $0) }
    }
}
