/// A simulated text-aligned 2D teacher (LSeg- or SEEM-like): a pixel's feature is the CLIP text
/// embedding of the class the teacher *reports* for the object it sees, then blurred across
/// object boundaries, corrupted by noise and L2-normalised. SIMULATED — not a real model.
///
/// What it reports is drawn from its confusion matrix *per object per view*: each object has a
/// persistent belief (drawn once from its class's row), and in each view the teacher flickers to
/// a fresh draw with probability `flicker`. Ceiling pixels (outside the vocabulary) use the
/// extra "ceiling" row of the text space.
public struct TextAlignedTeacher: SimulatedFeatureTeacher {
    public var name: String
    public var space: TeacherTextSpace
    /// Over the vocabulary's classes plus "ceiling" (last).
    public var confusion: TeacherConfusion
    public var flicker: Float
    /// Box-blur radius in feature cells (mixes features across object boundaries).
    public var blurRadius: Int
    /// Per-cell Gaussian noise (norm of the noise vector relative to the unit feature).
    public let noise: Float
    public var featureWidth: Int
    public var featureHeight: Int
    public var seed: UInt64
    /// How much easier an object alone on a plain background is (see `TeacherConfusion.relieved`).
    public var isolatedRelief: Float

    public var dimension: Int { space.dimension }
    public var textAligned: Bool { true }
    /// Seeded Gaussian noise vectors, one picked per cell and frame (fast and deterministic).
    let noiseBank: [Float]
    static let noiseBankSize = 521

    public init(name: String, space: TeacherTextSpace, confusion: TeacherConfusion, flicker: Float, blurRadius: Int, noise: Float,
                featureWidth: Int, featureHeight: Int, seed: UInt64, isolatedRelief: Float = 0.3) {
        self.name = name; self.space = space; self.confusion = confusion; self.flicker = flicker
        self.blurRadius = blurRadius; self.noise = noise; self.featureWidth = featureWidth
        self.featureHeight = featureHeight; self.seed = seed; self.isolatedRelief = isolatedRelief
        var rng = SplitMix64(seed: seed ^ 0xB4A1)
        let d = space.dimension, scale = noise / Float(space.dimension).squareRoot()
        noiseBank = noise > 0 ? (0..<(TextAlignedTeacher.noiseBankSize * d)).map { _ in rng.normal() * scale } : []
    }

    /// The class reported for `instance` (true class `cls`, `classes` = ceiling) in view `view`.
    public func reportedClass(instance: Int32, trueClass cls: Int, view: Int, isolated: Bool = false) -> Int {
        let m = isolated ? confusion.relieved(isolatedRelief) : confusion
        let belief = m.draw(true: cls, uniform: TeacherMath.uniform(seed: seed, UInt64(UInt32(bitPattern: instance)), 0xBE11EF))
        let u = TeacherMath.uniform(seed: seed, UInt64(UInt32(bitPattern: instance)), UInt64(view) &+ 1)
        if u < flicker {
            return m.draw(true: cls, uniform: TeacherMath.uniform(seed: seed ^ 0xF11C, UInt64(UInt32(bitPattern: instance)), UInt64(view) &+ 1))
        }
        return belief
    }

    public func featureMap(_ frame: RenderedFrame, frameIndex: Int, world: SyntheticWorld) -> [Float] {
        featureMap(view: TeacherView(frame: frame, world: world, width: featureWidth, height: featureHeight), frameIndex: frameIndex, isolated: false)
    }

    /// The feature map of a teacher view (also used for the generated single-object images).
    public func featureMap(view: TeacherView, frameIndex: Int, isolated: Bool) -> [Float] {
        let d = dimension, n = view.width * view.height
        var out = [Float](repeating: 0, count: n * d)
        var decided: [Int32: Int] = [:]
        let valid = view.classes.map { $0 >= 0 }
        out.withUnsafeMutableBufferPointer { o in
            space.rows.withUnsafeBufferPointer { e in
                for c in 0..<n where valid[c] {
                    let inst = view.instances[c]
                    let r: Int
                    if let x = decided[inst] { r = x } else {
                        r = reportedClass(instance: inst, trueClass: Int(view.classes[c]), view: frameIndex, isolated: isolated)
                        decided[inst] = r
                    }
                    for k in 0..<d { o[c * d + k] = e[r * d + k] }
                }
            }
        }
        TeacherMath.boxBlur(&out, width: view.width, height: view.height, dim: d, radius: blurRadius, valid: valid)
        addNoise(&out, cells: n, valid: valid, frameIndex: frameIndex)
        TeacherMath.normalizeRows(&out, dim: d)
        return out
    }

    /// Adds Gaussian noise vectors (a bank of 521 seeded vectors, one picked per cell and frame).
    func addNoise(_ f: inout [Float], cells n: Int, valid: [Bool], frameIndex: Int) {
        guard noise > 0, !noiseBank.isEmpty else { return }
        let d = dimension
        let bankSize = TextAlignedTeacher.noiseBankSize
        let bank = noiseBank
        var pick = SplitMix64(seed: seed &+ UInt64(frameIndex) &* 0x9E37_79B9)
        f.withUnsafeMutableBufferPointer { o in
            bank.withUnsafeBufferPointer { b in
                for c in 0..<n where valid[c] {
                    let base = Int(pick.next() % UInt64(bankSize)) * d
                    for k in 0..<d { o[c * d + k] += b[base + k] }
                }
            }
        }
    }

    /// Classes by name over the vocabulary plus "ceiling".
    public static func confusionNames(_ space: TeacherTextSpace) -> [String] { space.vocabulary.names + ["ceiling"] }

    /// LSeg-like: pixel-level, boundaries blurred; wall-mounted things melt into the wall
    /// (picture → wall, door → wall, window → wall/curtain), desk → table, sink → counter,
    /// shower curtain → curtain, other furniture → cabinet/table; good at large furniture.
    public static func lsegLike(space: TeacherTextSpace, featureWidth: Int, featureHeight: Int, seed: UInt64) -> TextAlignedTeacher {
        let names = confusionNames(space)
        let c = TeacherConfusion(names: names, confusions: [
            ("picture", "wall", 0.55), ("door", "wall", 0.35), ("window", "wall", 0.35), ("window", "curtain", 0.1),
            ("curtain", "wall", 0.3), ("shower curtain", "curtain", 0.6), ("desk", "table", 0.45), ("sink", "counter", 0.35),
            ("otherfurniture", "cabinet", 0.3), ("otherfurniture", "table", 0.15), ("bathtub", "toilet", 0.15),
            ("counter", "table", 0.15), ("ceiling", "wall", 0.5)], leakage: 0.04)
        return TextAlignedTeacher(name: "lseg", space: space, confusion: c, flicker: 0.25, blurRadius: 1, noise: 0.35,
                                  featureWidth: featureWidth, featureHeight: featureHeight, seed: seed)
    }

    /// SEEM-like: mask-level regions (sharp boundaries, coherent per object) that are often
    /// misnamed among similar furniture: chair ↔ sofa, cabinet ↔ counter, bed → sofa,
    /// refrigerator → cabinet, bookshelf → cabinet, toilet ↔ sink, bathtub → sink; good at
    /// walls, floors and wall-mounted things.
    public static func seemLike(space: TeacherTextSpace, featureWidth: Int, featureHeight: Int, seed: UInt64) -> TextAlignedTeacher {
        let names = confusionNames(space)
        let c = TeacherConfusion(names: names, confusions: [
            ("chair", "sofa", 0.4), ("sofa", "chair", 0.3), ("cabinet", "counter", 0.45), ("counter", "cabinet", 0.45),
            ("bed", "sofa", 0.3), ("refrigerator", "cabinet", 0.4), ("bookshelf", "cabinet", 0.35), ("toilet", "sink", 0.35),
            ("sink", "toilet", 0.25), ("bathtub", "sink", 0.3), ("otherfurniture", "chair", 0.3), ("table", "desk", 0.3),
            ("ceiling", "wall", 0.3)], leakage: 0.03)
        return TextAlignedTeacher(name: "seem", space: space, confusion: c, flicker: 0.35, blurRadius: 0, noise: 0.2,
                                  featureWidth: featureWidth, featureHeight: featureHeight, seed: seed &+ 1)
    }
}
