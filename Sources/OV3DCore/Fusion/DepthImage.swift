import CImageIO

/// 16-bit depth images (PNG) through libpng; hostile input is reported, never trusted.
public enum DepthImage {
    /// Largest accepted image (pixels).
    public static let maxPixels = 1 << 26

    /// Decodes a single-channel 16-bit PNG to `(width, height, values)` in raw units.
    public static func decodePNG(_ bytes: [UInt8], name: String = "depth") throws -> (width: Int, height: Int, values: [UInt16]) {
        var info = ov3d_png_info()
        var err = [CChar](repeating: 0, count: 256)
        let ok = bytes.withUnsafeBufferPointer { b in
            ov3d_png_read_info(b.baseAddress, b.count, &info, &err, err.count)
        }
        guard ok == 0 else { throw OV3DError.format("\(name): \(String(cString: err))") }
        try requireFormat(info.channels == 1 && info.bit_depth == 16,
                          "\(name): expected a 16-bit single-channel depth PNG, got \(info.channels) channel(s) of \(info.bit_depth) bits")
        let w = Int(info.width), h = Int(info.height)
        try requireFormat(w > 0 && h > 0, "\(name): size \(w)×\(h) is out of range")
        let pixels = try CheckedSize.product(w, h, cap: maxPixels, "\(name): image of \(w)×\(h) pixels")
        var values = try Memory.array(repeating: UInt16(0), count: pixels, what: "\(name): \(w)×\(h) depth image")
        let rc = bytes.withUnsafeBufferPointer { b in
            values.withUnsafeMutableBytes { out in
                ov3d_png_decode(b.baseAddress, b.count, out.baseAddress?.assumingMemoryBound(to: UInt8.self), out.count,
                                UInt64(maxPixels), &info, &err, err.count)
            }
        }
        guard rc == 0 else { throw OV3DError.format("\(name): \(String(cString: err))") }
        try requireFormat(Int(info.width) == w && Int(info.height) == h && info.channels == 1 && info.bit_depth == 16,
                          "\(name): header changed while decoding")
        return (w, h, values)
    }

    public static func readPNG(path: String) throws -> (width: Int, height: Int, values: [UInt16]) {
        try decodePNG(try FileIO.read(path, maxBytes: 1 << 28), name: path)
    }
}
