#if canImport(Glibc)
import Glibc
#endif

/// Procedural surface appearance: a part's base colour modulated by deterministic texture
/// noise evaluated at the world position (so a point sampled on the mesh and a pixel rendered
/// at the same place get the same albedo).
public enum SurfaceTexture: UInt8, Sendable {
    case paint, wood, fabric, tiles, metal, glass, paper, leather

    /// Albedo (0...1 per channel) of a part with base colour `base` and texture seed `seed` at `p`.
    public func albedo(base: SIMD3<Float>, at p: SIMD3<Float>, seed: UInt32) -> SIMD3<Float> {
        let fine = SurfaceTexture.valueNoise(p * 40, seed: seed) - 0.5        // 2.5 cm grain
        let coarse = SurfaceTexture.valueNoise(p * 4, seed: seed &+ 17) - 0.5 // 25 cm blotches
        var f: Float
        var tint = SIMD3<Float>(repeating: 1)
        switch self {
        case .paint: f = 1 + 0.06 * fine + 0.10 * coarse
        case .wood:
            let grain = sinf((p.x + p.y) * 55 + 6 * SurfaceTexture.valueNoise(p * 6, seed: seed &+ 3))
            f = 1 + 0.12 * grain + 0.08 * coarse
            tint = SIMD3(1.02, 1, 0.96)
        case .fabric: f = 1 + 0.18 * fine + 0.08 * coarse
        case .tiles:
            let gx = abs(p.x * 3.3 - (p.x * 3.3).rounded()), gy = abs(p.y * 3.3 - (p.y * 3.3).rounded())
            f = (gx < 0.03 || gy < 0.03) ? 0.72 : 1 + 0.05 * fine + 0.06 * coarse
        case .metal: f = 1 + 0.04 * fine + 0.15 * coarse
        case .glass: f = 1 + 0.25 * coarse
            tint = SIMD3(0.95, 1, 1.05)
        case .paper: f = 1 + 0.35 * (SurfaceTexture.valueNoise(p * 12, seed: seed &+ 5) - 0.5) + 0.2 * fine
        case .leather: f = 1 + 0.1 * fine + 0.12 * coarse
        }
        return simd_clamp01(base * tint * f)
    }

    /// Trilinear value noise in [0, 1] on the integer lattice.
    public static func valueNoise(_ p: SIMD3<Float>, seed: UInt32) -> Float {
        let fl = SIMD3<Float>(floorf(p.x), floorf(p.y), floorf(p.z))
        let f = p - fl
        let s = f * f * (3 - 2 * f)
        let ix = Int32(clamping: Int(fl.x.isFinite ? max(-1e9, min(1e9, fl.x)) : 0))
        let iy = Int32(clamping: Int(fl.y.isFinite ? max(-1e9, min(1e9, fl.y)) : 0))
        let iz = Int32(clamping: Int(fl.z.isFinite ? max(-1e9, min(1e9, fl.z)) : 0))
        func h(_ dx: Int32, _ dy: Int32, _ dz: Int32) -> Float {
            var x = UInt32(bitPattern: ix &+ dx) &* 0x8DA6_B343 ^ UInt32(bitPattern: iy &+ dy) &* 0xD816_3841
            x ^= UInt32(bitPattern: iz &+ dz) &* 0xCB1A_B31F ^ seed &* 0x9E37_79B9
            x ^= x >> 15; x = x &* 0x2C1B_3C6D; x ^= x >> 12; x = x &* 0x297A_2D39; x ^= x >> 15
            return Float(x >> 8) / Float(1 << 24)
        }
        let x00 = h(0, 0, 0) + (h(1, 0, 0) - h(0, 0, 0)) * s.x
        let x10 = h(0, 1, 0) + (h(1, 1, 0) - h(0, 1, 0)) * s.x
        let x01 = h(0, 0, 1) + (h(1, 0, 1) - h(0, 0, 1)) * s.x
        let x11 = h(0, 1, 1) + (h(1, 1, 1) - h(0, 1, 1)) * s.x
        let y0 = x00 + (x10 - x00) * s.y, y1 = x01 + (x11 - x01) * s.y
        return y0 + (y1 - y0) * s.z
    }
}

@inline(__always) func simd_clamp01(_ v: SIMD3<Float>) -> SIMD3<Float> {
    pointwiseMin(pointwiseMax(v, SIMD3(repeating: 0)), SIMD3(repeating: 1))
}
