/// One posed RGB-D frame with a 2D feature map, as a fusion session consumes it.
///
/// The depth image is `depthHeight × depthWidth` raw 16-bit values (metres = value / depth
/// scale of the session; 0 = invalid). The feature map is a `H' × W' × C` float32 or float16
/// tensor spanning the same field of view as the depth image; its resolution may differ (see
/// `FusionSession` for how a depth pixel picks its feature pixel).
public struct FusionFrame: Sendable {
    public var depthWidth: Int
    public var depthHeight: Int
    public var depth: [UInt16]
    /// Intrinsics of the depth image.
    public var intrinsics: PinholeIntrinsics
    public var pose: CameraPose
    /// `H' × W' × C`, float32 or float16.
    public var features: Tensor

    public init(depthWidth: Int, depthHeight: Int, depth: [UInt16], intrinsics: PinholeIntrinsics,
                pose: CameraPose, features: Tensor) throws {
        try require(depthWidth > 0 && depthHeight > 0 && depthWidth <= 1 << 15 && depthHeight <= 1 << 15,
                    "frame: depth size \(depthWidth)×\(depthHeight) is out of range (1...32768)")
        try require(depth.count == depthWidth * depthHeight,
                    "frame: depth has \(depth.count) values, expected \(depthWidth)×\(depthHeight)")
        try require(features.rank == 3, "frame: features must be H×W×C, got shape \(features.shape)")
        try require(features.dtype == .float32 || features.dtype == .float16,
                    "frame: features must be float32 or float16, got \(features.dtype.rawValue)")
        try require(features.shape.allSatisfy { $0 > 0 }, "frame: features shape \(features.shape) has a zero dimension")
        try require(features.shape[0] <= 1 << 15 && features.shape[1] <= 1 << 15,
                    "frame: feature map \(features.shape[1])×\(features.shape[0]) is too large")
        self.depthWidth = depthWidth
        self.depthHeight = depthHeight
        self.depth = depth
        self.intrinsics = intrinsics
        self.pose = pose
        self.features = features
    }

    public var featureHeight: Int { features.shape[0] }
    public var featureWidth: Int { features.shape[1] }
    public var featureChannels: Int { features.shape[2] }
}
