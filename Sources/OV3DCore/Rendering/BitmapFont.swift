/// A compact built-in 5×7 bitmap font for printable ASCII (32...126), drawn by the renderer's
/// legend and colour bar. Other characters draw as `?`.
///
/// Each glyph is 35 bits: row `r` (0 = top) occupies bits `5r ..< 5r + 5`, the leftmost pixel
/// in the highest of the five bits.
public enum BitmapFont {
    /// Glyph cell width and height in font pixels (the glyph is 5×7; one column of spacing).
    public static let glyphWidth = 5, glyphHeight = 7, advance = 6

    /// Whether the pixel at column `x` (0..<5), row `y` (0..<7) of `c`'s glyph is set.
    public static func pixel(_ c: Character, x: Int, y: Int) -> Bool {
        guard (0..<glyphWidth).contains(x), (0..<glyphHeight).contains(y) else { return false }
        return glyph(c) >> UInt64(y * 5 + (4 - x)) & 1 == 1
    }

    /// The 35-bit glyph of `c` (`?` for characters outside printable ASCII).
    static func glyph(_ c: Character) -> UInt64 {
        if let a = c.asciiValue, a >= 32, a <= 126 { return glyphs[Int(a) - 32] }
        return glyphs[Int(UInt8(ascii: "?")) - 32]
    }

    /// Width in font pixels of `text` drawn on one line.
    public static func width(of text: String) -> Int {
        let n = text.count
        return n == 0 ? 0 : n * advance - 1
    }

    static let glyphs: [UInt64] = [
        0x000000000, 0x100421084, 0x00000294A, 0x295F57D4A, 0x13C5751E4, 0x0E6820B38,
        0x36554524C, 0x000002084, 0x088842082, 0x208210888, 0x009575480, 0x0084F9080,
        0x208C00000, 0x0000F8000, 0x318000000, 0x020820820, 0x3A39ACE2E, 0x388421184,
        0x7D041062E, 0x3A211105F, 0x085F928C2, 0x3A210FA1F, 0x3A31F4106, 0x21082083F,
        0x3A317462E, 0x30417C62E, 0x018C03180, 0x208C03180, 0x088882082, 0x001F07C00,
        0x208208888, 0x10041062E, 0x3AB56862E, 0x4631FC62E, 0x7A31F463E, 0x3A308422E,
        0x72518C65C, 0x7E10F421F, 0x4210F421F, 0x3E31BC22E, 0x4631FC631, 0x38842108E,
        0x324210847, 0x4654C5251, 0x7E1084210, 0x4631AD771, 0x4633AE631, 0x3A318C62E,
        0x4210F463E, 0x36558C62E, 0x4654F463E, 0x78217420F, 0x10842109F, 0x3A318C631,
        0x11518C631, 0x2AB5AC631, 0x462A22A31, 0x108422A31, 0x7E082083F, 0x39084210E,
        0x002222200, 0x38421084E, 0x000004544, 0x7C0000000, 0x000000888, 0x3E2F0B800,
        0x7A31CDA10, 0x3A3083800, 0x3E319B421, 0x3A1F8B800, 0x2108E2126, 0x382F8C5E0,
        0x4631CDA10, 0x388423004, 0x324211802, 0x4A98A4A10, 0x38842108C, 0x4635AE800,
        0x4631CD800, 0x3A318B800, 0x421E8F800, 0x042F9B400, 0x4210CD800, 0x782E83800,
        0x192847108, 0x36718C400, 0x11518C400, 0x2AB58C400, 0x454454400, 0x382F8C400,
        0x7D0417C00, 0x088441082, 0x108421084, 0x208411088, 0x0002AA000,
    ]
}
