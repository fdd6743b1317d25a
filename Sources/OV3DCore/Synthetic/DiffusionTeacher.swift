/// A simulated diffusion-like teacher (Stable-Diffusion/DIFT-like): high-dimensional semantic
/// features that are NOT text-aligned. A cell's feature is a fixed random projection (dimension ×
/// 512) of the CLIP embedding of the class it reports (drawn per object per view from a mild
/// confusion matrix, as `TextAlignedTeacher` does), plus appearance (colour) and instance
/// codes, on a coarse grid (1/8 of the image) with blur and noise. SIMULATED — not a real model.
public struct DiffusionTeacher: SimulatedFeatureTeacher {
    public var name: String = "diffusion"
    public var dimension: Int
    public var featureWidth: Int
    public var featureHeight: Int
    public var semantic: TextAlignedTeacher
    public var appearanceWeight: Float = 0.35
    public var instanceWeight: Float = 0.3
    public var seed: UInt64
    public var textAligned: Bool { false }
    let projection: [Float]

    public init(dimension: Int, space: TeacherTextSpace, imageWidth: Int, imageHeight: Int, seed: UInt64) {
        self.dimension = max(1, dimension)
        featureWidth = max(2, imageWidth / 8)
        featureHeight = max(2, imageHeight / 8)
        self.seed = seed
        let names = TextAlignedTeacher.confusionNames(space)
        let c = TeacherConfusion(names: names, confusions: [
            ("cabinet", "counter", 0.2), ("counter", "cabinet", 0.2), ("desk", "table", 0.25), ("table", "desk", 0.15),
            ("chair", "sofa", 0.15), ("curtain", "shower curtain", 0.15), ("shower curtain", "curtain", 0.3),
            ("picture", "window", 0.2), ("sink", "bathtub", 0.15), ("otherfurniture", "cabinet", 0.25)], leakage: 0.05)
        semantic = TextAlignedTeacher(name: "diffusion-semantic", space: space, confusion: c, flicker: 0.3, blurRadius: 0, noise: 0,
                                      featureWidth: featureWidth, featureHeight: featureHeight, seed: seed ^ 0xD1FF)
        var rng = SplitMix64(seed: seed ^ 0x5D)
        let s = 1 / Float(space.dimension).squareRoot()
        projection = (0..<(self.dimension * space.dimension)).map { _ in rng.normal() * s }
    }

    public func featureMap(_ frame: RenderedFrame, frameIndex: Int, world: SyntheticWorld) -> [Float] {
        let view = TeacherView(frame: frame, world: world, width: featureWidth, height: featureHeight)
        let clip = semantic.featureMap(view: view, frameIndex: frameIndex, isolated: false)
        let e = semantic.dimension, d = dimension, n = featureWidth * featureHeight
        var out = GEMM.multiply(clip, projection, m: n, k: e, n: d, transB: true)
        let colourCodes = (0..<3).map { TeacherMath.code(dim: d, seed: seed, key: 0x6000 &+ UInt64($0)) }
        var rng = SplitMix64(seed: seed &+ UInt64(frameIndex) &* 104_729)
        var codes = TeacherMath.InstanceCodes(dim: d, seed: seed, base: 0x7000)
        for c in 0..<n where view.classes[c] >= 0 {
            let ic = codes.code(view.instances[c])
            let col = view.colours[c] - 0.5
            for k in 0..<d {
                out[c * d + k] += instanceWeight * ic[k] + appearanceWeight * (col.x * colourCodes[0][k] + col.y * colourCodes[1][k] + col.z * colourCodes[2][k])
                out[c * d + k] += 0.2 * rng.normal() / Float(d).squareRoot()
            }
        }
        let valid = view.classes.map { $0 >= 0 }
        TeacherMath.boxBlur(&out, width: featureWidth, height: featureHeight, dim: d, radius: 1, valid: valid)
        TeacherMath.normalizeRows(&out, dim: d)
        return out
    }
}
