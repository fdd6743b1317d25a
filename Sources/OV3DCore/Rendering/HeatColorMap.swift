/// The colour map of heat-map pictures: dark blue (low) through cyan, green and yellow to dark
/// red (high), interpolated linearly between nine anchors (a rainbow-like map with darkened
/// ends, so both extremes stay readable on a light background).
public enum HeatColorMap {
    static let anchors: [SIMD3<Float>] = [
        SIMD3(48, 18, 59), SIMD3(65, 105, 225), SIMD3(35, 175, 235), SIMD3(30, 225, 170),
        SIMD3(130, 245, 80), SIMD3(220, 225, 45), SIMD3(250, 150, 35), SIMD3(215, 55, 15),
        SIMD3(125, 8, 5),
    ]

    /// The colour of `t` in 0...1 (clamped; NaN gives the low end).
    public static func color(_ t: Float) -> RGB {
        let u = t.isNaN ? 0 : max(0, min(1, t)) * Float(anchors.count - 1)
        let i = min(anchors.count - 2, Int(u.rounded(.down)))
        let f = u - Float(i)
        let c = anchors[i] * (1 - f) + anchors[i + 1] * f
        return RGB(UInt8(c.x.rounded()), UInt8(c.y.rounded()), UInt8(c.z.rounded()))
    }

    /// The colour of `value` within `range` (low end → 0, high end → 1).
    public static func color(_ value: Float, in range: ClosedRange<Float>) -> RGB {
        let span = range.upperBound - range.lowerBound
        return color(span > 0 ? (value - range.lowerBound) / span : 0.5)
    }
}
