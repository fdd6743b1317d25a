/// The key of a labelled picture: one colour swatch and name per label, top to bottom.
public struct Legend: Sendable, Equatable {
    /// One row of the key.
    public struct Entry: Sendable, Equatable {
        public var color: RGB
        public var text: String
        public init(color: RGB, text: String) { self.color = color; self.text = text }
    }

    public var title: String?
    public var entries: [Entry]
    /// Font pixel size (each glyph pixel is `scale × scale` picture pixels).
    public var scale: Int

    public init(title: String? = nil, entries: [Entry], scale: Int = 2) {
        self.title = title
        self.entries = entries
        self.scale = max(1, scale)
    }

    var rowHeight: Int { (BitmapFont.glyphHeight + 5) * scale }
    var swatch: Int { (BitmapFont.glyphHeight + 1) * scale }
    var padding: Int { 4 * scale }

    /// Width and height the key needs in picture pixels.
    public var size: (width: Int, height: Int) {
        var w = 0
        for e in entries { w = max(w, swatch + 3 * scale + BitmapFont.width(of: e.text) * scale) }
        if let title { w = max(w, BitmapFont.width(of: title) * scale) }
        let rows = entries.count + (title == nil ? 0 : 1)
        return (w + 2 * padding, rows * rowHeight + 2 * padding - 4 * scale)
    }

    /// Draws the key with its top-left corner at (x, y) on a light panel.
    public func draw(into image: inout RasterImage, x: Int, y: Int) {
        let (w, h) = size
        image.fillRect(x: x, y: y, width: w, height: h, RGB(255, 255, 255), alpha: 0.85)
        image.strokeRect(x: x, y: y, width: w, height: h, RGB(190, 190, 190))
        var cy = y + padding
        if let title {
            image.drawText(title, x: x + padding, y: cy, scale: scale, RGB(20, 20, 20))
            cy += rowHeight
        }
        for e in entries {
            image.fillRect(x: x + padding, y: cy, width: swatch, height: swatch, e.color)
            image.strokeRect(x: x + padding, y: cy, width: swatch, height: swatch, RGB(60, 60, 60))
            image.drawText(e.text, x: x + padding + swatch + 3 * scale, y: cy + scale / 2, scale: scale, RGB(30, 30, 30))
            cy += rowHeight
        }
    }
}
