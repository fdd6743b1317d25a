/// A held-out scene for evaluation during training: the voxels the network runs on (no
/// augmentation), the point → voxel map, the ground-truth label of every point (255 =
/// unlabelled) and, for the `fusion` and `ensemble` modes, the fused 2D feature of every point
/// with its has-feature mask (openscene-pipeline.md §4).
public struct EvaluationScene: Sendable {
    public var name: String
    /// Voxels × 3 (x y z, ≥ 0).
    public var coords: [Int32]
    /// Voxels × inChannels input features; nil = ones (OpenScene's `input_color: False`).
    public var features: [Float]?
    /// Voxel row of every point.
    public var inverse: [Int32]
    /// Per point, class id or 255.
    public var labels: [Int32]
    /// Points × D fused 2D features (nil: the fusion/ensemble modes are skipped for this scene).
    public var fused2D: [Float]?
    /// Per point, non-zero = has a 2D feature (nil: non-zero feature).
    public var mask2D: [UInt8]?

    public var voxelCount: Int { coords.count / 3 }
    public var pointCount: Int { inverse.count }

    public init(name: String, coords: [Int32], features: [Float]? = nil, inverse: [Int32], labels: [Int32],
                fused2D: [Float]? = nil, mask2D: [UInt8]? = nil) throws {
        try require(coords.count % 3 == 0 && !coords.isEmpty, "evaluation scene '\(name)': coords must be a non-empty voxels × 3 array")
        try require(labels.count == inverse.count && !inverse.isEmpty, "evaluation scene '\(name)': \(labels.count) labels for \(inverse.count) points")
        let v = coords.count / 3
        try require(inverse.allSatisfy { $0 >= 0 && Int($0) < v }, "evaluation scene '\(name)': the inverse map points outside 0..<\(v)")
        if let m = mask2D { try require(m.count == inverse.count, "evaluation scene '\(name)': the 2D mask has \(m.count) entries for \(inverse.count) points") }
        if let f = fused2D { try require(f.count % inverse.count == 0, "evaluation scene '\(name)': fused 2D features are not points × D") }
        self.name = name; self.coords = coords; self.features = features; self.inverse = inverse
        self.labels = labels; self.fused2D = fused2D; self.mask2D = mask2D
    }
}
