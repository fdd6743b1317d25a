/// An 8-bit RGB picture in memory (row-major, top row first, 3 bytes per pixel) with the few
/// drawing operations the renderer's overlays need: filled rectangles, text in the built-in
/// bitmap font, and PNG output.
public struct RasterImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `height × width × 3` bytes.
    public var pixels: [UInt8]

    /// A picture filled with one colour. Sizes must be 1...16384.
    public init(width: Int, height: Int, fill: RGB = RGB(255, 255, 255)) throws {
        try require((1...16384).contains(width) && (1...16384).contains(height),
                    "image size \(width)×\(height) out of range (1...16384 per side)")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fillRect(x: 0, y: 0, width: width, height: height, fill)
    }

    /// The colour at (x, y); black outside the picture.
    public func pixel(x: Int, y: Int) -> RGB {
        guard x >= 0, y >= 0, x < width, y < height else { return RGB(0, 0, 0) }
        let o = (y * width + x) * 3
        return RGB(pixels[o], pixels[o + 1], pixels[o + 2])
    }

    /// Sets (x, y) to `c`, or blends `c` over it with `alpha` in 0...1; outside: nothing.
    public mutating func set(x: Int, y: Int, _ c: RGB, alpha: Float = 1) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let o = (y * width + x) * 3
        if alpha >= 1 {
            pixels[o] = c.r; pixels[o + 1] = c.g; pixels[o + 2] = c.b
        } else if alpha > 0 {
            let a = alpha, b = 1 - alpha
            pixels[o] = UInt8(Float(c.r) * a + Float(pixels[o]) * b)
            pixels[o + 1] = UInt8(Float(c.g) * a + Float(pixels[o + 1]) * b)
            pixels[o + 2] = UInt8(Float(c.b) * a + Float(pixels[o + 2]) * b)
        }
    }

    /// Fills the rectangle (clipped to the picture), optionally blended with `alpha`.
    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, _ c: RGB, alpha: Float = 1) {
        let x0 = max(0, x), y0 = max(0, y)
        let x1 = min(width, x &+ max(0, w)), y1 = min(height, y &+ max(0, h))
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 { for xx in x0..<x1 { set(x: xx, y: yy, c, alpha: alpha) } }
    }

    /// Draws a one-pixel rectangle outline.
    public mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int, _ c: RGB) {
        fillRect(x: x, y: y, width: w, height: 1, c)
        fillRect(x: x, y: y + h - 1, width: w, height: 1, c)
        fillRect(x: x, y: y, width: 1, height: h, c)
        fillRect(x: x + w - 1, y: y, width: 1, height: h, c)
    }

    /// Draws `text` with its top-left corner at (x, y), each font pixel `scale × scale` pixels.
    /// Returns the drawn width in pixels.
    @discardableResult
    public mutating func drawText(_ text: String, x: Int, y: Int, scale: Int = 2, _ c: RGB) -> Int {
        let s = max(1, scale)
        var cx = x
        for ch in text {
            for gy in 0..<BitmapFont.glyphHeight {
                for gx in 0..<BitmapFont.glyphWidth where BitmapFont.pixel(ch, x: gx, y: gy) {
                    fillRect(x: cx + gx * s, y: y + gy * s, width: s, height: s, c)
                }
            }
            cx += BitmapFont.advance * s
        }
        return BitmapFont.width(of: text) * s
    }

    /// Writes the picture as an 8-bit RGB PNG (libpng).
    public func writePNG(to path: String) throws {
        try PNGFile.write(pixels, width: width, height: height, channels: 3, to: path)
    }
}

/// An 8-bit sRGB colour.
public struct RGB: Sendable, Equatable, Hashable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }

    /// Each channel multiplied by `f` (clamped to 0...255).
    public func scaled(_ f: Float) -> RGB {
        func s(_ v: UInt8) -> UInt8 { UInt8(max(0, min(255, (Float(v) * f).rounded()))) }
        return RGB(s(r), s(g), s(b))
    }
}
