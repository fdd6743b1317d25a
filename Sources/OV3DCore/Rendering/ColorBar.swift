/// The key of a heat-map picture: a vertical bar of `HeatColorMap` from the range's low end
/// (bottom) to its high end (top), with the values at both ends and the middle.
public struct ColorBar: Sendable, Equatable {
    public var title: String?
    public var range: ClosedRange<Float>
    public var scale: Int
    /// Bar height in picture pixels.
    public var barHeight: Int

    public init(title: String? = nil, range: ClosedRange<Float>, scale: Int = 2, barHeight: Int = 300) {
        self.title = title
        self.range = range
        self.scale = max(1, scale)
        self.barHeight = max(16, barHeight)
    }

    var barWidth: Int { 12 * scale }
    var padding: Int { 4 * scale }
    var titleHeight: Int { title == nil ? 0 : (BitmapFont.glyphHeight + 6) * scale }

    /// The three tick texts (high, middle, low).
    var ticks: [String] {
        let lo = range.lowerBound, hi = range.upperBound
        let d = DecimalText.decimals(forStep: (hi - lo) / 10)
        return [hi, (lo + hi) / 2, lo].map { DecimalText.fixed($0, decimals: d) }
    }

    /// Width and height needed in picture pixels.
    public var size: (width: Int, height: Int) {
        let tickW = ticks.map { BitmapFont.width(of: $0) }.max() ?? 0
        var w = barWidth + 4 * scale + tickW * scale
        if let title { w = max(w, BitmapFont.width(of: title) * scale) }
        return (w + 2 * padding, titleHeight + barHeight + BitmapFont.glyphHeight * scale + 2 * padding)
    }

    /// Draws the bar with its top-left corner at (x, y) on a light panel.
    public func draw(into image: inout RasterImage, x: Int, y: Int) {
        let (w, h) = size
        image.fillRect(x: x, y: y, width: w, height: h, RGB(255, 255, 255), alpha: 0.85)
        image.strokeRect(x: x, y: y, width: w, height: h, RGB(190, 190, 190))
        if let title { image.drawText(title, x: x + padding, y: y + padding, scale: scale, RGB(20, 20, 20)) }
        let top = y + padding + titleHeight + BitmapFont.glyphHeight * scale / 2
        let bx = x + padding
        for r in 0..<barHeight {
            let t = 1 - Float(r) / Float(barHeight - 1)
            image.fillRect(x: bx, y: top + r, width: barWidth, height: 1, HeatColorMap.color(t))
        }
        image.strokeRect(x: bx, y: top, width: barWidth, height: barHeight, RGB(60, 60, 60))
        let t = ticks
        let half = BitmapFont.glyphHeight * scale / 2
        for (k, text) in t.enumerated() {
            let ty = top + (barHeight - 1) * k / 2 - half
            image.fillRect(x: bx + barWidth, y: top + (barHeight - 1) * k / 2, width: 2 * scale, height: max(1, scale / 2), RGB(60, 60, 60))
            image.drawText(text, x: bx + barWidth + 4 * scale, y: ty, scale: scale, RGB(30, 30, 30))
        }
    }
}
