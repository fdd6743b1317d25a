import CImageIO

/// Writing PNG images (8-bit, 1–4 channels) through libpng. Reading lives in `DepthImage`.
public enum PNGFile {
    /// Writes `pixels` (`height × width × channels` bytes, row-major) to `path`.
    public static func write(_ pixels: [UInt8], width: Int, height: Int, channels: Int, to path: String) throws {
        try require(width > 0 && height > 0 && width <= 1 << 16 && height <= 1 << 16, "PNG size \(width)×\(height) out of range")
        try require((1...4).contains(channels), "PNG channels must be 1...4")
        try require(pixels.count == width * height * channels, "PNG: \(pixels.count) bytes for \(width)×\(height)×\(channels)")
        var err = [CChar](repeating: 0, count: 256)
        let rc = pixels.withUnsafeBufferPointer { p in
            ov3d_png_write_file(path, p.baseAddress, UInt32(width), UInt32(height), UInt32(channels), 8, &err, err.count)
        }
        if rc != 0 {
            throw OV3DError.io("cannot write \(path): " + err.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
    }

    /// Writes a single-channel 16-bit PNG (depth in millimetres, label ids) to `path`.
    public static func write16(_ pixels: [UInt16], width: Int, height: Int, to path: String) throws {
        try require(width > 0 && height > 0 && width <= 1 << 16 && height <= 1 << 16, "PNG size \(width)×\(height) out of range")
        try require(pixels.count == width * height, "PNG: \(pixels.count) values for \(width)×\(height)")
        var err = [CChar](repeating: 0, count: 256)
        let rc = pixels.withUnsafeBytes { p in
            ov3d_png_write_file(path, p.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(width), UInt32(height), 1, 16, &err, err.count)
        }
        if rc != 0 {
            throw OV3DError.io("cannot write \(path): " + err.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
    }
}
