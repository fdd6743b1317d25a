/// How the renderer colours points.
public enum PointColoring: Sendable, Equatable {
    /// The cloud's own RGB (a neutral grey when it has none).
    case rgb
    /// The palette colour of each point's label (`LabelColors`, the colours `CloudFile.writeSegmented`
    /// gives; label −1 grey) and a legend naming the labels present: `names[label]`, or
    /// "label N" beyond `names`, "unlabelled" for −1. One label per point of the cloud.
    case labels([Int32], names: [String])
    /// A heat-map colour per point (`HeatColorMap`) and a colour bar titled `title`. `range`
    /// nil: the minimum...maximum of the finite scores. Non-finite scores (skipped points) are
    /// drawn grey. One score per point of the cloud.
    case scores([Float], range: ClosedRange<Float>? = nil, title: String? = nil)
}

/// Picture options of `SceneRenderer`.
public struct RenderOptions: Sendable, Equatable {
    /// Picture size in pixels (the key, when there is one, takes a panel on the right).
    public var width = 1280, height = 960
    public var viewpoint: Viewpoint = .auto
    public var fovYDegrees: Float = 50
    /// Multiplies the density-derived splat sizes.
    public var splatScale: Float = 1
    /// Screen-space shading from depth (outlines and surface shape).
    public var eyeDomeLighting = true
    /// The scene is drawn at this many times the picture size and averaged down (1...3):
    /// smooth splat edges.
    public var supersampling = 2
    /// A line of text drawn at the top left.
    public var title: String?
    public init() {}
}

/// A software point renderer: perspective camera framed automatically (or from a chosen side),
/// density-sized round splats with a z-buffer, eye-dome lighting, and a legend (labels) or a
/// colour bar (scores). Deterministic: the same input gives the same picture bit for bit.
///
/// ```swift
/// let img = try SceneRenderer.render(cloud, coloring: .labels(labels, names: names))
/// try img.writePNG(to: "segmented.png")
/// // or in one call:
/// try SceneRenderer.writePNG(cloud, coloring: .scores(scores, title: "chair"), to: "heat.png")
/// ```
/// Points with a non-finite coordinate are skipped (organised clouds mark missing returns so);
/// finite coordinates beyond ±1e7 are an error.
public enum SceneRenderer {
    /// Renders `cloud` coloured as asked into a picture.
    public static func render(_ cloud: PointCloud, coloring: PointColoring = .rgb,
                              options: RenderOptions = RenderOptions()) throws -> RasterImage {
        try cloud.validate()
        let n = cloud.count
        try require(n > 0, "render: the cloud has no points")
        try require(options.splatScale.isFinite && options.splatScale > 0 && options.splatScale <= 100,
                    "render: splat scale \(options.splatScale) out of range (0, 100]")
        try require((1...3).contains(options.supersampling), "render: supersampling must be 1...3")
        var finite = 0
        for v in cloud.positions where v.isFinite {
            try require(abs(v) <= 1e7, "render: coordinate \(v) too large (|x| ≤ 1e7 accepted)")
            finite += 1
        }
        try require(finite > 0, "render: no point has finite coordinates")

        let (colors, key) = try pointColors(cloud, coloring)
        var image = try RasterImage(width: options.width, height: options.height)
        let scale = max(1, options.height / 480)

        // Layout: the key (if any) on a panel at the right, the scene in the rest.
        let margin = 8 * scale
        var panelWidth = 0
        var legend: Legend?
        var bar: ColorBar?
        switch key {
        case .none: break
        case .legend(var l):
            l.scale = scale
            let maxRows = max(1, (options.height - 2 * margin) / l.rowHeight - (l.title == nil ? 0 : 1))
            if l.entries.count > maxRows {
                let hidden = l.entries.count - (maxRows - 1)
                l.entries = Array(l.entries.prefix(maxRows - 1)) + [Legend.Entry(color: RGB(255, 255, 255), text: "+\(hidden) more")]
            }
            legend = l
            panelWidth = l.size.width + 2 * margin
        case .bar(var b):
            b.scale = scale
            b.barHeight = max(16, min(options.height * 6 / 10, options.height - 2 * margin - 4 * b.padding - b.titleHeight - BitmapFont.glyphHeight * scale))
            bar = b
            panelWidth = b.size.width + 2 * margin
        }
        let sceneWidth = options.width - panelWidth
        try require(sceneWidth >= 16, "render: picture \(options.width) px wide leaves no room beside the key (make it wider)")

        let ss = options.supersampling
        let (sw, sh) = (sceneWidth * ss, options.height * ss)
        let camera = try cloud.positions.withUnsafeBufferPointer {
            try PerspectiveCamera.framing(positions: $0, viewpoint: options.viewpoint, width: sw, height: sh,
                                          fovYDegrees: options.fovYDegrees)
        }
        var raster = SplatRasterizer(width: sw, height: sh)
        try cloud.positions.withUnsafeBufferPointer { pp in
            let bounds = SceneBounds.robust(SceneBounds.sample(pp, limit: 20_000))
            var radii = SplatSizes.worldRadii(pp, bounds: bounds)
            for i in radii.indices { radii[i] *= options.splatScale }
            try colors.withUnsafeBufferPointer { cp in
                try radii.withUnsafeBufferPointer { rp in
                    try raster.draw(positions: pp, colors: cp, radii: rp, camera: camera,
                                    maxPixelRadius: Float(sw) / 160)
                }
            }
        }
        let shade = options.eyeDomeLighting
            ? EyeDomeLighting.shade(depth: raster.depth, width: sw, height: sh, radius: ss + 1)
            : [Float](repeating: 1, count: sw * sh)
        composite(raster, shade: shade, supersampling: ss, into: &image, width: sceneWidth)

        if let title = options.title {
            image.drawText(title, x: margin, y: margin, scale: scale, RGB(20, 20, 20))
        }
        if let legend { legend.draw(into: &image, x: sceneWidth + margin, y: margin) }
        if let bar { bar.draw(into: &image, x: sceneWidth + margin, y: margin) }
        return image
    }

    /// Renders and writes a PNG.
    public static func writePNG(_ cloud: PointCloud, coloring: PointColoring = .rgb,
                                options: RenderOptions = RenderOptions(), to path: String) throws {
        try render(cloud, coloring: coloring, options: options).writePNG(to: path)
    }

    enum Key { case none, legend(Legend), bar(ColorBar) }

    static let neutral = RGB(178, 182, 190)
    static let missing = RGB(150, 150, 150)

    /// 3 bytes per point and the key that explains them.
    static func pointColors(_ cloud: PointCloud, _ coloring: PointColoring) throws -> ([UInt8], Key) {
        let n = cloud.count
        switch coloring {
        case .rgb:
            if cloud.hasColors { return (cloud.colors, .none) }
            var out = [UInt8](repeating: 0, count: 3 * n)
            for i in 0..<n { out[3 * i] = neutral.r; out[3 * i + 1] = neutral.g; out[3 * i + 2] = neutral.b }
            return (out, .none)
        case .labels(let labels, let names):
            try require(labels.count == n, "render: \(labels.count) labels for \(n) points")
            var out = [UInt8](repeating: 0, count: 3 * n)
            var counts: [Int32: Int] = [:]
            for (i, l) in labels.enumerated() {
                let (r, g, b) = LabelColors.color(l)
                out[3 * i] = r; out[3 * i + 1] = g; out[3 * i + 2] = b
                counts[max(l, -1), default: 0] += 1
            }
            let entries = counts.keys.sorted { a, b in
                // Labels in vocabulary order, unlabelled last.
                (a < 0 ? Int64.max : Int64(a)) < (b < 0 ? Int64.max : Int64(b))
            }.map { l -> Legend.Entry in
                let (r, g, b) = LabelColors.color(l)
                let name = l < 0 ? "unlabelled" : (Int(l) < names.count ? names[Int(l)] : "label \(l)")
                let pct = Float(counts[l] ?? 0) * 100 / Float(n)
                return Legend.Entry(color: RGB(r, g, b), text: "\(name) \(DecimalText.fixed(pct, decimals: pct < 10 ? 1 : 0))%")
            }
            return (out, .legend(Legend(entries: entries)))
        case .scores(let scores, let range, let title):
            try require(scores.count == n, "render: \(scores.count) scores for \(n) points")
            var r: ClosedRange<Float>
            if let range {
                try require(range.lowerBound.isFinite && range.upperBound.isFinite, "render: score range must be finite")
                r = range
            } else {
                var lo = Float.infinity, hi = -Float.infinity
                for s in scores where s.isFinite { lo = min(lo, s); hi = max(hi, s) }
                r = lo <= hi ? lo...hi : 0...1
            }
            if r.lowerBound == r.upperBound { r = (r.lowerBound - 0.5)...(r.upperBound + 0.5) }
            var out = [UInt8](repeating: 0, count: 3 * n)
            for (i, s) in scores.enumerated() {
                let c = s.isFinite ? HeatColorMap.color(s, in: r) : missing
                out[3 * i] = c.r; out[3 * i + 1] = c.g; out[3 * i + 2] = c.b
            }
            return (out, .bar(ColorBar(title: title ?? "score", range: r)))
        }
    }

    /// Shaded splats over a soft vertical gradient, averaged down by the supersampling factor.
    static func composite(_ raster: SplatRasterizer, shade: [Float], supersampling ss: Int,
                          into image: inout RasterImage, width: Int) {
        let sw = raster.width, h = image.height
        let top = SIMD3<Float>(252, 252, 253), bottom = SIMD3<Float>(222, 226, 233)
        let inv = 1 / Float(ss * ss)
        raster.colors.withUnsafeBufferPointer { cb in
            raster.depth.withUnsafeBufferPointer { zb in
                shade.withUnsafeBufferPointer { sb in
                    for y in 0..<h {
                        let t = Float(y) / Float(max(1, h - 1))
                        let bg = top * (1 - t) + bottom * t
                        for x in 0..<width {
                            var acc = SIMD3<Float>(repeating: 0)
                            for sy in 0..<ss {
                                for sx in 0..<ss {
                                    let o = (y * ss + sy) * sw + x * ss + sx
                                    if zb[o].isFinite {
                                        acc += SIMD3(Float(cb[3 * o]), Float(cb[3 * o + 1]), Float(cb[3 * o + 2])) * sb[o]
                                    } else {
                                        acc += bg
                                    }
                                }
                            }
                            let c = acc * inv
                            image.set(x: x, y: y, RGB(UInt8(min(255, c.x.rounded())), UInt8(min(255, c.y.rounded())),
                                                      UInt8(min(255, c.z.rounded()))))
                        }
                        // The background continues under the key's panel.
                        let b = RGB(UInt8(bg.x.rounded()), UInt8(bg.y.rounded()), UInt8(bg.z.rounded()))
                        for x in width..<image.width { image.set(x: x, y: y, b) }
                    }
                }
            }
        }
    }
}
