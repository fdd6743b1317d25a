/// Draws points as depth-tested round splats into a colour and depth buffer.
///
/// Each point becomes a disc of its world radius projected at its depth (at least half a pixel,
/// at most `maxPixelRadius`), shaded as a shallow dome in depth (30 % of its radius) so that
/// overlapping splats meet smoothly. A pixel keeps the nearest splat; ties keep the earlier
/// point, so the result is the same bit for bit on every run.
public struct SplatRasterizer {
    /// Depth per pixel (`.infinity` where nothing was drawn), row-major.
    public private(set) var depth: [Float]
    /// RGB per pixel of the nearest splat.
    public private(set) var colors: [UInt8]
    public let width: Int, height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
        depth = [Float](repeating: .infinity, count: width * height)
        colors = [UInt8](repeating: 0, count: width * height * 3)
    }

    /// Draws every finite point `i` of `positions` (x y z) with colour `colors[3i..<3i+3]` and
    /// world radius `radii[i]`. Sizes must agree (checked).
    public mutating func draw(positions: UnsafeBufferPointer<Float>, colors pointColors: UnsafeBufferPointer<UInt8>,
                              radii: UnsafeBufferPointer<Float>, camera: PerspectiveCamera,
                              maxPixelRadius: Float = 8) throws {
        let n = positions.count / 3
        try require(pointColors.count == 3 * n && radii.count == n,
                    "rasteriser: \(n) points, \(pointColors.count / 3) colours, \(radii.count) radii")
        try require(camera.width == width && camera.height == height, "rasteriser: camera size differs from the buffer")
        let w = width, h = height
        let maxR = max(0.5, min(maxPixelRadius, 64))
        depth.withUnsafeMutableBufferPointer { zb in
            colors.withUnsafeMutableBufferPointer { cb in
                for i in 0..<n {
                    let p = SIMD3(positions[3 * i], positions[3 * i + 1], positions[3 * i + 2])
                    guard p.x.isFinite && p.y.isFinite && p.z.isFinite else { continue }
                    let q = camera.project(p)
                    guard q.z > camera.near else { continue }
                    let rw = radii[i]
                    let rp = max(0.5, min(maxR, camera.focal * rw / q.z))
                    // Comparisons on floats first: nothing far outside converts to Int.
                    guard q.x + rp >= 0, q.y + rp >= 0, q.x - rp < Float(w), q.y - rp < Float(h) else { continue }
                    let x0 = max(0, Int((q.x - rp).rounded(.down))), x1 = min(w - 1, Int((q.x + rp).rounded(.down)))
                    let y0 = max(0, Int((q.y - rp).rounded(.down))), y1 = min(h - 1, Int((q.y + rp).rounded(.down)))
                    guard x0 <= x1, y0 <= y1 else { continue }
                    let r2 = rp * rp, invR2 = 1 / r2
                    let bump = 0.3 * rw
                    let c0 = pointColors[3 * i], c1 = pointColors[3 * i + 1], c2 = pointColors[3 * i + 2]
                    for y in y0...y1 {
                        let dy = Float(y) + 0.5 - q.y
                        for x in x0...x1 {
                            let dx = Float(x) + 0.5 - q.x
                            let d2 = dx * dx + dy * dy
                            if d2 > r2 { continue }
                            let z = q.z - bump * (1 - d2 * invR2).squareRoot()
                            let o = y * w + x
                            if z < zb[o] {
                                zb[o] = z
                                cb[3 * o] = c0; cb[3 * o + 1] = c1; cb[3 * o + 2] = c2
                            }
                        }
                    }
                }
            }
        }
    }
}
