#if canImport(Glibc)
import Glibc
#endif

/// SAS's annotation-free capability construction (`sas-and-superpoints.md` §3), simulated:
/// for every class, render single-object "generated images" — the object alone (a recipe
/// instance, or a door / window / picture / curtain on a bare wall, or the bare wall and floor)
/// in a small empty room of random size and colours, from a random viewpoint, with random
/// light — run each teacher on them, compare its mask of every class the image shows (the
/// object, and the wall and floor around it) with that class's mask, and accumulate IoU per
/// class. The target scenes' labels are never used.
///
/// Teachers see these images through `TextAlignedTeacher.featureMap(view:isolated: true)`: an
/// object alone is easier than in a cluttered room (its confusion matrix relieved toward the
/// identity by `isolatedRelief`), the domain gap between SAS's generated images and real scans.
public enum GeneratedImageCapabilities {
    /// One generated image: the world, the view and the class it shows.
    public struct Image: Sendable {
        public var world: SyntheticWorld
        public var frame: RenderedFrame
        public var cls: Int
    }

    /// Renders image `index` of class `cls` (deterministic for the seed).
    public static func image(cls: Int, index: Int, width: Int, height: Int, seed: UInt64) -> Image {
        var rng = SplitMix64(seed: seed ^ (UInt64(cls) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(index) &* 0xD1B5_4A32_D192_ED03))
        let name = SyntheticWorld.classNames[cls]
        let size = SIMD3<Float>(rng.uniform(3.0...4.0), rng.uniform(3.0...4.0), rng.uniform(2.4...2.8))
        var world = SyntheticWorld(size: size)
        let wallLen = size.x
        var openings: [RoomGenerator.WallItem] = []
        var item: RoomGenerator.WallItem?
        switch name {
        case "door":
            let w = rng.uniform(0.8...0.95), u0 = rng.uniform(0.4...(wallLen - w - 0.4))
            item = RoomGenerator.WallItem(wall: 0, u0: u0, u1: u0 + w, z0: 0, z1: rng.uniform(2.0...2.1))
            openings = [item!]
        case "window":
            let w = rng.uniform(0.8...1.6), u0 = rng.uniform(0.4...(wallLen - w - 0.4)), z0 = rng.uniform(0.8...1.0)
            item = RoomGenerator.WallItem(wall: 0, u0: u0, u1: u0 + w, z0: z0, z1: min(size.z - 0.25, z0 + rng.uniform(1.0...1.3)))
            openings = [item!]
        case "picture", "curtain":
            let w = name == "picture" ? rng.uniform(0.3...1.0) : rng.uniform(0.3...0.6)
            let u0 = rng.uniform(0.4...(wallLen - w - 0.4))
            let z0: Float = name == "picture" ? rng.uniform(1.1...1.5) : 0.05
            let h: Float = name == "picture" ? rng.uniform(0.3...0.8) : size.z - 0.3
            item = RoomGenerator.WallItem(wall: 0, u0: u0, u1: u0 + w, z0: z0, z1: z0 + h)
        default: break
        }
        RoomGenerator.buildShell(&world, openings: openings, rng: &rng)
        var target = SIMD3<Float>(size.x / 2, 0, 1.2)
        switch name {
        case "door": RoomGenerator.buildDoor(&world, item!, rng: &rng)
        case "window": RoomGenerator.buildWindow(&world, item!, rng: &rng)
        case "picture": RoomGenerator.buildPicture(&world, item!, rng: &rng)
        case "curtain": RoomGenerator.buildCurtain(&world, item!, rng: &rng)
        case "wall": target = SIMD3(rng.uniform(0.8...(size.x - 0.8)), 0, rng.uniform(0.6...1.8))
        case "floor": target = SIMD3(rng.uniform(1...(size.x - 1)), rng.uniform(0.8...1.6), 0)
        default:
            let kind = name == "shower curtain" ? "bathtub" : name
            let recipe = FurnitureRecipes.make(kind, rng: &rng)
            let yaw = rng.uniform(-0.8...0.8)
            let origin = SIMD3<Float>(size.x / 2, 0.4 + (recipe.footprintHi.y - recipe.footprintLo.y) / 2 + 0.3, 0)
            for piece in recipe.pieces {
                let o = world.addObject(kind: piece.kind)
                for part in piece.parts { world.addBox(part.box.placed(at: origin, yaw: yaw), object: o, colour: part.colour, texture: part.texture) }
            }
            target = SIMD3(origin.x, origin.y, name == "shower curtain" ? 1.3 : recipe.height * 0.5)
        }
        if let it = item { target = SIMD3((it.u0 + it.u1) / 2, 0, (it.z0 + it.z1) / 2) }
        // camera: in front of the object at 1.2–2.4 m, random azimuth and height
        let dist = rng.uniform(1.2...2.4), az = rng.uniform(-0.7...0.7)
        var eye = target + SIMD3(sinf(az) * dist, cosf(az) * dist, 0)
        eye.z = rng.uniform(0.9...1.8)
        if name == "floor" { eye.z = rng.uniform(1.3...1.7) }
        eye.x = max(0.3, min(size.x - 0.3, eye.x)); eye.y = max(0.3, min(size.y - 0.3, eye.y))
        let pose = SensorPose(eye: eye, forward: target - eye, roll: rng.uniform(-0.05...0.05))
        let raycaster = MeshRaycaster(mesh: world.mesh)
        let frame = RGBDRenderer.render(world, raycaster: raycaster, pose: pose, intrinsics: .scanNetDepth(width: width, height: height),
                                        noise: .none, seed: seed &+ UInt64(cls * 1000 + index), threads: 1)
        return Image(world: world, frame: frame, cls: cls)
    }

    /// The capability table of `teachers` over the vocabulary's classes from `imagesPerClass`
    /// generated images per class. Classes in `excluded` (SAS: "other") get 0.
    public static func build(teachers: [TextAlignedTeacher], imagesPerClass: Int, width: Int = 160, height: Int = 120,
                             seed: UInt64, excluded: Set<Int> = [19], threads: Int = 0) throws -> CapabilityTable {
        try require(!teachers.isEmpty, "capabilities: no teachers")
        let space = teachers[0].space
        let classes = space.classes
        try require(imagesPerClass > 0 && imagesPerClass <= 10_000, "capabilities: images per class must be 1...10000")
        var builder = try CapabilityBuilder(teachers: teachers.count, classes: classes)
        for cls in 0..<min(classes, SyntheticWorld.classNames.count) where !excluded.contains(cls) {
            for i in 0..<imagesPerClass {
                let img = image(cls: cls, index: i, width: width, height: height, seed: seed)
                for (ti, teacher) in teachers.enumerated() {
                    var view = TeacherView(frame: img.frame, world: img.world, width: teacher.featureWidth, height: teacher.featureHeight)
                    // generated images are other objects than the scene's: their own instance ids
                    let offset = Int32(1_000_000 + (cls * 1000 + i) * 64)
                    view.instances = view.instances.map { $0 > 0 ? $0 + offset : 0 }
                    let map = teacher.featureMap(view: view, frameIndex: 1_000_000 + cls * 1000 + i, isolated: true)
                    let predicted = try teacher.space.vocabulary.classify(features: map, threads: threads).labels
                    // every class the generated image shows (its object, and the bare wall and
                    // floor around it) is scored, so a teacher that paints the object as wall
                    // loses on "wall" as well as on the object's class
                    let shown = Set(view.classes.filter { $0 >= 0 && Int($0) < classes && !excluded.contains(Int($0)) })
                    for k in shown.sorted() {
                        var gt = [UInt8](repeating: 0, count: predicted.count), mine = gt
                        for c in 0..<predicted.count where view.classes[c] >= 0 {
                            gt[c] = view.classes[c] == k ? 1 : 0
                            mine[c] = predicted[c] == k ? 1 : 0
                        }
                        try builder.add(teacher: ti, cls: Int(k), pseudoGroundTruth: gt, teacherMask: mine)
                    }
                }
            }
        }
        return try builder.table(excluded: excluded)
    }

    /// An oracle table for comparison only: the same IoU measured against the target scene's own
    /// ground truth (what the first edition of the demo did; SAS cannot have it).
    public static func oracle(teachers: [TextAlignedTeacher], frames: [RenderedFrame], world: SyntheticWorld,
                              excluded: Set<Int> = [19], threads: Int = 0) throws -> CapabilityTable {
        let classes = teachers[0].space.classes
        var builder = try CapabilityBuilder(teachers: teachers.count, classes: classes)
        for (fi, f) in frames.enumerated() {
            for (ti, teacher) in teachers.enumerated() {
                let view = TeacherView(frame: f, world: world, width: teacher.featureWidth, height: teacher.featureHeight)
                let predicted = try teacher.space.vocabulary.classify(features: teacher.featureMap(view: view, frameIndex: fi, isolated: false), threads: threads).labels
                for cls in 0..<classes where !excluded.contains(cls) {
                    let gt = view.classes.map { $0 == Int32(cls) ? UInt8(1) : 0 }
                    guard gt.contains(1) else { continue }
                    let mine = (0..<predicted.count).map { view.classes[$0] >= 0 && predicted[$0] == Int32(cls) ? UInt8(1) : 0 }
                    try builder.add(teacher: ti, cls: cls, pseudoGroundTruth: gt, teacherMask: mine)
                }
            }
        }
        return try builder.table(excluded: excluded)
    }
}
