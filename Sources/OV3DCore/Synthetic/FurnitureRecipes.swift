/// Furniture built from parts, one recipe per ScanNet-20 class, so that shape tells classes
/// apart: a chair has a seat, a back and four legs; a table a top and legs; a bed a frame,
/// mattress, headboard and pillows; a bookshelf its sides and shelves (with books); a sofa its
/// base, back, arms and cushions; a toilet, sink and bathtub their hollow bowls; a desk a top,
/// legs and a drawer block; a refrigerator and cabinets their doors and handles. A counter is a
/// countertop on a separate base cabinet object; a bathtub comes with its shower curtain.
///
/// Coordinates are the piece's local frame: origin at the footprint centre on the floor, x to
/// the right, y to the front (away from the wall it stands against), z up.
public enum FurnitureRecipes {
    /// One object of a recipe: its class and box parts.
    public struct Piece: Sendable {
        public var kind: String
        public var parts: [(box: OrientedBox, colour: SIMD3<Float>, texture: SurfaceTexture)] = []
    }

    public struct Recipe: Sendable {
        public var pieces: [Piece]
        /// Stands with its back against a wall.
        public var againstWall: Bool
        /// Local footprint bounds.
        public var footprintLo: SIMD2<Float>
        public var footprintHi: SIMD2<Float>
        public var height: Float
    }

    /// The furniture classes with a recipe.
    public static let kinds = ["cabinet", "bed", "chair", "sofa", "table", "bookshelf", "counter", "desk",
                               "refrigerator", "toilet", "sink", "bathtub", "otherfurniture"]

    /// A box from its local min/max corners.
    static func box(_ x0: Float, _ x1: Float, _ y0: Float, _ y1: Float, _ z0: Float, _ z1: Float) -> OrientedBox {
        OrientedBox(centre: SIMD3((x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2),
                    half: SIMD3(abs(x1 - x0) / 2, abs(y1 - y0) / 2, abs(z1 - z0) / 2))
    }

    /// An open-topped hollow box (bowls, tubs, bins): bottom and four walls of thickness `t`,
    /// the bottom's top at `floorZ`.
    static func hollow(_ x0: Float, _ x1: Float, _ y0: Float, _ y1: Float, _ z0: Float, _ z1: Float, t: Float, floorZ: Float) -> [OrientedBox] {
        [box(x0, x1, y0, y1, z0, floorZ),
         box(x0, x0 + t, y0, y1, z0, z1), box(x1 - t, x1, y0, y1, z0, z1),
         box(x0 + t - 0.005, x1 - t + 0.005, y0, y0 + t, z0, z1), box(x0 + t - 0.005, x1 - t + 0.005, y1 - t, y1, z0, z1)]
    }

    static func jitter(_ c: SIMD3<Float>, _ rng: inout SplitMix64, _ amount: Float = 0.06) -> SIMD3<Float> {
        simd_clamp01(c + SIMD3(rng.uniform(-amount...amount), rng.uniform(-amount...amount), rng.uniform(-amount...amount)))
    }

    static func pick(_ palette: [SIMD3<Float>], _ rng: inout SplitMix64) -> SIMD3<Float> {
        jitter(palette[Int(rng.next() % UInt64(palette.count))], &rng)
    }

    static let woods: [SIMD3<Float>] = [[0.55, 0.38, 0.22], [0.70, 0.52, 0.33], [0.40, 0.26, 0.15], [0.82, 0.68, 0.48]]
    static let fabrics: [SIMD3<Float>] = [[0.35, 0.40, 0.55], [0.55, 0.30, 0.28], [0.45, 0.50, 0.38], [0.60, 0.58, 0.55], [0.25, 0.25, 0.28]]
    static let whites: [SIMD3<Float>] = [[0.92, 0.92, 0.90], [0.85, 0.86, 0.88], [0.95, 0.93, 0.88]]
    static let metals: [SIMD3<Float>] = [[0.75, 0.76, 0.78], [0.30, 0.30, 0.32], [0.90, 0.90, 0.90]]
    static let laminates: [SIMD3<Float>] = [[0.85, 0.83, 0.78], [0.35, 0.33, 0.31], [0.62, 0.48, 0.33], [0.70, 0.72, 0.74]]

    /// Builds a random instance of `kind` (one of `kinds`).
    public static func make(_ kind: String, rng: inout SplitMix64) -> Recipe {
        var pieces: [Piece] = []
        var against = true
        func add(_ p: inout Piece, _ b: OrientedBox, _ c: SIMD3<Float>, _ t: SurfaceTexture) { p.parts.append((b, c, t)) }
        switch kind {
        case "chair":
            against = false
            var p = Piece(kind: "chair")
            let w = rng.uniform(0.42...0.52), d = rng.uniform(0.42...0.52), sh = rng.uniform(0.43...0.48), bh = rng.uniform(0.35...0.50)
            let l: Float = rng.uniform(0.03...0.045)
            let frame = pick(woods + metals, &rng), seat = pick(fabrics + woods, &rng)
            add(&p, box(-w / 2, w / 2, -d / 2, d / 2, sh - 0.05, sh), seat, .fabric)
            for (sx, sy) in [(-1, -1), (1, -1), (-1, 1), (1, 1)] as [(Float, Float)] {
                let x = sx * (w / 2 - 0.02 - l / 2), y = sy * (d / 2 - 0.02 - l / 2)
                add(&p, box(x - l / 2, x + l / 2, y - l / 2, y + l / 2, 0.003, sh - 0.04), frame, .wood)
            }
            add(&p, box(-w / 2, w / 2, -d / 2, -d / 2 + 0.045, sh - 0.01, sh + bh), seat, .fabric)
            pieces = [p]
        case "table":
            against = false
            var p = Piece(kind: "table")
            let w = rng.uniform(0.8...1.8), d = rng.uniform(0.6...1.0), h = rng.uniform(0.70...0.78), l = rng.uniform(0.05...0.07)
            let c = pick(woods + laminates, &rng)
            add(&p, box(-w / 2, w / 2, -d / 2, d / 2, h - 0.04, h), c, .wood)
            for (sx, sy) in [(-1, -1), (1, -1), (-1, 1), (1, 1)] as [(Float, Float)] {
                let x = sx * (w / 2 - 0.05 - l / 2), y = sy * (d / 2 - 0.05 - l / 2)
                add(&p, box(x - l / 2, x + l / 2, y - l / 2, y + l / 2, 0.003, h - 0.03), c * 0.85, .wood)
            }
            pieces = [p]
        case "desk":
            var p = Piece(kind: "desk")
            let w = rng.uniform(1.0...1.6), d = rng.uniform(0.55...0.8), h = rng.uniform(0.72...0.76)
            let c = pick(woods + laminates, &rng)
            add(&p, box(-w / 2, w / 2, -d / 2, d / 2, h - 0.035, h), c, .wood)
            let bx0 = w / 2 - 0.42
            add(&p, box(bx0, w / 2 - 0.02, -d / 2 + 0.02, d / 2 - 0.02, 0.003, h - 0.025), c * 0.9, .wood)
            let drawers = 2 + Int(rng.next() % 2)
            let dh = (h - 0.1) / Float(drawers)
            for k in 0..<drawers {
                let z0 = 0.05 + Float(k) * dh
                add(&p, box(bx0 + 0.02, w / 2 - 0.04, d / 2 - 0.021, d / 2 - 0.005, z0 + 0.01, z0 + dh - 0.01), c * 0.8, .wood)
                add(&p, box(bx0 + 0.15, w / 2 - 0.17, d / 2 - 0.01, d / 2 + 0.02, z0 + dh / 2 - 0.012, z0 + dh / 2 + 0.012), pick(metals, &rng), .metal)
            }
            for y in [-d / 2 + 0.03, d / 2 - 0.08] {
                add(&p, box(-w / 2 + 0.03, -w / 2 + 0.08, y, y + 0.05, 0.003, h - 0.025), c * 0.85, .wood)
            }
            add(&p, box(-w / 2 + 0.06, bx0 + 0.01, -d / 2 + 0.03, -d / 2 + 0.05, 0.30, h - 0.025), c * 0.9, .wood)
            pieces = [p]
        case "bed":
            var p = Piece(kind: "bed")
            let w = rng.uniform(0.9...1.8), l = rng.uniform(1.9...2.1), fh = rng.uniform(0.28...0.38), hb = rng.uniform(0.95...1.25)
            let frame = pick(woods + fabrics, &rng), sheet = pick(whites + fabrics, &rng)
            add(&p, box(-w / 2, w / 2, -l / 2, l / 2, 0.10, fh), frame, .wood)
            for (sx, sy) in [(-1, -1), (1, -1), (-1, 1), (1, 1)] as [(Float, Float)] {
                let x = sx * (w / 2 - 0.06), y = sy * (l / 2 - 0.06)
                add(&p, box(x - 0.03, x + 0.03, y - 0.03, y + 0.03, 0.003, 0.11), frame * 0.8, .wood)
            }
            add(&p, box(-w / 2 + 0.03, w / 2 - 0.03, -l / 2 + 0.07, l / 2 - 0.02, fh - 0.01, fh + 0.2), sheet, .fabric)
            add(&p, box(-w / 2, w / 2, -l / 2, -l / 2 + 0.07, 0.003, hb), frame, .wood)
            let pillows = w > 1.3 ? 2 : 1
            let pw = (w - 0.2) / Float(pillows)
            for k in 0..<pillows {
                let x0 = -w / 2 + 0.1 + Float(k) * pw
                add(&p, box(x0 + 0.03, x0 + pw - 0.03, -l / 2 + 0.1, -l / 2 + 0.45, fh + 0.19, fh + 0.32), pick(whites, &rng), .fabric)
            }
            pieces = [p]
        case "bookshelf":
            var p = Piece(kind: "bookshelf")
            let w = rng.uniform(0.6...1.2), d = rng.uniform(0.28...0.38), h = rng.uniform(1.2...2.0), t: Float = 0.02
            let c = pick(woods + laminates, &rng)
            add(&p, box(-w / 2, -w / 2 + t, -d / 2, d / 2, 0.003, h), c, .wood)
            add(&p, box(w / 2 - t, w / 2, -d / 2, d / 2, 0.003, h), c, .wood)
            add(&p, box(-w / 2 + t - 0.005, w / 2 - t + 0.005, -d / 2, d / 2, h - t, h), c, .wood)
            add(&p, box(-w / 2 + t - 0.005, w / 2 - t + 0.005, -d / 2, -d / 2 + 0.012, 0.003, h - t + 0.005), c * 0.8, .wood)
            add(&p, box(-w / 2 + t - 0.005, w / 2 - t + 0.005, -d / 2, d / 2, 0.003, 0.08), c * 0.9, .wood)
            let shelves = max(2, Int((h - 0.1) / 0.36))
            let gap = (h - 0.08 - t) / Float(shelves)
            for k in 1..<shelves {
                let z = 0.08 + Float(k) * gap
                add(&p, box(-w / 2 + t - 0.005, w / 2 - t + 0.005, -d / 2 + 0.01, d / 2 - 0.01, z - t, z), c, .wood)
            }
            for k in 0..<shelves {
                var x = -w / 2 + t + 0.01
                let z = 0.08 + Float(k) * gap
                while x < w / 2 - t - 0.05 {
                    let bw = rng.uniform(0.02...0.05)
                    if rng.uniform(0...1) < 0.7 {
                        let bh = min(gap - 0.04, rng.uniform(0.16...0.28))
                        add(&p, box(x, x + bw, -d / 2 + 0.02, -d / 2 + 0.02 + rng.uniform(0.15...0.22), z + 0.001, z + bh), pick(fabrics + woods, &rng), .paper)
                    }
                    x += bw + 0.004
                }
            }
            pieces = [p]
        case "sofa":
            var p = Piece(kind: "sofa")
            let w = rng.uniform(1.4...2.2), d = rng.uniform(0.8...0.95), bh = rng.uniform(0.78...0.92), a: Float = rng.uniform(0.14...0.22)
            let c = pick(fabrics, &rng)
            add(&p, box(-w / 2 + a - 0.01, w / 2 - a + 0.01, -d / 2 + 0.15, d / 2, 0.08, 0.40), c * 0.9, .fabric)
            add(&p, box(-w / 2, w / 2, -d / 2, -d / 2 + 0.2, 0.08, bh), c, .fabric)
            add(&p, box(-w / 2, -w / 2 + a, -d / 2, d / 2, 0.08, 0.62), c, .fabric)
            add(&p, box(w / 2 - a, w / 2, -d / 2, d / 2, 0.08, 0.62), c, .fabric)
            let cushions = w > 1.8 ? 3 : 2
            let cw = (w - 2 * a) / Float(cushions)
            for k in 0..<cushions {
                let x0 = -w / 2 + a + Float(k) * cw
                add(&p, box(x0 + 0.005, x0 + cw - 0.005, -d / 2 + 0.2, d / 2 - 0.01, 0.39, 0.51), c * 1.05, .fabric)
            }
            for (sx, sy) in [(-1, -1), (1, -1), (-1, 1), (1, 1)] as [(Float, Float)] {
                let x = sx * (w / 2 - 0.06), y = sy * (d / 2 - 0.06)
                add(&p, box(x - 0.025, x + 0.025, y - 0.025, y + 0.025, 0.003, 0.09), pick(woods, &rng), .wood)
            }
            pieces = [p]
        case "toilet":
            var p = Piece(kind: "toilet")
            let c = pick(whites, &rng)
            add(&p, box(-0.21, 0.21, -0.36, -0.17, 0.40, rng.uniform(0.74...0.82)), c, .paint)
            for b in hollow(-0.19, 0.19, -0.18, 0.30, 0.20, 0.41, t: 0.035, floorZ: 0.25) { add(&p, b, c, .paint) }
            add(&p, box(-0.11, 0.11, -0.14, 0.16, 0.003, 0.21), c, .paint)
            pieces = [p]
        case "sink":
            var p = Piece(kind: "sink")
            let c = pick(whites, &rng)
            let bw = rng.uniform(0.45...0.6), bd = rng.uniform(0.38...0.48), top = rng.uniform(0.82...0.88)
            add(&p, box(-0.1, 0.1, -bd / 2, -bd / 2 + 0.2, 0.003, top - 0.14), c, .paint)
            for b in hollow(-bw / 2, bw / 2, -bd / 2, bd / 2, top - 0.16, top, t: 0.03, floorZ: top - 0.12) { add(&p, b, c, .paint) }
            add(&p, box(-0.02, 0.02, -bd / 2 + 0.01, -bd / 2 + 0.12, top, top + 0.12), pick(metals, &rng), .metal)
            pieces = [p]
        case "bathtub":
            var tub = Piece(kind: "bathtub")
            let w = rng.uniform(1.45...1.7), d = rng.uniform(0.7...0.8), h = rng.uniform(0.5...0.6)
            let c = pick(whites, &rng)
            for b in hollow(-w / 2, w / 2, -d / 2, d / 2, 0.003, h, t: 0.07, floorZ: 0.12) { add(&tub, b, c, .paint) }
            var curtain = Piece(kind: "shower curtain")
            let cc = pick(whites + fabrics, &rng)
            let open = rng.uniform(0.3...0.7)
            var x = -w / 2 + 0.02
            var k = 0
            while x < -w / 2 + open * w {
                let y: Float = d / 2 - 0.05 + (k % 2 == 0 ? 0 : 0.03)
                add(&curtain, box(x, x + 0.07, y, y + 0.012, h + 0.15, 1.95), cc, .fabric)
                x += 0.065; k += 1
            }
            add(&curtain, box(-w / 2, w / 2, d / 2 - 0.04, d / 2 - 0.01, 1.96, 1.99), pick(metals, &rng), .metal)
            pieces = [tub, curtain]
        case "refrigerator":
            var p = Piece(kind: "refrigerator")
            let w = rng.uniform(0.6...0.8), d = rng.uniform(0.65...0.75), h = rng.uniform(1.6...1.9)
            let c = pick(whites + metals, &rng), handle = pick(metals, &rng)
            add(&p, box(-w / 2, w / 2, -d / 2, d / 2 - 0.04, 0.003, h), c, .metal)
            let split = h * rng.uniform(0.62...0.72)
            add(&p, box(-w / 2 + 0.004, w / 2 - 0.004, d / 2 - 0.045, d / 2, split + 0.008, h - 0.004), c, .metal)
            add(&p, box(-w / 2 + 0.004, w / 2 - 0.004, d / 2 - 0.045, d / 2, 0.02, split - 0.008), c, .metal)
            add(&p, box(w / 2 - 0.08, w / 2 - 0.05, d / 2 - 0.01, d / 2 + 0.04, split + 0.05, split + 0.3), handle, .metal)
            add(&p, box(w / 2 - 0.08, w / 2 - 0.05, d / 2 - 0.01, d / 2 + 0.04, split - 0.5, split - 0.05), handle, .metal)
            pieces = [p]
        case "cabinet":
            var p = Piece(kind: "cabinet")
            let tall = rng.uniform(0...1) < 0.35
            let w = rng.uniform(0.5...1.2), d = rng.uniform(0.4...0.6), h = tall ? rng.uniform(1.6...2.0) : rng.uniform(0.75...0.95)
            let c = pick(woods + laminates + whites, &rng)
            p.parts += cabinetBody(w: w, d: d, h: h, colour: c, rng: &rng)
            pieces = [p]
        case "counter":
            var base = Piece(kind: "cabinet")
            let w = rng.uniform(1.2...2.4), d: Float = rng.uniform(0.58...0.65), h: Float = rng.uniform(0.86...0.9)
            base.parts += cabinetBody(w: w, d: d - 0.03, h: h - 0.04, colour: pick(woods + laminates + whites, &rng), rng: &rng)
            var top = Piece(kind: "counter")
            let tc = pick(laminates + [[0.2, 0.2, 0.22], [0.9, 0.9, 0.88]], &rng)
            add(&top, box(-w / 2 - 0.01, w / 2 + 0.01, -d / 2 - 0.015, d / 2 + 0.02, h - 0.045, h), tc, .tiles)
            if rng.uniform(0...1) < 0.6 { add(&top, box(-w / 2 - 0.01, w / 2 + 0.01, -d / 2 - 0.015, -d / 2 + 0.005, h - 0.01, h + 0.12), tc, .tiles) }
            pieces = [base, top]
        default: // otherfurniture
            var p = Piece(kind: "otherfurniture")
            let c = pick(woods + fabrics + metals, &rng)
            switch rng.next() % 5 {
            case 0: // nightstand
                let w = rng.uniform(0.4...0.55), d = rng.uniform(0.35...0.45), h = rng.uniform(0.5...0.62)
                add(&p, box(-w / 2, w / 2, -d / 2, d / 2 - 0.02, 0.003, h), c, .wood)
                add(&p, box(-w / 2 + 0.02, w / 2 - 0.02, d / 2 - 0.021, d / 2, h * 0.55, h - 0.03), c * 0.85, .wood)
                add(&p, box(-0.05, 0.05, d / 2 - 0.01, d / 2 + 0.02, h * 0.75 - 0.01, h * 0.75 + 0.01), pick(metals, &rng), .metal)
            case 1: // waste bin
                against = false
                let s = rng.uniform(0.25...0.35)
                for b in hollow(-s / 2, s / 2, -s / 2, s / 2, 0.003, rng.uniform(0.32...0.45), t: 0.012, floorZ: 0.02) { add(&p, b, c, .metal) }
            case 2: // stool
                against = false
                let s = rng.uniform(0.3...0.4), h = rng.uniform(0.42...0.65)
                add(&p, box(-s / 2, s / 2, -s / 2, s / 2, h - 0.04, h), c, .wood)
                for (sx, sy) in [(-1, -1), (1, -1), (-1, 1), (1, 1)] as [(Float, Float)] {
                    let x = sx * (s / 2 - 0.04), y = sy * (s / 2 - 0.04)
                    add(&p, box(x - 0.015, x + 0.015, y - 0.015, y + 0.015, 0.003, h - 0.03), c * 0.8, .wood)
                }
            case 3: // ottoman
                against = false
                let s = rng.uniform(0.45...0.7)
                add(&p, box(-s / 2, s / 2, -s / 2, s / 2, 0.003, rng.uniform(0.38...0.45)), pick(fabrics, &rng), .leather)
            default: // coat stand
                against = false
                add(&p, box(-0.18, 0.18, -0.18, 0.18, 0.003, 0.03), c, .metal)
                add(&p, box(-0.02, 0.02, -0.02, 0.02, 0.02, rng.uniform(1.6...1.8)), c, .metal)
            }
            pieces = [p]
        }
        var lo = SIMD2<Float>(.infinity, .infinity), hi = -lo
        var top: Float = 0
        for piece in pieces {
            for part in piece.parts {
                let f = part.box.footprint
                lo = pointwiseMin(lo, f.lo); hi = pointwiseMax(hi, f.hi)
                top = max(top, part.box.centre.z + part.box.half.z)
            }
        }
        return Recipe(pieces: pieces, againstWall: against, footprintLo: lo, footprintHi: hi, height: top)
    }

    /// A cabinet: body on a recessed plinth, one or two doors with handles, at the front (+y).
    static func cabinetBody(w: Float, d: Float, h: Float, colour c: SIMD3<Float>, rng: inout SplitMix64) -> [(box: OrientedBox, colour: SIMD3<Float>, texture: SurfaceTexture)] {
        var parts: [(box: OrientedBox, colour: SIMD3<Float>, texture: SurfaceTexture)] = []
        parts.append((box(-w / 2, w / 2, -d / 2, d / 2 - 0.02, 0.08, h), c, .wood))
        parts.append((box(-w / 2 + 0.03, w / 2 - 0.03, -d / 2, d / 2 - 0.07, 0.003, 0.09), c * 0.6, .paint))
        let doors = w > 0.65 ? 2 : 1
        let dw = w / Float(doors)
        let handle = pick(metals, &rng)
        for k in 0..<doors {
            let x0 = -w / 2 + Float(k) * dw
            parts.append((box(x0 + 0.004, x0 + dw - 0.004, d / 2 - 0.021, d / 2, 0.085, h - 0.006), c * 0.92, .wood))
            let hx = doors == 2 ? (k == 0 ? x0 + dw - 0.05 : x0 + 0.05) : x0 + dw - 0.06
            let hz = h > 1.2 ? h * 0.5 : h - 0.12
            parts.append((box(hx - 0.008, hx + 0.008, d / 2 - 0.005, d / 2 + 0.025, hz - 0.06, hz + 0.06), handle, .metal))
        }
        return parts
    }
}
