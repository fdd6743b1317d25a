#if canImport(Glibc)
import Glibc
#endif

/// Pinhole intrinsics of the synthetic sensor (OpenCV convention, pixel centres at integers).
public struct SensorIntrinsics: Sendable, Equatable {
    public var width: Int, height: Int
    public var fx: Float, fy: Float, cx: Float, cy: Float

    /// ScanNet's depth camera (fx = fy = 577.87, cx = 319.5, cy = 239.5 at 640×480) scaled to `width × height`.
    public static func scanNetDepth(width: Int, height: Int) -> SensorIntrinsics {
        SensorIntrinsics(width: width, height: height, fx: 577.870605 * Float(width) / 640, fy: 577.870605 * Float(height) / 480,
                         cx: Float(width - 1) / 2, cy: Float(height - 1) / 2)
    }

    /// Row-major 3×3 K.
    public var matrix: [Double] { [Double(fx), 0, Double(cx), 0, Double(fy), Double(cy), 0, 0, 1] }
}

/// Noise and holes of a structured-light depth sensor (Kinect / Structure-sensor-like):
/// axial noise σ(z) = a + b·(z − 0.4)² (Nguyen et al. 2012), millimetre quantisation, no
/// return outside [minRange, maxRange], dropouts at grazing angles, along depth edges, on glass
/// and in low-frequency blotches, and speckle.
public struct DepthSensorNoise: Sendable, Equatable {
    public var sigmaBase: Float = 0.0012
    public var sigmaQuadratic: Float = 0.0019
    public var minRange: Float = 0.35
    public var maxRange: Float = 4.0
    /// Below this |cos| of the incidence angle there is no return; up to twice it, half the pixels drop.
    public var grazingCosine: Float = 0.1
    public var edgeDropout: Float = 0.5
    public var glassDropout: Float = 0.7
    public var blotchDropout: Float = 0.04
    public var speckle: Float = 0.005
    public init() {}
    /// No noise and no holes except outside the sensor's range (for geometric tests).
    public static var none: DepthSensorNoise {
        var n = DepthSensorNoise()
        n.sigmaBase = 0; n.sigmaQuadratic = 0; n.grazingCosine = 0; n.edgeDropout = 0; n.glassDropout = 0
        n.blotchDropout = 0; n.speckle = 0; n.minRange = 0; n.maxRange = 60
        return n
    }
}

/// One rendered RGB-D frame with its ground truth.
public struct RenderedFrame: Sendable {
    public var intrinsics: SensorIntrinsics
    public var pose: SensorPose
    /// Exact depth along the optical axis (metres, 0 = nothing hit), before noise.
    public var exactDepth: [Float]
    /// Sensor depth in millimetres (0 = no return), with noise and holes.
    public var depth: [UInt16]
    /// `H × W × 3` colour (shaded albedo with texture, vignetting and sensor noise).
    public var color: [UInt8]
    /// ScanNet-20 class per pixel (-1 = nothing hit, 255 = unlabelled surface).
    public var labels: [Int32]
    /// Instance id per pixel (0 = none).
    public var instances: [Int32]
    /// Mesh triangle per pixel (-1 = none).
    public var triangles: [Int32]
}

/// Renders a world from a sensor pose by ray casting the mesh (one ray per pixel through its centre).
public enum RGBDRenderer {
    public static func render(_ world: SyntheticWorld, raycaster: MeshRaycaster, pose: SensorPose, intrinsics k: SensorIntrinsics,
                              noise: DepthSensorNoise = DepthSensorNoise(), seed: UInt64, threads: Int = 0) -> RenderedFrame {
        let w = k.width, h = k.height
        let cast = raycaster.castImage(width: w, height: h, fx: k.fx, fy: k.fy, cx: k.cx, cy: k.cy, rotation: pose.rotation,
                                       eye: pose.eye, threads: threads)
        var rng = SplitMix64(seed: seed ^ 0xD3E7_0001)
        var depth = [UInt16](repeating: 0, count: w * h)
        var color = [UInt8](repeating: 0, count: w * h * 3)
        var labels = [Int32](repeating: -1, count: w * h)
        var instances = [Int32](repeating: 0, count: w * h)
        let r = pose.rotation
        let blotchSeed = UInt32(truncatingIfNeeded: seed &* 0x2545_F491)
        for v in 0..<h {
            for u in 0..<w {
                let i = v * w + u
                let t = Int(cast.triangle[i])
                guard t >= 0 else { continue }
                let z = cast.depth[i]
                let rc = SIMD3<Float>((Float(u) - k.cx) / k.fx, (Float(v) - k.cy) / k.fy, 1)
                let dir = SIMD3<Float>(r[0] * rc.x + r[1] * rc.y + r[2], r[3] * rc.x + r[4] * rc.y + r[5], r[6] * rc.x + r[7] * rc.y + r[8])
                let p = pose.eye + dir * z
                let n = world.mesh.normal(t)
                let partIndex = Int(world.mesh.partOfTriangle[t])
                let part = world.parts[partIndex]
                let obj = world.objects[Int(part.object)]
                labels[i] = obj.label
                instances[i] = obj.instance
                // colour: shaded albedo, distance falloff, vignetting, sensor noise
                let col = world.shadedColour(part: partIndex, at: p, normal: n)
                let rr = ((Float(u) - k.cx) / Float(w)) * ((Float(u) - k.cx) / Float(w)) + ((Float(v) - k.cy) / Float(h)) * ((Float(v) - k.cy) / Float(h))
                let gain = (1 - 0.35 * rr) * (1.05 - 0.04 * min(z, 5))
                for c in 0..<3 { color[3 * i + c] = UInt8(max(0, min(255, (col[c] * gain * 255 + 3 * rng.normal()).rounded()))) }
                // depth with noise and holes
                guard z >= noise.minRange, z <= noise.maxRange else { continue }
                let cosine = abs(SyntheticMath.dot(n, SyntheticMath.normalize(dir)))
                if cosine < noise.grazingCosine { continue }
                if cosine < 2 * noise.grazingCosine && rng.uniform(0...1) < 0.5 { continue }
                if part.texture == .glass && rng.uniform(0...1) < noise.glassDropout { continue }
                if noise.speckle > 0 && rng.uniform(0...1) < noise.speckle { continue }
                if noise.blotchDropout > 0 {
                    let b = SurfaceTexture.valueNoise(SIMD3(Float(u) / 18, Float(v) / 18, 0.5), seed: blotchSeed)
                    if b < noise.blotchDropout * 2.5 { continue }
                }
                if noise.edgeDropout > 0 {
                    var edge = false
                    for (du, dv) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
                        let uu = u + du, vv = v + dv
                        guard uu >= 0, vv >= 0, uu < w, vv < h else { continue }
                        let zn = cast.depth[vv * w + uu]
                        if zn == 0 || abs(zn - z) > 0.05 * z { edge = true; break }
                    }
                    if edge && rng.uniform(0...1) < noise.edgeDropout { continue }
                }
                let dz = z - 0.4
                let sigma = noise.sigmaBase + noise.sigmaQuadratic * dz * dz
                let mm = ((z + sigma * rng.normal()) * 1000).rounded()
                if mm >= 1 && mm < 65535 { depth[i] = UInt16(mm) }
            }
        }
        return RenderedFrame(intrinsics: k, pose: pose, exactDepth: cast.depth, depth: depth, color: color, labels: labels,
                             instances: instances, triangles: cast.triangle)
    }
}
