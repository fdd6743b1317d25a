/// A triangle soup with a part id per triangle: the synthetic world's surface. Each triangle
/// belongs to one `SurfacePart` (an oriented box face or a wall quad), which names its object
/// (instance), class, colour and texture.
public struct TriangleMesh: Sendable {
    /// `3·T` vertices, 3 floats each: triangle t is `vertices[9t ..< 9t+9]`.
    public var vertices: [Float] = []
    /// Part index of each triangle.
    public var partOfTriangle: [Int32] = []

    public init() {}

    public var triangleCount: Int { partOfTriangle.count }

    /// Appends a triangle (counter-clockwise seen from the side its normal points to).
    public mutating func addTriangle(_ a: SIMD3<Float>, _ b: SIMD3<Float>, _ c: SIMD3<Float>, part: Int32) {
        vertices += [a.x, a.y, a.z, b.x, b.y, b.z, c.x, c.y, c.z]
        partOfTriangle.append(part)
    }

    /// Appends the quad a-b-c-d (in order around its boundary) as two triangles.
    public mutating func addQuad(_ a: SIMD3<Float>, _ b: SIMD3<Float>, _ c: SIMD3<Float>, _ d: SIMD3<Float>, part: Int32) {
        addTriangle(a, b, c, part: part)
        addTriangle(a, c, d, part: part)
    }

    public func vertex(_ t: Int, _ k: Int) -> SIMD3<Float> {
        SIMD3(vertices[9 * t + 3 * k], vertices[9 * t + 3 * k + 1], vertices[9 * t + 3 * k + 2])
    }

    /// Unit normal of triangle `t` (right-hand rule).
    public func normal(_ t: Int) -> SIMD3<Float> {
        let a = vertex(t, 0), b = vertex(t, 1), c = vertex(t, 2)
        let n = SyntheticMath.cross(b - a, c - a)
        let l = SyntheticMath.length(n)
        return l > 0 ? n / l : SIMD3(0, 0, 1)
    }

    public func area(_ t: Int) -> Float {
        let a = vertex(t, 0), b = vertex(t, 1), c = vertex(t, 2)
        return 0.5 * SyntheticMath.length(SyntheticMath.cross(b - a, c - a))
    }

    /// Distance from `p` to triangle `t` (exact point–triangle distance).
    public func distance(from p: SIMD3<Float>, toTriangle t: Int) -> Float {
        let a = vertex(t, 0), b = vertex(t, 1), c = vertex(t, 2)
        return SyntheticMath.length(p - SyntheticMath.closestPointOnTriangle(p, a, b, c))
    }
}

/// Small vector helpers shared by the synthetic world.
public enum SyntheticMath {
    @inline(__always) public static func dot(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> Float { (a * b).sum() }
    @inline(__always) public static func length(_ a: SIMD3<Float>) -> Float { (a * a).sum().squareRoot() }
    @inline(__always) public static func normalize(_ a: SIMD3<Float>) -> SIMD3<Float> {
        let l = length(a)
        return l > 0 ? a / l : a
    }
    @inline(__always) public static func cross(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> SIMD3<Float> {
        SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
    }

    /// Closest point on triangle abc to p (Ericson, Real-Time Collision Detection §5.1.5).
    public static func closestPointOnTriangle(_ p: SIMD3<Float>, _ a: SIMD3<Float>, _ b: SIMD3<Float>, _ c: SIMD3<Float>) -> SIMD3<Float> {
        let ab = b - a, ac = c - a, ap = p - a
        let d1 = dot(ab, ap), d2 = dot(ac, ap)
        if d1 <= 0 && d2 <= 0 { return a }
        let bp = p - b
        let d3 = dot(ab, bp), d4 = dot(ac, bp)
        if d3 >= 0 && d4 <= d3 { return b }
        let vc = d1 * d4 - d3 * d2
        if vc <= 0 && d1 >= 0 && d3 <= 0 { return a + ab * (d1 / (d1 - d3)) }
        let cp = p - c
        let d5 = dot(ab, cp), d6 = dot(ac, cp)
        if d6 >= 0 && d5 <= d6 { return c }
        let vb = d5 * d2 - d1 * d6
        if vb <= 0 && d2 >= 0 && d6 <= 0 { return a + ac * (d2 / (d2 - d6)) }
        let va = d3 * d6 - d5 * d4
        if va <= 0 && (d4 - d3) >= 0 && (d5 - d6) >= 0 { return b + (c - b) * ((d4 - d3) / ((d4 - d3) + (d5 - d6))) }
        let denom = 1 / (va + vb + vc)
        return a + ab * (vb * denom) + ac * (vc * denom)
    }
}
