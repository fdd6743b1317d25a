/// Point clouds as NumPy arrays: shape (N, C) with C >= 3, any numeric dtype. Columns 0-2 are
/// x y z; with C >= 6 columns 3-5 are r g b (0-255, as votenet's ScanNet `*_vert.npy`).
/// Writing produces float32 (N, 3) or (N, 6) arrays.
public enum NPYCloud {
    /// Most columns a cloud array may have (x y z r g b and extra attributes).
    static let maxColumns = 4096

    public static func decode(_ b: UnsafeRawBufferPointer) throws -> LoadedCloud {
        let t = try NPY.decode(bytes: b)
        try requireFormat(t.rank == 2 && t.shape[1] >= 3, "npy: expected shape (N, >=3), got \(t.shape)")
        let n = t.shape[0], cols = t.shape[1]
        try requireFormat(n <= Int(Int32.max), "npy: \(n) points is too many")
        try requireFormat(cols <= maxColumns, "npy: \(cols) columns per point (at most \(maxColumns) are read as a cloud)")
        let v = t.floats()
        try requireFormat(v.count == n * cols, "npy: dtype \(t.dtype.rawValue) cannot be read as numbers")
        var c = PointCloud()
        c.positions = [Float](repeating: 0, count: 3 * n)
        if cols >= 6 { c.colors = [UInt8](repeating: 0, count: 3 * n) }
        for i in 0..<n {
            for k in 0..<3 { c.positions[3 * i + k] = v[i * cols + k] }
            if cols >= 6 {
                for k in 0..<3 {
                    let x = v[i * cols + 3 + k]
                    c.colors[3 * i + k] = x.isFinite ? UInt8(max(0, min(255, x.rounded()))) : 0
                }
            }
        }
        var names = ["x", "y", "z"]
        if cols >= 6 { names += ["r", "g", "b"] }
        for k in names.count..<cols { names.append("c\(k)") }
        return LoadedCloud(cloud: c, fields: names, format: .npy)
    }

    public static func write(_ c: PointCloud, to path: String) throws {
        let cols = c.hasColors ? 6 : 3
        var v = [Float](repeating: 0, count: cols * c.count)
        for i in 0..<c.count {
            for k in 0..<3 { v[i * cols + k] = c.positions[3 * i + k] }
            if c.hasColors { for k in 0..<3 { v[i * cols + 3 + k] = Float(c.colors[3 * i + k]) } }
        }
        try NPY.write(v, shape: [c.count, cols], path: path)
    }
}
