#if canImport(Glibc)
import Glibc
#endif

/// A box rotated about the vertical axis: the primitive furniture is built from (a chair's
/// seat, each of its legs, its back). `yaw` turns the box's local x/y axes counter-clockwise.
public struct OrientedBox: Sendable, Equatable {
    public var centre: SIMD3<Float>
    /// Half extents along the local axes.
    public var half: SIMD3<Float>
    public var yaw: Float

    public init(centre: SIMD3<Float>, half: SIMD3<Float>, yaw: Float = 0) {
        self.centre = centre
        self.half = half
        self.yaw = yaw
    }

    /// World direction of local axis x (`axisX`) and y (`axisY`).
    public var axisX: SIMD3<Float> { SIMD3(cosf(yaw), sinf(yaw), 0) }
    public var axisY: SIMD3<Float> { SIMD3(-sinf(yaw), cosf(yaw), 0) }

    /// True when `p` is inside the box shrunk by `margin` on every side (strictly inside).
    public func contains(_ p: SIMD3<Float>, margin: Float = 0) -> Bool {
        let d = p - centre
        let lx = SyntheticMath.dot(d, axisX), ly = SyntheticMath.dot(d, axisY)
        return abs(lx) < half.x - margin && abs(ly) < half.y - margin && abs(d.z) < half.z - margin
    }

    /// The eight corners (index bits: x, y, z sign).
    public var corners: [SIMD3<Float>] {
        (0..<8).map { i in
            let sx: Float = i & 1 != 0 ? 1 : -1, sy: Float = i & 2 != 0 ? 1 : -1, sz: Float = i & 4 != 0 ? 1 : -1
            return centre + axisX * (sx * half.x) + axisY * (sy * half.y) + SIMD3(0, 0, sz * half.z)
        }
    }

    /// Axis-aligned bounds of the footprint (x, y).
    public var footprint: (lo: SIMD2<Float>, hi: SIMD2<Float>) {
        var lo = SIMD2<Float>(.infinity, .infinity), hi = -lo
        for c in corners { lo = pointwiseMin(lo, SIMD2(c.x, c.y)); hi = pointwiseMax(hi, SIMD2(c.x, c.y)) }
        return (lo, hi)
    }

    /// The box seen from a parent frame: this box is in the parent's local coordinates (origin
    /// `origin`, turned by `yaw`); returns it in world coordinates.
    public func placed(at origin: SIMD3<Float>, yaw parentYaw: Float) -> OrientedBox {
        let c = cosf(parentYaw), s = sinf(parentYaw)
        let p = SIMD3<Float>(c * centre.x - s * centre.y, s * centre.x + c * centre.y, centre.z) + origin
        return OrientedBox(centre: p, half: half, yaw: yaw + parentYaw)
    }

    /// Appends the box's 12 triangles (outward normals) to `mesh`.
    public func triangulate(into mesh: inout TriangleMesh, part: Int32) {
        let k = corners
        // faces as corner indices in boundary order, with their outward direction
        let faces: [([Int], SIMD3<Float>)] = [
            ([0, 2, 6, 4], -axisX), ([1, 3, 7, 5], axisX),
            ([0, 1, 5, 4], -axisY), ([2, 3, 7, 6], axisY),
            ([0, 1, 3, 2], SIMD3(0, 0, -1)), ([4, 5, 7, 6], SIMD3(0, 0, 1)),
        ]
        for (f, n) in faces {
            mesh.addOrientedQuad(k[f[0]], k[f[1]], k[f[2]], k[f[3]], normal: n, part: part)
        }
    }
}

extension TriangleMesh {
    /// Appends quad a-b-c-d as two triangles wound so their normal points along `normal`.
    public mutating func addOrientedQuad(_ a: SIMD3<Float>, _ b: SIMD3<Float>, _ c: SIMD3<Float>, _ d: SIMD3<Float>,
                                         normal: SIMD3<Float>, part: Int32) {
        let n = SyntheticMath.cross(b - a, c - a)
        if SyntheticMath.dot(n, normal) >= 0 { addQuad(a, b, c, d, part: part) } else { addQuad(a, d, c, b, part: part) }
    }
}
