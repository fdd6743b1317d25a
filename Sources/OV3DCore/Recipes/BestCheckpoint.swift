/// OpenScene's best-checkpoint rule (`run/distill.py:226-242`): after each evaluation,
/// `is_best = mIoU > best_iou` (strictly; the first evaluation beats the initial 0) and the last
/// checkpoint is copied to the best one. The state (best mIoU and its epoch) travels in the
/// checkpoint's metadata so a resumed run keeps comparing against the same best.
public struct BestCheckpoint: Sendable, Equatable {
    public static let metricKey = "ov3d.best_miou"
    public static let epochKey = "ov3d.best_epoch"

    public private(set) var bestMetric: Double = 0
    public private(set) var bestEpoch: Int = 0

    public init() {}

    /// Restores the state from checkpoint metadata (absent keys: a fresh state).
    public init(metadata: [(String, String)]) throws {
        if let m = metadata.first(where: { $0.0 == Self.metricKey })?.1 {
            guard let v = Double(m), v.isFinite else { throw OV3DError.format("checkpoint metadata \(Self.metricKey) = '\(m)' is not a number") }
            bestMetric = v
        }
        if let e = metadata.first(where: { $0.0 == Self.epochKey })?.1 {
            guard let v = Int(e), v >= 0 else { throw OV3DError.format("checkpoint metadata \(Self.epochKey) = '\(e)' is not an epoch") }
            bestEpoch = v
        }
    }

    /// Offers an evaluation; returns whether it is the new best (then the caller copies the
    /// checkpoint). A non-finite metric never is.
    public mutating func offer(_ metric: Double, epoch: Int) -> Bool {
        guard metric.isFinite, metric > bestMetric else { return false }
        bestMetric = metric; bestEpoch = epoch
        return true
    }

    public var metadata: [(String, String)] { [(Self.metricKey, "\(bestMetric)"), (Self.epochKey, "\(bestEpoch)")] }

    /// Copies `from` to `to` byte for byte (the released `shutil.copyfile(model_last, model_best)`).
    public static func copy(from: String, to: String) throws {
        let b = try FileIO.read(from)
        try FileIO.write(to, b)
    }
}
