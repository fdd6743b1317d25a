/// Points sampled on a world's mesh, with what ScanNet's labelled meshes carry per vertex.
public struct LabelledPoints: Sendable {
    /// `N × 3` positions, colours (0–255, shaded albedo with texture noise and sensor noise), unit normals.
    public var positions: [Float] = []
    public var colors: [UInt8] = []
    public var normals: [Float] = []
    /// ScanNet-20 class per point (`SyntheticWorld.unlabelled` = 255 for the ceiling).
    public var labels: [Int32] = []
    /// Instance id per point (1-based; the object's `instance`).
    public var instances: [Int32] = []
    /// Mesh triangle each point lies on.
    public var triangles: [Int32] = []

    public var count: Int { labels.count }

    /// As a `PointCloud` (positions, colours, normals, labels).
    public var cloud: PointCloud {
        PointCloud(positions: positions, colors: colors, normals: normals, labels: labels)
    }
}

/// Samples points uniformly on the visible surfaces of a world's mesh at a given density (points
/// per square metre). Surfaces that cannot be seen are dropped, as a scanned mesh has none: the
/// parts of a part inside another part of the same object (a leg inside a seat) and faces in
/// contact with another surface (a picture's back on its wall, a cabinet's bottom on the floor;
/// a ray along the normal hits something within `contactDistance`).
public enum SurfaceSampler {
    public static func sample(_ world: SyntheticWorld, raycaster: MeshRaycaster, density: Float, seed: UInt64,
                              includeCeiling: Bool = false, colourNoise: Float = 6, contactDistance: Float = 0.015,
                              threads: Int = 0) -> LabelledPoints {
        var rng = SplitMix64(seed: seed ^ 0x5A3B_1E55)
        let mesh = world.mesh
        var pos: [Float] = [], nrm: [Float] = [], tri: [Int32] = []
        var carry: Float = 0
        for t in 0..<mesh.triangleCount {
            let part = world.parts[Int(mesh.partOfTriangle[t])]
            let obj = world.objects[Int(part.object)]
            if !includeCeiling && obj.label == SyntheticWorld.unlabelled { continue }
            let want = mesh.area(t) * density + carry
            let n = Int(want)
            carry = want - Float(n)
            guard n > 0 else { continue }
            let a = mesh.vertex(t, 0), b = mesh.vertex(t, 1), c = mesh.vertex(t, 2)
            let normal = mesh.normal(t)
            for _ in 0..<n {
                var r1 = rng.uniform(0...1), r2 = rng.uniform(0...1)
                if r1 + r2 > 1 { r1 = 1 - r1; r2 = 1 - r2 }
                let p = a + (b - a) * r1 + (c - a) * r2
                // inside another part of the same object?
                var hidden = false
                for (bi, box) in obj.boxes.enumerated() where bi != Int(part.boxIndex) {
                    if box.contains(p, margin: 0.0005) { hidden = true; break }
                }
                if hidden { continue }
                pos += [p.x, p.y, p.z]
                nrm += [normal.x, normal.y, normal.z]
                tri.append(Int32(t))
            }
        }
        // contact test: one short ray per point along its normal
        let m = tri.count
        var origins = [Float](repeating: 0, count: 3 * m)
        for i in 0..<(3 * m) { origins[i] = pos[i] + nrm[i] * 2e-4 }
        let hits = raycaster.cast(origins: origins, directions: nrm, tMin: 1e-5, tMax: contactDistance, threads: threads)
        var out = LabelledPoints()
        out.positions.reserveCapacity(3 * m)
        for i in 0..<m where hits.triangle[i] < 0 {
            let t = Int(tri[i])
            let p = SIMD3<Float>(pos[3 * i], pos[3 * i + 1], pos[3 * i + 2])
            let n = SIMD3<Float>(nrm[3 * i], nrm[3 * i + 1], nrm[3 * i + 2])
            let partIndex = Int(mesh.partOfTriangle[t])
            let col = world.shadedColour(part: partIndex, at: p, normal: n)
            out.positions += [p.x, p.y, p.z]
            out.normals += [n.x, n.y, n.z]
            for k in 0..<3 {
                let v = col[k] * 255 + colourNoise * rng.normal()
                out.colors.append(UInt8(max(0, min(255, v.rounded()))))
            }
            let o = world.objects[Int(world.parts[partIndex].object)]
            out.labels.append(o.label)
            out.instances.append(o.instance)
            out.triangles.append(Int32(t))
        }
        return out
    }
}
