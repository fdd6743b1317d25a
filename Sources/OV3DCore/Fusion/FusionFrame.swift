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
        try require(FusionFrame.allFinite(features), "frame: the feature map contains NaN or Inf")
        self.depthWidth = depthWidth
        self.depthHeight = depthHeight
        self.depth = depth
        self.intrinsics = intrinsics
        self.pose = pose
        self.features = features
    }

    /// True when every value of a float32/float16 tensor is finite (a max-reduction over the
    /// exponent bits, parallel over chunks).
    static func allFinite(_ t: Tensor, threads: Int = 0) -> Bool {
        let b = t.bytes
        let n = t.count
        let half = t.dtype == .float16
        guard n > 0 else { return true }
        if Int(bitPattern: b.baseAddress!) % (half ? 2 : 4) != 0 {
            for i in 0..<n {
                let bad = half ? b.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) & 0x7C00 == 0x7C00
                               : b.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) & 0x7F80_0000 == 0x7F80_0000
                if bad { return false }
            }
            return true
        }
        let chunks = max(1, min(Threads.resolve(threads), n / (1 << 18)))
        var worst = [UInt32](repeating: 0, count: chunks)
        worst.withUnsafeMutableBufferPointer { w in
            let box = UncheckedSendable(w)
            parallelFor(chunks, threads: chunks) { r in
                for c in r {
                    let lo = n * c / chunks, hi = n * (c + 1) / chunks
                    var mx: UInt32 = 0
                    if half {
                        let p = b.baseAddress!.assumingMemoryBound(to: UInt16.self)
                        for i in lo..<hi { mx = max(mx, UInt32(p[i] & 0x7C00)) }
                    } else {
                        let p = b.baseAddress!.assumingMemoryBound(to: UInt32.self)
                        for i in lo..<hi { mx = max(mx, p[i] & 0x7F80_0000) }
                    }
                    box.value[c] = mx
                }
            }
        }
        let inf: UInt32 = half ? 0x7C00 : 0x7F80_0000
        return !worst.contains(inf)
    }

    public var featureHeight: Int { features.shape[0] }
    public var featureWidth: Int { features.shape[1] }
    public var featureChannels: Int { features.shape[2] }
}
