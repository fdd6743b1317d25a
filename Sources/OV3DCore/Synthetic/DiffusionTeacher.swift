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
    /// Per-cell Gaussian noise (norm of the noise vector relative to the unit feature).
    public var noise: Float = 0.2
    public var seed: UInt64
    public var textAligned: Bool { false }
    let projection: [Float]
    /// The appearance term's codes (one per colour channel).
    let colourCodes: [[Float]]

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
        let d = self.dimension
        colourCodes = (0..<3).map { TeacherMath.code(dim: d, seed: seed, key: 0x6000 &+ UInt64($0)) }
    }

    /// The codes of the object instances (the instance term of `addSurfaceTerms`), memoised.
    func instanceCodes() -> TeacherMath.InstanceCodes { TeacherMath.InstanceCodes(dim: dimension, seed: seed, base: 0x7000) }

    /// The semantic term of `rows` samples: the fixed random projection (dimension × 512) of the
    /// CLIP embeddings they report (`rows × 512`) → `rows × dimension`.
    func project(_ clip: [Float], rows: Int) -> [Float] {
        GEMM.multiply(clip, projection, m: rows, k: semantic.dimension, n: dimension, transB: true)
    }

    /// Completes the clean feature of a surface sample (before noise, blur and normalisation)
    /// whose semantic term (`project`) is at `out[base..<base + dimension]`: adds its instance's
    /// code `ic` (`instanceCodes()`) and the appearance of its colour (`colour` in 0...1). The one
    /// implementation both the frame path (`cellFeatures`, per cell) and the point path
    /// (`PointLevelTeachers.diffusion`, per point) use.
    func addSurfaceTerms(instanceCode ic: [Float], colour: SIMD3<Float>, into out: UnsafeMutableBufferPointer<Float>, at base: Int) {
        let col = colour - 0.5
        let c0 = colourCodes[0], c1 = colourCodes[1], c2 = colourCodes[2]
        for k in 0..<dimension {
            out[base + k] += instanceWeight * ic[k] + appearanceWeight * (col.x * c0[k] + col.y * c1[k] + col.z * c2[k])
        }
    }

    /// The clean features of a view's cells in frame `frameIndex` (`height × width × dimension`,
    /// zeros where it sees nothing): the reported class's projected embedding + surface terms.
    func cellFeatures(view: TeacherView, frameIndex: Int) -> [Float] {
        let clip = semantic.featureMap(view: view, frameIndex: frameIndex, isolated: false)
        let d = dimension, n = view.width * view.height
        var out = project(clip, rows: n)
        out.withUnsafeMutableBufferPointer { o in
            var codes = instanceCodes()
            for c in 0..<n where view.classes[c] >= 0 {
                addSurfaceTerms(instanceCode: codes.code(view.instances[c]), colour: view.colours[c], into: o, at: c * d)
            }
        }
        return out
    }

    public func featureMap(_ frame: RenderedFrame, frameIndex: Int, world: SyntheticWorld) -> [Float] {
        let view = TeacherView(frame: frame, world: world, width: featureWidth, height: featureHeight)
        let d = dimension, n = featureWidth * featureHeight
        var out = cellFeatures(view: view, frameIndex: frameIndex)
        var rng = SplitMix64(seed: seed &+ UInt64(frameIndex) &* 104_729)
        for c in 0..<n where view.classes[c] >= 0 {
            for k in 0..<d { out[c * d + k] += noise * rng.normal() / Float(d).squareRoot() }
        }
        let valid = view.classes.map { $0 >= 0 }
        TeacherMath.boxBlur(&out, width: featureWidth, height: featureHeight, dim: d, radius: 1, valid: valid)
        TeacherMath.normalizeRows(&out, dim: d)
        return out
    }
}
