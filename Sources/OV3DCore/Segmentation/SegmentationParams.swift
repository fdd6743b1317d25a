/// What a segmentation computes, beyond the model and the vocabulary.
public struct SegmentationParams: Sendable {
    /// Metres per voxel; nil = the voxel size recorded in the checkpoint (`ov3d.voxel_size`),
    /// else `Segmenter.defaultVoxelSize` (0.02, indoor).
    public var voxelSize: Double?
    /// Index of the model head whose features are scored (0 = `final`, the CLIP-space head).
    public var head: Int = 0
    /// Threads (0 = all cores).
    public var threads: Int = 0
    /// Also compute per-point probabilities over the vocabulary: softmax(cosine / temperature).
    public var probabilities = false
    /// Softmax temperature of `probabilities` (0.01 = CLIP's logit scale of 100).
    public var temperature: Float = 0.01
    /// Optional per-point 2D features fused from posed images (OpenScene multi-view fusion), one
    /// row of the vocabulary's dimension per input point, used as given.
    public var fused: FusedFeatures?
    /// Optional superpoint id per input point (any integers; < 0 = none): every point of a
    /// superpoint takes its majority label, its score becomes that label's cosine.
    public var superpoints: [Int32]?
    /// OpenScene's random rotation/scale before voxelising (off by default).
    public var augmentation: Voxelizer.Augmentation?

    public init(voxelSize: Double? = nil, head: Int = 0, threads: Int = 0) {
        self.voxelSize = voxelSize
        self.head = head
        self.threads = threads
    }
}

/// 2D features fused onto the points, and how they combine with the network's 3D features.
public struct FusedFeatures: Sendable {
    /// `inputCount × dimension` floats, in input point order (rows of skipped points are ignored).
    public var features: [Float]
    /// Per input point, non-zero = it has a 2D feature (nil: "its feature is not all zeros").
    public var mask: [UInt8]?
    /// `.fusion` (2D only; points without a 2D feature get -1), `.distill` (3D only),
    /// `.ensemble(.maxScore)` (OpenScene) or `.ensemble(.average)` (CUA-O3D).
    public var mode: FeatureEnsemble.Mode

    public init(features: [Float], mask: [UInt8]? = nil, mode: FeatureEnsemble.Mode = .ensemble(.maxScore)) {
        self.features = features
        self.mask = mask
        self.mode = mode
    }
}
