/// A simulated 2D foundation model: per rendered frame, a feature map at its own resolution
/// (`featureHeight × featureWidth × dimension`, row-major, channels last, zeros where the view
/// sees nothing). SIMULATED: these stand in for LSeg, SEEM, DINOv2 and Stable Diffusion, which
/// cannot run here; their errors are modelled, not learned, and say nothing of the real models.
public protocol SimulatedFeatureTeacher: Sendable {
    var name: String { get }
    var dimension: Int { get }
    var featureWidth: Int { get }
    var featureHeight: Int { get }
    /// True when the features live in the CLIP ViT-B/32 text space (scored against the vocabulary).
    var textAligned: Bool { get }
    /// The feature map of frame `frameIndex`.
    func featureMap(_ frame: RenderedFrame, frameIndex: Int, world: SyntheticWorld) -> [Float]
}

/// The text embeddings the text-aligned teachers use: ScanNet-20 rows (CLIP ViT-B/32) and one
/// for "ceiling" (a surface outside the vocabulary that a teacher still sees).
public struct TeacherTextSpace: Sendable {
    public var vocabulary: Vocabulary
    /// `(classes + 1) × dimension`: the vocabulary's rows, then the ceiling's.
    public var rows: [Float]
    public var dimension: Int { vocabulary.dimension }
    public var classes: Int { vocabulary.count }
    public var source: String

    public init(vocabulary: Vocabulary, ceiling: [Float]?, source: String) throws {
        self.vocabulary = vocabulary
        let d = vocabulary.dimension
        var c = ceiling ?? TeacherMath.code(dim: d, seed: 0xCE11, key: 1)
        try require(c.count == d, "teacher text space: the ceiling embedding has \(c.count) values, not \(d)")
        TeacherMath.normalizeRows(&c, dim: d)
        rows = vocabulary.embeddings + c
        self.source = source
    }

    /// A stand-in text space of generated unit vectors (when no CLIP embeddings are available).
    public static func generated(names: [String] = SyntheticWorld.classNames, dimension: Int = 512, seed: UInt64 = 99) throws -> TeacherTextSpace {
        let e = (0..<names.count).flatMap { TeacherMath.code(dim: dimension, seed: seed, key: UInt64($0) + 7) }
        return try TeacherTextSpace(vocabulary: try Vocabulary(names: names, embeddings: e, dimension: dimension), ceiling: nil,
                                    source: "generated \(dimension)-d unit vectors (no CLIP embeddings found)")
    }
}

extension TeacherTextSpace {
    /// Loads the real CLIP ViT-B/32 label embeddings from a folder holding
    /// `clip_scannet_labels_512.npy` (20 × 512; the repository's `data/clip`, or
    /// `../shared/data/clip/text_embeddings`) and, when present, `clip_ceiling_512.npy`.
    public static func load(folder: String) throws -> TeacherTextSpace {
        let t = try NPY.read(path: FileIO.join(folder, "clip_scannet_labels_512.npy"))
        try require(t.shape == [SyntheticWorld.classNames.count, 512], "\(folder): expected 20×512 CLIP embeddings, got \(t.shape)")
        let vocab = try Vocabulary(names: SyntheticWorld.classNames, embeddings: t.floats(), dimension: 512)
        let cp = FileIO.join(folder, "clip_ceiling_512.npy")
        let ceiling = FileIO.exists(cp) ? try NPY.read(path: cp).floats() : nil
        return try TeacherTextSpace(vocabulary: vocab, ceiling: ceiling.flatMap { $0.count == 512 ? $0 : nil },
                                    source: "real CLIP ViT-B/32 text embeddings from \(folder)")
    }

    /// The first folder of `candidates` that holds the embeddings, else generated vectors.
    public static func find(candidates: [String]) throws -> TeacherTextSpace {
        for dir in candidates where FileIO.exists(FileIO.join(dir, "clip_scannet_labels_512.npy")) {
            return try load(folder: dir)
        }
        return try generated()
    }
}
