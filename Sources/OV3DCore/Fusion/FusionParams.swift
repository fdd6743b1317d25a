/// Parameters of multi-view fusion (OpenScene `fusion_util.py`; per-dataset values in
/// `openscene-pipeline.md` §6.2: ScanNet/Replica 0.25 and 10 px, Matterport 0.02 and 10 px).
public struct FusionParams: Sendable, Equatable {
    /// Relative depth tolerance: a point is visible iff `|d − z| ≤ visibilityThreshold · d`.
    public var visibilityThreshold: Double = 0.25
    /// Pixels ignored at each image border: keep `cut ≤ u < W − cut`, `cut ≤ v < H − cut`.
    public var cutBound: Int = 10
    /// Raw depth value per metre (ScanNet/7-Scenes 1000, Matterport 4000, Replica 6553.5).
    public var depthScale: Double = 1000
    /// Worker threads (0 = all cores).
    public var threads: Int = 0
    /// Memory limit in bytes (`--max-memory`; nil = `OV3D_MAX_MEMORY`, else none): a session
    /// whose projected memory exceeds it is refused before it allocates (`Memory.checkProjected`).
    public var memoryLimit: Int? = nil

    public init(visibilityThreshold: Double = 0.25, cutBound: Int = 10, depthScale: Double = 1000, threads: Int = 0) {
        self.visibilityThreshold = visibilityThreshold
        self.cutBound = cutBound
        self.depthScale = depthScale
        self.threads = threads
    }

    public func validate() throws {
        try require(visibilityThreshold.isFinite && visibilityThreshold >= 0,
                    "fusion: visibility threshold must be finite and >= 0, got \(visibilityThreshold)")
        try require(cutBound >= 0 && cutBound <= 1 << 14, "fusion: cut bound must be 0...16384 pixels, got \(cutBound)")
        try require(depthScale.isFinite && depthScale > 0, "fusion: depth scale must be finite and > 0, got \(depthScale)")
    }
}
