import CSupport
import OV3DCore

// ov3d.h section "Core": the borrowed points view (ov3d_points).

@_cdecl("ov3d_points_init")
public func ov3d_points_init(_ xyz: UnsafePointer<Float>?, _ count: Int, _ stride: Int) -> ov3d_points {
    var v = ov3d_points()
    v.struct_size = UInt32(MemoryLayout<ov3d_points>.size)
    v.color_order = UInt32(OV3D_COLOR_RGB.rawValue)
    v.count = count
    v.xyz = xyz
    v.xyz_stride = stride
    return v
}

/// Largest point count accepted in one call (2^31 - 1).
let maxPointCount = Int(Int32.max)

/// Copies a caller's strided points view into a `PointCloud`, validating every field:
/// struct size, NULLs, strides, counts, and (with `finite`) NaN/Inf coordinates.
func readPoints(_ p: UnsafePointer<ov3d_points>?, allowEmpty: Bool = false, finite: Bool = true,
                name: String = "points") throws -> PointCloud {
    guard let p else { throw OV3DError.invalidArgument("\(name) is NULL") }
    let size = Int(UnsafeRawPointer(p).loadUnaligned(as: UInt32.self))
    guard size == MemoryLayout<ov3d_points>.size else {
        throw OV3DError.invalidArgument("\(name).struct_size is \(size), expected \(MemoryLayout<ov3d_points>.size) (use ov3d_points_init)")
    }
    let v = p.pointee
    let n = v.count
    try require(n >= 0 && n <= maxPointCount, "\(name).count \(n) is out of range")
    try require(allowEmpty || n > 0, "\(name) is empty (count = 0)")
    guard n > 0 else { return PointCloud() }
    guard let xyz = v.xyz else { throw OV3DError.invalidArgument("\(name).xyz is NULL") }
    func stride(_ s: Int, _ minimum: Int, _ field: String) throws -> Int {
        if s == 0 { return minimum }
        try require(s >= minimum && s <= (1 << 20), "\(name).\(field) stride \(s) must be 0 or in \(minimum)...\(1 << 20) bytes")
        return s
    }
    let xs = try stride(v.xyz_stride, 12, "xyz")
    var cloud = PointCloud()
    cloud.positions = [Float](repeating: 0, count: 3 * n)
    let base = UnsafeRawPointer(xyz)
    for i in 0..<n {
        for c in 0..<3 {
            let f = base.loadUnaligned(fromByteOffset: i * xs + 4 * c, as: Float.self)
            if finite && !f.isFinite {
                throw OV3DError.invalidArgument("\(name): point \(i) has a non-finite coordinate (\(f))")
            }
            cloud.positions[3 * i + c] = f
        }
    }
    if let rgb = v.rgb {
        let rs = try stride(v.rgb_stride, 3, "rgb")
        try require(v.color_order <= 1, "\(name).color_order \(v.color_order) is not an ov3d_color_order")
        let bgr = v.color_order == UInt32(OV3D_COLOR_BGR.rawValue)
        cloud.colors = [UInt8](repeating: 0, count: 3 * n)
        let b = UnsafeRawPointer(rgb)
        for i in 0..<n {
            for c in 0..<3 {
                cloud.colors[3 * i + (bgr ? 2 - c : c)] = b.load(fromByteOffset: i * rs + c, as: UInt8.self)
            }
        }
    }
    if let normals = v.normals {
        let ns = try stride(v.normals_stride, 12, "normals")
        cloud.normals = [Float](repeating: 0, count: 3 * n)
        let b = UnsafeRawPointer(normals)
        for i in 0..<n { for c in 0..<3 { cloud.normals[3 * i + c] = b.loadUnaligned(fromByteOffset: i * ns + 4 * c, as: Float.self) } }
    }
    if let intensity = v.intensity {
        let s = try stride(v.intensity_stride, 4, "intensity")
        let b = UnsafeRawPointer(intensity)
        cloud.intensity = (0..<n).map { b.loadUnaligned(fromByteOffset: $0 * s, as: Float.self) }
    }
    return cloud
}
