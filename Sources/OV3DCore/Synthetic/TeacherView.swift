/// What a simulated teacher "sees" at each pixel of its own feature grid: the surface at the
/// grid cell's centre in the rendered frame (instance, class, normal, world position).
public struct TeacherView: Sendable {
    public var width: Int
    public var height: Int
    /// Instance id per cell (0 = nothing).
    public var instances: [Int32]
    /// Class per cell: ScanNet-20 index, `classes` for unlabelled surfaces (the ceiling), -1 = nothing.
    public var classes: [Int32]
    public var normals: [SIMD3<Float>]
    public var positions: [SIMD3<Float>]
    /// Shaded colour (0...1) per cell.
    public var colours: [SIMD3<Float>]

    /// Samples `frame` at the centres of a `width × height` grid spanning its field of view
    /// (cell (i, j) looks at pixel ⌊(j + ½)·W/width⌋, ⌊(i + ½)·H/height⌋).
    public init(frame: RenderedFrame, world: SyntheticWorld, width: Int, height: Int) {
        self.width = width
        self.height = height
        let k = frame.intrinsics
        let n = width * height
        instances = [Int32](repeating: 0, count: n)
        classes = [Int32](repeating: -1, count: n)
        normals = [SIMD3<Float>](repeating: .zero, count: n)
        positions = normals
        colours = normals
        let r = frame.pose.rotation
        let vocabularySize = Int32(SyntheticWorld.classNames.count)
        for i in 0..<height {
            let v = min(k.height - 1, (2 * i + 1) * k.height / (2 * height))
            for j in 0..<width {
                let u = min(k.width - 1, (2 * j + 1) * k.width / (2 * width))
                let p = v * k.width + u
                let t = Int(frame.triangles[p])
                guard t >= 0 else { continue }
                let c = i * width + j
                instances[c] = frame.instances[p]
                let l = frame.labels[p]
                classes[c] = l == SyntheticWorld.unlabelled ? vocabularySize : l
                normals[c] = world.mesh.normal(t)
                let z = frame.exactDepth[p]
                let rc = SIMD3<Float>((Float(u) - k.cx) / k.fx * z, (Float(v) - k.cy) / k.fy * z, z)
                positions[c] = frame.pose.eye + SIMD3(r[0] * rc.x + r[1] * rc.y + r[2] * rc.z, r[3] * rc.x + r[4] * rc.y + r[5] * rc.z,
                                                      r[6] * rc.x + r[7] * rc.y + r[8] * rc.z)
                colours[c] = SIMD3(Float(frame.color[3 * p]), Float(frame.color[3 * p + 1]), Float(frame.color[3 * p + 2])) / 255
            }
        }
    }
}

/// Helpers the simulated teachers share: deterministic random codes, box blur, normalisation.
public enum TeacherMath {
    /// A deterministic Gaussian vector of `dim` values for (seed, key).
    public static func code(dim: Int, seed: UInt64, key: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed ^ (key &* 0x9E37_79B9_7F4A_7C15) ^ 0xC0DE)
        let s = 1 / Float(dim).squareRoot()
        return (0..<dim).map { _ in rng.normal() * s }
    }

    /// The codes of object instances, `code(dim:seed:key: base + instance)`, each computed once
    /// (the non-text teachers' instance term; a fresh memo per feature map).
    struct InstanceCodes {
        let dim: Int, seed: UInt64, base: UInt64
        private var memo: [Int32: [Float]] = [:]
        init(dim: Int, seed: UInt64, base: UInt64) { self.dim = dim; self.seed = seed; self.base = base }
        mutating func code(_ instance: Int32) -> [Float] {
            if let c = memo[instance] { return c }
            let c = TeacherMath.code(dim: dim, seed: seed, key: base &+ UInt64(UInt32(bitPattern: instance)))
            memo[instance] = c
            return c
        }
    }

    /// A uniform in [0, 1) for (seed, a, b).
    public static func uniform(seed: UInt64, _ a: UInt64, _ b: UInt64) -> Float {
        var rng = SplitMix64(seed: seed ^ (a &* 0xBF58_476D_1CE4_E5B9) ^ (b &* 0x94D0_49BB_1331_11EB))
        _ = rng.next()
        return rng.uniform(0...1) * 0.99999994
    }

    /// Separable box blur of radius `r` cells over an `h × w × d` map (edges clamp), in place.
    /// Cells marked empty (`valid` false) neither contribute nor receive.
    public static func boxBlur(_ f: inout [Float], width w: Int, height h: Int, dim d: Int, radius r: Int, valid: [Bool]) {
        guard r > 0 else { return }
        var tmp = f
        f.withUnsafeMutableBufferPointer { fp in
            tmp.withUnsafeMutableBufferPointer { tp in
                for pass in 0..<2 {
                    let src: UnsafeMutableBufferPointer<Float> = pass == 0 ? fp : tp
                    let dst: UnsafeMutableBufferPointer<Float> = pass == 0 ? tp : fp
                    for i in 0..<h {
                        for j in 0..<w {
                            let c = i * w + j
                            guard valid[c] else { continue }
                            var n: Float = 0
                            for k in 0..<d { dst[c * d + k] = 0 }
                            for o in -r...r {
                                let ii = pass == 0 ? i : min(h - 1, max(0, i + o))
                                let jj = pass == 0 ? min(w - 1, max(0, j + o)) : j
                                let s = ii * w + jj
                                guard valid[s] else { continue }
                                n += 1
                                for k in 0..<d { dst[c * d + k] += src[s * d + k] }
                            }
                            if n > 0 { for k in 0..<d { dst[c * d + k] /= n } }
                        }
                    }
                }
            }
        }
    }

    /// L2-normalises each `d`-row in place (zero rows stay zero).
    public static func normalizeRows(_ f: inout [Float], dim d: Int) {
        f.withUnsafeMutableBufferPointer { p in
            for r in 0..<(p.count / d) {
                var s: Float = 0
                for k in 0..<d { s += p[r * d + k] * p[r * d + k] }
                guard s > 0 else { continue }
                let inv = 1 / s.squareRoot()
                for k in 0..<d { p[r * d + k] *= inv }
            }
        }
    }
}
