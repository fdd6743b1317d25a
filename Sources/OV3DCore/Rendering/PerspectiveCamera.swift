#if canImport(Glibc)
import Glibc
#endif

/// A pinhole camera for the renderer: position, orthonormal axes and a focal length in pixels.
/// `project` maps a scene point to pixel coordinates (x right, y down) and its depth along the
/// viewing direction.
public struct PerspectiveCamera: Sendable, Equatable {
    public var eye: SIMD3<Float>
    /// Unit viewing direction.
    public var forward: SIMD3<Float>
    /// Unit vectors of the picture's x (right) and y (up, the picture's y grows downwards).
    public var right: SIMD3<Float>, up: SIMD3<Float>
    /// Focal length in pixels and the principal point.
    public var focal: Float, cx: Float, cy: Float
    public var width: Int, height: Int
    /// Points nearer than this (scene units along `forward`) are not drawn.
    public var near: Float

    /// (x, y, depth) of `p`; depth ≤ `near` means the point is not visible.
    @inline(__always)
    public func project(_ p: SIMD3<Float>) -> SIMD3<Float> {
        let d = p - eye
        let z = (d * forward).sum()
        let inv = 1 / max(z, near)
        return SIMD3(cx + focal * (d * right).sum() * inv, cy - focal * (d * up).sum() * inv, z)
    }

    /// A camera of `width × height` pixels and vertical field of view `fovYDegrees` that looks
    /// at the points from `viewpoint` and frames them: the distance is the smallest at which
    /// every point of the robust bounding box (the 0.5 %–99.5 % range per axis, so a few stray
    /// points do not shrink the scene) lies inside the picture with a 4 % margin, and the
    /// framed points are centred. `positions` holds x y z per point (finite ones only are used;
    /// at most ~20k of them, evenly strided, decide the framing).
    public static func framing(positions: UnsafeBufferPointer<Float>, viewpoint: Viewpoint,
                               width: Int, height: Int, fovYDegrees: Float = 50) throws -> PerspectiveCamera {
        try require(width > 0 && height > 0, "camera size \(width)×\(height) must be positive")
        try require(fovYDegrees.isFinite && fovYDegrees >= 5 && fovYDegrees <= 120,
                    "field of view \(fovYDegrees)° out of range (5...120)")
        let sample = SceneBounds.sample(positions, limit: 20_000)
        try require(!sample.isEmpty, "no finite points to render")
        let bounds = SceneBounds.robust(sample)
        let centre = (bounds.lo + bounds.hi) * 0.5
        let extent = bounds.hi - bounds.lo

        let (toCamera, upHint) = orientation(viewpoint, extent: extent)
        let forward = -toCamera
        var right = cross(forward, upHint)
        right /= (right * right).sum().squareRoot()
        let up = cross(right, forward)

        let focal = Float(height) * 0.5 / Float(tan(Double(fovYDegrees) * .pi / 360))
        let aspect = Float(width) / Float(height)
        let ty = Float(tan(Double(fovYDegrees) * .pi / 360)) * 0.92
        let tx = ty * aspect
        let inBox = sample.filter { p in all(p .>= bounds.lo) && all(p .<= bounds.hi) }
        let pts = inBox.isEmpty ? sample : inBox
        let scale = max(extent.max(), 1e-3)

        // The tightest eye position for the fixed orientation, in closed form. With points at
        // (x, y, z) along (right, up, toCamera) from the centre and the eye at (ex, ey, ez),
        // a point is inside horizontally iff |x − ex| ≤ tx·(ez − z), i.e. ex + tx·ez ≥ x + tx·z
        // and −ex + tx·ez ≥ −x + tx·z. With A, B the maxima of the right-hand sides, the least
        // ez is (A + B) / (2 tx) at ex = (A − B) / 2 (equal slack on both sides); the same
        // vertically, and the larger ez of the two wins.
        var a = -Float.infinity, b = -Float.infinity, c = -Float.infinity, e = -Float.infinity
        var zmax = -Float.infinity
        for p in pts {
            let d = p - centre
            let x = (d * right).sum(), y = (d * up).sum(), z = (d * toCamera).sum()
            a = max(a, x + tx * z); b = max(b, -x + tx * z)
            c = max(c, y + ty * z); e = max(e, -y + ty * z)
            zmax = max(zmax, z)
        }
        let ez = max((a + b) / (2 * tx), (c + e) / (2 * ty), zmax + 0.05 * scale)
        let eye = centre + right * ((a - b) / 2) + up * ((c - e) / 2) + toCamera * ez
        return PerspectiveCamera(eye: eye, forward: forward, right: right, up: up,
                                 focal: focal, cx: Float(width) * 0.5, cy: Float(height) * 0.5,
                                 width: width, height: height, near: max(1e-4, 1e-3 * scale))
    }

    /// Unit direction from the scene to the camera and the hint for the picture's up axis.
    static func orientation(_ v: Viewpoint, extent: SIMD3<Float>) -> (SIMD3<Float>, SIMD3<Float>) {
        let z = SIMD3<Float>(0, 0, 1)
        switch v {
        case .top:
            return (z, SIMD3(0, 1, 0))
        case .auto:
            let el = Float(50) * .pi / 180, az = Float(35) * .pi / 180
            let c = cos(el), s = sin(el)
            // Longer side across the picture: look along y when x is longer, along x otherwise.
            let d = extent.x >= extent.y ? SIMD3(-sin(az) * c, -cos(az) * c, s)
                                         : SIMD3(cos(az) * c, -sin(az) * c, s)
            return (d, z)
        case .direction(let d):
            let n = d / (d * d).sum().squareRoot()
            return (n, abs(n.z) > 0.98 ? SIMD3(0, 1, 0) : z)
        }
    }
}

@inline(__always)
fileprivate func cross(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> SIMD3<Float> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}
