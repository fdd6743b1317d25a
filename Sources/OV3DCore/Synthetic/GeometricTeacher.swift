#if canImport(Glibc)
import Glibc
#endif

/// A simulated DINOv2-like teacher: smooth, instance- and surface-aware features that are NOT
/// language-aligned. A cell's feature mixes a code of its object instance, a weaker code of the
/// object's class (similar objects look alike), a code of the surface normal and smooth random
/// Fourier features of the world position, computed on a coarse patch grid (patch ≈ 14 px) and
/// bilinearly upsampled to the output grid, plus noise. SIMULATED — not a real model.
public struct GeometricTeacher: SimulatedFeatureTeacher {
    public var name: String = "dinov2"
    public var dimension: Int
    public var featureWidth: Int
    public var featureHeight: Int
    /// Patch grid the features are computed on before upsampling.
    public var patchWidth: Int
    public var patchHeight: Int
    public var instanceWeight: Float = 0.8
    public var classWeight: Float = 0.5
    public var normalWeight: Float = 0.45
    public var positionWeight: Float = 0.3
    public var noise: Float = 0.25
    public var seed: UInt64
    public var textAligned: Bool { false }

    public init(dimension: Int, featureWidth: Int, featureHeight: Int, imageWidth: Int, imageHeight: Int, seed: UInt64) {
        self.dimension = max(1, dimension)
        self.featureWidth = featureWidth
        self.featureHeight = featureHeight
        patchWidth = max(2, imageWidth / 14)
        patchHeight = max(2, imageHeight / 14)
        self.seed = seed
        let d = self.dimension
        classCodes = (0..<32).map { TeacherMath.code(dim: d, seed: seed, key: 0x2000 &+ UInt64($0)) }
        normalCodes = (0..<3).map { TeacherMath.code(dim: d, seed: seed, key: 0x3000 &+ UInt64($0)) }
        fourier = (0..<4).map { f in
            var rng = SplitMix64(seed: seed ^ (0x4000 &+ UInt64(f)))
            let w = SIMD3<Float>(rng.normal(), rng.normal(), rng.normal()) * 1.2
            return (w, rng.uniform(0...6.283), TeacherMath.code(dim: d, seed: seed, key: 0x5000 &+ UInt64(f)))
        }
    }

    let classCodes: [[Float]]
    let normalCodes: [[Float]]
    let fourier: [(w: SIMD3<Float>, phase: Float, code: [Float])]

    /// The clean feature of a surface sample (before blur, noise and normalisation) — the one
    /// implementation both the frame path (`cellFeatures`, per patch) and the point path
    /// (`PointLevelTeachers.geometric`, per point) use: `ic` is the code of its instance
    /// (`instanceCodes()`), `cls` its class, `n` its normal, `p` its world position.
    func feature(instanceCode ic: [Float], cls: Int32, normal n: SIMD3<Float>, position p: SIMD3<Float>, into out: UnsafeMutableBufferPointer<Float>, at base: Int) {
        let d = dimension
        let cc = classCodes[Int(cls) % classCodes.count]
        for k in 0..<d { out[base + k] = instanceWeight * ic[k] + classWeight * cc[k] }
        for a in 0..<3 { for k in 0..<d { out[base + k] += normalWeight * n[a] * normalCodes[a][k] } }
        for f in fourier {
            let s = sinf(SyntheticMath.dot(f.w, p) + f.phase)
            for k in 0..<d { out[base + k] += positionWeight * s * f.code[k] }
        }
    }

    /// The codes of the object instances (the instance term of `feature`), memoised.
    func instanceCodes() -> TeacherMath.InstanceCodes { TeacherMath.InstanceCodes(dim: dimension, seed: seed, base: 0x1000) }

    /// The clean features of a view's cells (`height × width × dimension`, zeros where it sees nothing).
    func cellFeatures(view: TeacherView) -> [Float] {
        let d = dimension
        var cells = [Float](repeating: 0, count: view.width * view.height * d)
        cells.withUnsafeMutableBufferPointer { o in
            var codes = instanceCodes()
            for c in 0..<(view.width * view.height) where view.classes[c] >= 0 {
                let ic = codes.code(view.instances[c])
                feature(instanceCode: ic, cls: view.classes[c], normal: view.normals[c], position: view.positions[c], into: o, at: c * d)
            }
        }
        return cells
    }

    public func featureMap(_ frame: RenderedFrame, frameIndex: Int, world: SyntheticWorld) -> [Float] {
        let view = TeacherView(frame: frame, world: world, width: patchWidth, height: patchHeight)
        let d = dimension
        let patches = cellFeatures(view: view)
        let valid = view.classes.map { $0 >= 0 }
        let out = TeacherMath.upsample(patches, width: patchWidth, height: patchHeight, dim: d, valid: valid,
                                       toWidth: featureWidth, toHeight: featureHeight)
        var f = out
        var rng = SplitMix64(seed: seed &+ UInt64(frameIndex) &* 7919)
        let s = noise / Float(d).squareRoot()
        for c in 0..<(featureWidth * featureHeight) {
            var any = false
            for k in 0..<d where f[c * d + k] != 0 { any = true; break }
            guard any else { continue }
            for k in 0..<d { f[c * d + k] += s * rng.normal() }
        }
        TeacherMath.normalizeRows(&f, dim: d)
        return f
    }
}

extension TeacherMath {
    /// Bilinear upsampling (align_corners = false) of a `h × w × d` map with empty cells (which
    /// do not contribute; an output cell with no valid neighbour stays zero).
    public static func upsample(_ f: [Float], width w: Int, height h: Int, dim d: Int, valid: [Bool], toWidth W: Int, toHeight H: Int) -> [Float] {
        var out = [Float](repeating: 0, count: W * H * d)
        out.withUnsafeMutableBufferPointer { o in
            f.withUnsafeBufferPointer { src in
                for i in 0..<H {
                    let y = max(0, (Float(i) + 0.5) * Float(h) / Float(H) - 0.5)
                    let y0 = min(h - 1, Int(y)), y1 = min(h - 1, y0 + 1), fy = y - Float(y0)
                    for j in 0..<W {
                        let x = max(0, (Float(j) + 0.5) * Float(w) / Float(W) - 0.5)
                        let x0 = min(w - 1, Int(x)), x1 = min(w - 1, x0 + 1), fx = x - Float(x0)
                        let taps = [(y0 * w + x0, (1 - fx) * (1 - fy)), (y0 * w + x1, fx * (1 - fy)), (y1 * w + x0, (1 - fx) * fy), (y1 * w + x1, fx * fy)]
                        var wsum: Float = 0
                        for (s, wt) in taps where valid[s] && wt > 0 { wsum += wt }
                        guard wsum > 0 else { continue }
                        let base = (i * W + j) * d
                        for (s, wt) in taps where valid[s] && wt > 0 {
                            let a = wt / wsum
                            for k in 0..<d { o[base + k] += a * src[s * d + k] }
                        }
                    }
                }
            }
        }
        return out
    }
}
