/// One object of a synthetic world: an instance with a class, built from parts.
public struct SyntheticObject: Sendable {
    /// Instance id, 1-based (0 = none, as ScanNet's instance labels).
    public var instance: Int32
    /// ScanNet-20 class index, or `SyntheticWorld.unlabelled` (the ceiling).
    public var label: Int32
    /// What it is ("chair", "ceiling", "wall", ...).
    public var kind: String
    /// The object's box parts in world coordinates (empty for the room shell's quads).
    public var boxes: [OrientedBox] = []
}

/// A surface part: every mesh triangle belongs to one (its object, colour and texture).
public struct SurfacePart: Sendable {
    /// Index into `SyntheticWorld.objects`.
    public var object: Int32
    public var colour: SIMD3<Float>
    public var texture: SurfaceTexture
    public var textureSeed: UInt32
    /// Index of the part's box in its object's `boxes` (-1 for a quad of the room shell).
    public var boxIndex: Int32 = -1
}

/// A generated indoor room: a triangle mesh whose every triangle names its part, object,
/// instance and ScanNet-20 class. Built by `RoomGenerator`; sampled by `SurfaceSampler`,
/// rendered by `RGBDRenderer`. z is up, the floor at z = 0, the room spans [0, size.x]×[0, size.y].
public struct SyntheticWorld: Sendable {
    /// The ground-truth label of surfaces outside ScanNet-20 (the ceiling): ignored in scoring.
    public static let unlabelled: Int32 = 255
    /// ScanNet-20 class names in label order (OpenScene's `label_constants.py`).
    public static let classNames = ["wall", "floor", "cabinet", "bed", "chair", "sofa", "table", "door",
                                    "window", "bookshelf", "picture", "counter", "desk", "curtain",
                                    "refrigerator", "shower curtain", "toilet", "sink", "bathtub",
                                    "otherfurniture"]

    public var size: SIMD3<Float>
    public var objects: [SyntheticObject] = []
    public var parts: [SurfacePart] = []
    public var mesh = TriangleMesh()

    public init(size: SIMD3<Float>) { self.size = size }

    public static func classIndex(_ name: String) -> Int32 {
        Int32(classNames.firstIndex(of: name) ?? 19)
    }

    /// Adds an object and returns its index; `label` nil means the class named `kind`.
    public mutating func addObject(kind: String, label: Int32? = nil) -> Int {
        objects.append(SyntheticObject(instance: Int32(objects.count + 1), label: label ?? SyntheticWorld.classIndex(kind), kind: kind))
        return objects.count - 1
    }

    private mutating func addPart(object: Int, colour: SIMD3<Float>, texture: SurfaceTexture, boxIndex: Int32 = -1) -> Int32 {
        parts.append(SurfacePart(object: Int32(object), colour: colour, texture: texture,
                                 textureSeed: UInt32(truncatingIfNeeded: parts.count &* 2_654_435_761 &+ object), boxIndex: boxIndex))
        return Int32(parts.count - 1)
    }

    /// Adds a box part (world coordinates) to `object`.
    public mutating func addBox(_ box: OrientedBox, object: Int, colour: SIMD3<Float>, texture: SurfaceTexture) {
        let p = addPart(object: object, colour: colour, texture: texture, boxIndex: Int32(objects[object].boxes.count))
        box.triangulate(into: &mesh, part: p)
        objects[object].boxes.append(box)
    }

    /// Adds a one-sided quad part (the room shell) facing `normal`.
    public mutating func addQuad(_ a: SIMD3<Float>, _ b: SIMD3<Float>, _ c: SIMD3<Float>, _ d: SIMD3<Float>,
                                 normal: SIMD3<Float>, object: Int, colour: SIMD3<Float>, texture: SurfaceTexture) {
        let p = addPart(object: object, colour: colour, texture: texture)
        mesh.addOrientedQuad(a, b, c, d, normal: normal, part: p)
    }

    /// The object of mesh triangle `t`.
    @inline(__always) public func object(ofTriangle t: Int) -> SyntheticObject {
        objects[Int(parts[Int(mesh.partOfTriangle[t])].object)]
    }

    /// Class label and instance id per triangle.
    public var triangleLabels: (labels: [Int32], instances: [Int32]) {
        var l = [Int32](repeating: 0, count: mesh.triangleCount), ins = l
        for t in 0..<mesh.triangleCount {
            let o = object(ofTriangle: t)
            l[t] = o.label
            ins[t] = o.instance
        }
        return (l, ins)
    }

    /// Shaded colour of a surface point of part `part` with unit normal `n` (albedo × a fixed
    /// soft top light); points and rendered pixels share it.
    public func shadedColour(part: Int, at p: SIMD3<Float>, normal n: SIMD3<Float>) -> SIMD3<Float> {
        let s = parts[part]
        let a = s.texture.albedo(base: s.colour, at: p, seed: s.textureSeed)
        let light = SyntheticMath.normalize(SIMD3<Float>(0.3, 0.2, 1))
        let lambert = abs(SyntheticMath.dot(n, light))
        return simd_clamp01(a * (0.62 + 0.38 * lambert))
    }

    /// Number of instances of each class (index = ScanNet-20 label).
    public var instancesPerClass: [Int] {
        var c = [Int](repeating: 0, count: SyntheticWorld.classNames.count)
        for o in objects where o.label >= 0 && Int(o.label) < c.count { c[Int(o.label)] += 1 }
        return c
    }
}
