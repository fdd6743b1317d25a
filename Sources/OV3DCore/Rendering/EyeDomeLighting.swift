#if canImport(Glibc)
import Glibc
#endif

/// Eye-dome lighting: screen-space shading of a point rendering from its depth buffer alone (no
/// normals needed). A pixel is darkened by how much nearer its neighbours are, in log depth,
/// which outlines objects and shows the shape of surfaces.
public enum EyeDomeLighting {
    /// A brightness factor in (0, 1] per pixel of `depth` (`width × height`, `.infinity` where
    /// empty; empty pixels get 1). `strength` scales the darkening; `radius` is the neighbour
    /// distance in pixels.
    public static func shade(depth: [Float], width: Int, height: Int, strength: Float = 1, radius: Int = 2) -> [Float] {
        var out = [Float](repeating: 1, count: depth.count)
        guard depth.count == width * height, width > 0, height > 0 else { return out }
        let logd = depth.map { $0.isFinite && $0 > 0 ? log2($0) : Float.infinity }
        let r = max(1, radius)
        let offsets = [(r, 0), (-r, 0), (0, r), (0, -r), (r, r), (-r, r), (r, -r), (-r, -r)]
        logd.withUnsafeBufferPointer { lp in
            out.withUnsafeMutableBufferPointer { op in
                for y in 0..<height {
                    for x in 0..<width {
                        let l = lp[y * width + x]
                        guard l.isFinite else { continue }
                        var sum: Float = 0
                        for (dx, dy) in offsets {
                            let xx = x + dx, yy = y + dy
                            guard xx >= 0, yy >= 0, xx < width, yy < height else { continue }
                            let ln = lp[yy * width + xx]
                            if ln.isFinite { sum += max(0, l - ln) }
                        }
                        op[y * width + x] = exp(-strength * 60 * sum / Float(offsets.count))
                    }
                }
            }
        }
        return out
    }
}
