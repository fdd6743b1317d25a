#if canImport(Glibc)
import Glibc
#endif

/// An axis-aligned rectangle on the floor (x, y).
public struct FloorRect: Sendable, Equatable {
    public var lo: SIMD2<Float>
    public var hi: SIMD2<Float>
    public init(lo: SIMD2<Float>, hi: SIMD2<Float>) { self.lo = lo; self.hi = hi }
    public func overlaps(_ o: FloorRect, margin: Float = 0) -> Bool {
        lo.x < o.hi.x + margin && hi.x > o.lo.x - margin && lo.y < o.hi.y + margin && hi.y > o.lo.y - margin
    }
    public func distance(to p: SIMD2<Float>) -> Float {
        let d = pointwiseMax(pointwiseMax(lo - p, p - hi), SIMD2(repeating: 0))
        return (d * d).sum().squareRoot()
    }
}

/// A generated room: the world plus what the camera path needs (the furniture footprints).
public struct GeneratedRoom: Sendable {
    public var world: SyntheticWorld
    /// Footprints of everything standing on the floor.
    public var obstacles: [FloorRect]
}

/// Generates rooms of parts: the shell (floor, four walls with door and window openings and
/// their reveals, an unlabelled ceiling), doors and windows set in the walls, pictures and
/// curtains on the walls, and furniture from `FurnitureRecipes` placed without collisions
/// (against walls or free-standing, chairs drawn up to tables and desks). Deterministic for a seed.
public enum RoomGenerator {
    static let wallThickness: Float = 0.12

    /// Wall k's frame: origin at its left end on the floor, `along` the wall, `inward` into the room.
    static func wallFrame(_ k: Int, size: SIMD3<Float>) -> (origin: SIMD3<Float>, along: SIMD3<Float>, inward: SIMD3<Float>, length: Float, yaw: Float) {
        switch k {
        case 0: return ([0, 0, 0], [1, 0, 0], [0, 1, 0], size.x, 0)
        case 1: return ([size.x, 0, 0], [0, 1, 0], [-1, 0, 0], size.y, .pi / 2)
        case 2: return ([size.x, size.y, 0], [-1, 0, 0], [0, -1, 0], size.x, .pi)
        default: return ([0, size.y, 0], [0, -1, 0], [1, 0, 0], size.y, -.pi / 2)
        }
    }

    struct WallItem { var wall: Int; var u0: Float; var u1: Float; var z0: Float; var z1: Float }

    public static func generate(seed: UInt64, preset: SyntheticPreset) -> GeneratedRoom {
        var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x5EED)
        let size = SIMD3<Float>(rng.uniform(preset.roomX), rng.uniform(preset.roomY), rng.uniform(preset.roomHeight))
        var world = SyntheticWorld(size: size)
        var openings: [WallItem] = []
        var wallItems: [WallItem] = []
        var keepOut: [FloorRect] = []        // floor zones nothing may stand in
        var lowOnly: [FloorRect] = []        // zones where only furniture below the sill may stand
        func free(_ it: WallItem, margin: Float) -> Bool {
            !wallItems.contains { $0.wall == it.wall && it.u0 < $0.u1 + margin && it.u1 > $0.u0 - margin && it.z0 < $0.z1 + margin && it.z1 > $0.z0 - margin }
        }
        func zone(_ it: WallItem, depth: Float, extra: Float = 0.1) -> FloorRect {
            let f = wallFrame(it.wall, size: size)
            let a = f.origin + f.along * (it.u0 - extra), b = f.origin + f.along * (it.u1 + extra) + f.inward * depth
            return FloorRect(lo: SIMD2(min(a.x, b.x), min(a.y, b.y)), hi: SIMD2(max(a.x, b.x), max(a.y, b.y)))
        }
        // Doors and windows: openings in the walls.
        let nDoors = Int(rng.uniform(Float(preset.doors.lowerBound)...Float(preset.doors.upperBound) + 0.999))
        let nWindows = Int(rng.uniform(Float(preset.windows.lowerBound)...Float(preset.windows.upperBound) + 0.999))
        var doorItems: [WallItem] = [], windowItems: [WallItem] = []
        for kind in Array(repeating: "door", count: nDoors) + Array(repeating: "window", count: nWindows) {
            for _ in 0..<40 {
                let k = Int(rng.next() % 4)
                let len = wallFrame(k, size: size).length
                let w: Float = kind == "door" ? rng.uniform(0.8...0.95) : rng.uniform(0.8...1.6)
                guard len > w + 0.5 else { continue }
                let u0 = rng.uniform(0.25...(len - w - 0.25))
                let z0: Float = kind == "door" ? 0 : rng.uniform(0.8...1.0)
                let z1: Float = kind == "door" ? rng.uniform(2.0...2.1) : min(size.z - 0.25, z0 + rng.uniform(1.0...1.3))
                let it = WallItem(wall: k, u0: u0, u1: u0 + w, z0: z0, z1: z1)
                guard free(it, margin: 0.45) else { continue }
                wallItems.append(it)
                openings.append(it)
                if kind == "door" { doorItems.append(it); keepOut.append(zone(it, depth: 1.0)) } else { windowItems.append(it); lowOnly.append(zone(it, depth: 0.6)) }
                break
            }
        }
        buildShell(&world, openings: openings, rng: &rng)
        for it in doorItems { buildDoor(&world, it, rng: &rng) }
        for it in windowItems {
            buildWindow(&world, it, rng: &rng)
            if rng.uniform(0...1) < 0.7 {
                for side in [-1, 1] as [Float] {
                    let w = rng.uniform(0.25...0.4)
                    let u0 = side < 0 ? it.u0 - w + 0.05 : it.u1 - 0.05
                    let c = WallItem(wall: it.wall, u0: u0, u1: u0 + w, z0: 0.05, z1: min(size.z - 0.05, it.z1 + 0.2))
                    let len = wallFrame(it.wall, size: size).length
                    guard c.u0 > 0.02, c.u1 < len - 0.02,
                          !wallItems.contains(where: { $0.wall == c.wall && $0.u0 != it.u0 && c.u0 < $0.u1 + 0.05 && c.u1 > $0.u0 - 0.05 }) else { continue }
                    buildCurtain(&world, c, rng: &rng)
                    keepOut.append(zone(c, depth: 0.2, extra: 0))
                }
            }
        }
        let nPictures = Int(rng.uniform(Float(preset.pictures.lowerBound)...Float(preset.pictures.upperBound) + 0.999))
        var placedPictures = 0
        for _ in 0..<(nPictures * 30) where placedPictures < nPictures {
            let k = Int(rng.next() % 4)
            let len = wallFrame(k, size: size).length
            let w = rng.uniform(0.3...1.0), h = rng.uniform(0.3...0.8)
            guard len > w + 0.4 else { continue }
            let u0 = rng.uniform(0.2...(len - w - 0.2)), z0 = rng.uniform(1.1...max(1.11, min(1.6, size.z - h - 0.25)))
            let it = WallItem(wall: k, u0: u0, u1: u0 + w, z0: z0, z1: z0 + h)
            guard free(it, margin: 0.15) else { continue }
            wallItems.append(it)
            buildPicture(&world, it, rng: &rng)
            placedPictures += 1
        }

        // Furniture: every recipe kind once (shuffled) before any repeats.
        let count = Int(rng.uniform(Float(preset.furniture.lowerBound)...Float(preset.furniture.upperBound) + 0.999))
        var kinds = FurnitureRecipes.kinds
        for i in stride(from: kinds.count - 1, to: 0, by: -1) { kinds.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let extras = ["chair", "cabinet", "otherfurniture", "chair", "table", "bookshelf", "otherfurniture"]
        while kinds.count < count { kinds.append(extras[kinds.count % extras.count]) }
        kinds = Array(kinds.prefix(count))
        // place big wall-standing pieces first
        let order: [String: Int] = ["bed": 0, "counter": 1, "bathtub": 2, "sofa": 3, "bookshelf": 4, "refrigerator": 5, "desk": 6,
                                    "cabinet": 7, "toilet": 8, "sink": 9, "table": 10, "otherfurniture": 11, "chair": 12]
        kinds.sort { (order[$0] ?? 20) < (order[$1] ?? 20) }
        var obstacles: [FloorRect] = []
        func fits(_ r: FloorRect, height: Float, margin: Float = 0.05) -> Bool {
            guard r.lo.x > 0.005, r.lo.y > 0.005, r.hi.x < size.x - 0.005, r.hi.y < size.y - 0.005 else { return false }
            if obstacles.contains(where: { $0.overlaps(r, margin: margin) }) { return false }
            if keepOut.contains(where: { $0.overlaps(r) }) { return false }
            if height > 0.75, lowOnly.contains(where: { $0.overlaps(r) }) { return false }
            return true
        }
        func footprint(_ recipe: FurnitureRecipes.Recipe, origin: SIMD3<Float>, yaw: Float) -> FloorRect {
            var lo = SIMD2<Float>(.infinity, .infinity), hi = -lo
            for piece in recipe.pieces {
                for part in piece.parts {
                    let f = part.box.placed(at: origin, yaw: yaw).footprint
                    lo = pointwiseMin(lo, f.lo); hi = pointwiseMax(hi, f.hi)
                }
            }
            return FloorRect(lo: lo, hi: hi)
        }
        func place(_ recipe: FurnitureRecipes.Recipe, origin: SIMD3<Float>, yaw: Float) {
            for piece in recipe.pieces {
                let o = world.addObject(kind: piece.kind)
                for part in piece.parts { world.addBox(part.box.placed(at: origin, yaw: yaw), object: o, colour: part.colour, texture: part.texture) }
            }
            obstacles.append(footprint(recipe, origin: origin, yaw: yaw))
        }
        func drawUpChair(to r: FloorRect, centre: SIMD2<Float>, sides: [SIMD2<Float>]) {
            for dir in sides {
                let chair = FurnitureRecipes.make("chair", rng: &rng)
                let yaw = atan2f(dir.x, -dir.y) + rng.uniform(-0.2...0.2)   // chair's front (+y) faces the table
                let reach = abs(dir.x) > 0.5 ? (r.hi.x - r.lo.x) / 2 : (r.hi.y - r.lo.y) / 2
                let along = SIMD2<Float>(-dir.y, dir.x) * rng.uniform(-0.15...0.15)
                let c = centre + dir * (reach + 0.12 + chair.footprintHi.y) + along
                let origin = SIMD3<Float>(c.x, c.y, 0)
                let f = footprint(chair, origin: origin, yaw: yaw)
                if fits(f, height: chair.height, margin: 0.02) { place(chair, origin: origin, yaw: yaw) }
            }
        }
        for kind in kinds {
            let recipe = FurnitureRecipes.make(kind, rng: &rng)
            var done = false
            for _ in 0..<60 where !done {
                let origin: SIMD3<Float>, yaw: Float
                if recipe.againstWall {
                    let k = Int(rng.next() % 4)
                    let f = wallFrame(k, size: size)
                    let uLo = -recipe.footprintLo.x + 0.03, uHi = f.length - recipe.footprintHi.x - 0.03
                    guard uHi > uLo else { continue }
                    origin = f.origin + f.along * rng.uniform(uLo...uHi) + f.inward * (-recipe.footprintLo.y + 0.012)
                    yaw = f.yaw
                } else {
                    let m: Float = 0.35
                    origin = SIMD3(rng.uniform(m...max(m, size.x - m)), rng.uniform(m...max(m, size.y - m)), 0)
                    yaw = Float(rng.next() % 4) * .pi / 2 + rng.uniform(-0.15...0.15)
                }
                let fp = footprint(recipe, origin: origin, yaw: yaw)
                guard fits(fp, height: recipe.height, margin: recipe.againstWall ? 0.05 : 0.45) else { continue }
                place(recipe, origin: origin, yaw: yaw)
                done = true
                let c = SIMD2<Float>(origin.x, origin.y)
                if kind == "table" {
                    drawUpChair(to: fp, centre: c, sides: [[1, 0], [-1, 0], [0, 1], [0, -1]].filter { _ in rng.uniform(0...1) < 0.6 })
                } else if kind == "desk" {
                    drawUpChair(to: fp, centre: c, sides: [SIMD2(-sinf(yaw), cosf(yaw))])
                }
            }
        }
        return GeneratedRoom(world: world, obstacles: obstacles)
    }

    // MARK: the shell

    static func buildShell(_ world: inout SyntheticWorld, openings: [WallItem], rng: inout SplitMix64) {
        let size = world.size
        let floor = world.addObject(kind: "floor")
        let floorColour = FurnitureRecipes.pick(FurnitureRecipes.woods + [[0.6, 0.6, 0.58], [0.45, 0.42, 0.40]], &rng)
        world.addQuad([0, 0, 0], [size.x, 0, 0], [size.x, size.y, 0], [0, size.y, 0], normal: [0, 0, 1], object: floor,
                      colour: floorColour, texture: rng.uniform(0...1) < 0.5 ? .wood : .tiles)
        let ceiling = world.addObject(kind: "ceiling", label: SyntheticWorld.unlabelled)
        world.addQuad([0, 0, size.z], [size.x, 0, size.z], [size.x, size.y, size.z], [0, size.y, size.z], normal: [0, 0, -1],
                      object: ceiling, colour: [0.93, 0.93, 0.92], texture: .paint)
        let paint = FurnitureRecipes.pick([[0.88, 0.87, 0.82], [0.80, 0.84, 0.86], [0.90, 0.85, 0.78], [0.75, 0.78, 0.72]], &rng)
        let t = wallThickness
        for k in 0..<4 {
            let f = wallFrame(k, size: size)
            let wall = world.addObject(kind: "wall")
            let colour = FurnitureRecipes.jitter(paint, &rng, 0.02)
            func p(_ u: Float, _ z: Float, _ depth: Float = 0) -> SIMD3<Float> { f.origin + f.along * u + SIMD3(0, 0, z) - f.inward * depth }
            let holes = openings.filter { $0.wall == k }
            var cuts: [Float] = [0, f.length] + holes.flatMap { h -> [Float] in [h.u0, h.u1] }
            cuts.sort()
            for (ua, ub) in zip(cuts, cuts.dropFirst()) where ub - ua > 1e-4 {
                var spans: [(Float, Float)] = [(0, size.z)]
                for h in holes where h.u0 <= ua + 1e-5 && h.u1 >= ub - 1e-5 {
                    spans = spans.flatMap { s -> [(Float, Float)] in
                        var out: [(Float, Float)] = []
                        if h.z0 > s.0 { out.append((s.0, min(s.1, h.z0))) }
                        if h.z1 < s.1 { out.append((max(s.0, h.z1), s.1)) }
                        return out
                    }
                }
                for s in spans where s.1 - s.0 > 1e-4 {
                    world.addQuad(p(ua, s.0), p(ub, s.0), p(ub, s.1), p(ua, s.1), normal: f.inward, object: wall, colour: colour, texture: .paint)
                }
            }
            // reveals of each opening (the wall's thickness)
            for h in holes {
                world.addQuad(p(h.u0, h.z0), p(h.u0, h.z1), p(h.u0, h.z1, t), p(h.u0, h.z0, t), normal: f.along, object: wall, colour: colour, texture: .paint)
                world.addQuad(p(h.u1, h.z0), p(h.u1, h.z1), p(h.u1, h.z1, t), p(h.u1, h.z0, t), normal: -f.along, object: wall, colour: colour, texture: .paint)
                world.addQuad(p(h.u0, h.z1), p(h.u1, h.z1), p(h.u1, h.z1, t), p(h.u0, h.z1, t), normal: [0, 0, -1], object: wall, colour: colour, texture: .paint)
                if h.z0 > 0 {
                    world.addQuad(p(h.u0, h.z0), p(h.u1, h.z0), p(h.u1, h.z0, t), p(h.u0, h.z0, t), normal: [0, 0, 1], object: wall, colour: colour, texture: .paint)
                }
            }
        }
    }

    /// A box in wall coordinates: u along the wall, z up, depth into the wall (negative = into the room).
    static func wallBox(_ it: WallItem, size: SIMD3<Float>, u0: Float, u1: Float, z0: Float, z1: Float, d0: Float, d1: Float) -> OrientedBox {
        let f = wallFrame(it.wall, size: size)
        let c = f.origin + f.along * ((u0 + u1) / 2) + SIMD3(0, 0, (z0 + z1) / 2) - f.inward * ((d0 + d1) / 2)
        return OrientedBox(centre: c, half: SIMD3(abs(u1 - u0) / 2, abs(d1 - d0) / 2, abs(z1 - z0) / 2), yaw: f.yaw)
    }

    static func buildDoor(_ world: inout SyntheticWorld, _ it: WallItem, rng: inout SplitMix64) {
        let o = world.addObject(kind: "door")
        let s = world.size
        let c = FurnitureRecipes.pick(FurnitureRecipes.woods + FurnitureRecipes.whites, &rng)
        world.addBox(wallBox(it, size: s, u0: it.u0 + 0.001, u1: it.u1 - 0.001, z0: 0.003, z1: it.z1 - 0.001, d0: 0.03, d1: 0.07), object: o, colour: c, texture: .wood)
        let trim = c * 0.9
        world.addBox(wallBox(it, size: s, u0: it.u0 - 0.07, u1: it.u0, z0: 0.003, z1: it.z1 + 0.07, d0: -0.015, d1: -0.001), object: o, colour: trim, texture: .wood)
        world.addBox(wallBox(it, size: s, u0: it.u1, u1: it.u1 + 0.07, z0: 0.003, z1: it.z1 + 0.07, d0: -0.015, d1: -0.001), object: o, colour: trim, texture: .wood)
        world.addBox(wallBox(it, size: s, u0: it.u0 - 0.07, u1: it.u1 + 0.07, z0: it.z1, z1: it.z1 + 0.07, d0: -0.015, d1: -0.001), object: o, colour: trim, texture: .wood)
        let hu = rng.uniform(0...1) < 0.5 ? it.u0 + 0.08 : it.u1 - 0.08
        world.addBox(wallBox(it, size: s, u0: hu - 0.06, u1: hu + 0.06, z0: 0.98, z1: 1.02, d0: -0.03, d1: 0.031), object: o,
                     colour: FurnitureRecipes.pick(FurnitureRecipes.metals, &rng), texture: .metal)
    }

    static func buildWindow(_ world: inout SyntheticWorld, _ it: WallItem, rng: inout SplitMix64) {
        let o = world.addObject(kind: "window")
        let s = world.size
        let frame = FurnitureRecipes.pick(FurnitureRecipes.whites + FurnitureRecipes.woods, &rng)
        let glass = FurnitureRecipes.jitter([0.55, 0.68, 0.78], &rng, 0.08)
        world.addBox(wallBox(it, size: s, u0: it.u0, u1: it.u1, z0: it.z0, z1: it.z1, d0: 0.055, d1: 0.065), object: o, colour: glass, texture: .glass)
        let b: Float = 0.05
        for (u0, u1, z0, z1) in [(it.u0, it.u0 + b, it.z0, it.z1), (it.u1 - b, it.u1, it.z0, it.z1),
                                 (it.u0 + b - 0.002, it.u1 - b + 0.002, it.z0, it.z0 + b), (it.u0 + b - 0.002, it.u1 - b + 0.002, it.z1 - b, it.z1)] {
            world.addBox(wallBox(it, size: s, u0: u0, u1: u1, z0: z0, z1: z1, d0: 0.02, d1: 0.10), object: o, colour: frame, texture: .paint)
        }
        if it.u1 - it.u0 > 1.0 {
            let m = (it.u0 + it.u1) / 2
            world.addBox(wallBox(it, size: s, u0: m - 0.025, u1: m + 0.025, z0: it.z0 + b - 0.002, z1: it.z1 - b + 0.002, d0: 0.03, d1: 0.09), object: o, colour: frame, texture: .paint)
        }
        world.addBox(wallBox(it, size: s, u0: it.u0 - 0.05, u1: it.u1 + 0.05, z0: it.z0 - 0.03, z1: it.z0 + 0.001, d0: -0.12, d1: -0.002), object: o, colour: frame, texture: .paint)
    }

    static func buildPicture(_ world: inout SyntheticWorld, _ it: WallItem, rng: inout SplitMix64) {
        let o = world.addObject(kind: "picture")
        let s = world.size
        let frame = FurnitureRecipes.pick(FurnitureRecipes.woods + FurnitureRecipes.metals, &rng)
        let canvas = SIMD3<Float>(rng.uniform(0.1...0.9), rng.uniform(0.1...0.9), rng.uniform(0.1...0.9))
        let f: Float = rng.uniform(0.02...0.05)
        world.addBox(wallBox(it, size: s, u0: it.u0 + f - 0.002, u1: it.u1 - f + 0.002, z0: it.z0 + f - 0.002, z1: it.z1 - f + 0.002, d0: -0.018, d1: -0.003),
                     object: o, colour: canvas, texture: .paper)
        for (u0, u1, z0, z1) in [(it.u0, it.u0 + f, it.z0, it.z1), (it.u1 - f, it.u1, it.z0, it.z1),
                                 (it.u0 + f - 0.001, it.u1 - f + 0.001, it.z0, it.z0 + f), (it.u0 + f - 0.001, it.u1 - f + 0.001, it.z1 - f, it.z1)] {
            world.addBox(wallBox(it, size: s, u0: u0, u1: u1, z0: z0, z1: z1, d0: -0.03, d1: -0.003), object: o, colour: frame, texture: .wood)
        }
    }

    static func buildCurtain(_ world: inout SyntheticWorld, _ it: WallItem, rng: inout SplitMix64) {
        let o = world.addObject(kind: "curtain")
        let s = world.size
        let c = FurnitureRecipes.pick(FurnitureRecipes.fabrics + FurnitureRecipes.whites, &rng)
        let pleat: Float = 0.07
        var u = it.u0, k = 0
        while u < it.u1 - 0.01 {
            let d0: Float = k % 2 == 0 ? -0.10 : -0.14
            world.addBox(wallBox(it, size: s, u0: u, u1: min(it.u1, u + pleat + 0.004), z0: it.z0, z1: it.z1, d0: d0 - 0.012, d1: d0),
                         object: o, colour: FurnitureRecipes.jitter(c, &rng, 0.015), texture: .fabric)
            u += pleat; k += 1
        }
    }
}
