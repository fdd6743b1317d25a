/// A `K × K` confusion matrix of point labels accumulated over any number of scenes (one global
/// matrix, as OpenScene's `util/metric.py` does — no per-scene averaging).
///
/// Stored GT-major: `counts[gt * K + pred]`. Ground truth equal to the ignore label is skipped.
/// Predictions outside `0..<K` (OpenScene's `NO_FEATURE_ID = 256` for points without a 2D
/// feature, or any other out-of-range value) are counted per GT class in `unassigned`.
public struct ConfusionMatrix: Sendable, Equatable {
    public let classes: Int
    public private(set) var counts: [Int64]
    /// Per GT class: points whose prediction was outside `0..<K`.
    public private(set) var unassigned: [Int64]
    /// Points skipped because their GT was the ignore label.
    public private(set) var ignored: Int64 = 0

    public init(classes: Int) throws {
        try require(classes > 0 && classes <= 4096, "confusion matrix: class count must be 1...4096, got \(classes)")
        self.classes = classes
        counts = [Int64](repeating: 0, count: classes * classes)
        unassigned = [Int64](repeating: 0, count: classes)
    }

    /// Adds one scene's labels. GT values must be in `0..<K` or equal `ignore` (nil: none ignored).
    public mutating func add(predictions: UnsafeBufferPointer<Int32>, groundTruth: UnsafeBufferPointer<Int32>, ignore: Int32? = 255) throws {
        try require(predictions.count == groundTruth.count,
                    "evaluation: \(predictions.count) predictions but \(groundTruth.count) ground-truth labels")
        let k = classes
        for i in 0..<groundTruth.count {
            let g = groundTruth[i]
            if let ignore, g == ignore { ignored += 1; continue }
            guard g >= 0 && Int(g) < k else {
                throw OV3DError.invalidArgument("evaluation: ground-truth label \(g) at index \(i) is neither a class (0..<\(k)) nor the ignore label")
            }
            let p = predictions[i]
            if p >= 0 && Int(p) < k { counts[Int(g) * k + Int(p)] += 1 } else { unassigned[Int(g)] += 1 }
        }
    }

    public mutating func add(predictions: [Int32], groundTruth: [Int32], ignore: Int32? = 255) throws {
        try predictions.withUnsafeBufferPointer { p in
            try groundTruth.withUnsafeBufferPointer { g in try add(predictions: p, groundTruth: g, ignore: ignore) }
        }
    }

    public subscript(gt: Int, pred: Int) -> Int64 { counts[gt * classes + pred] }

    /// Ground-truth points of class `c` (including those with an out-of-range prediction).
    public func groundTruthCount(_ c: Int) -> Int64 {
        var s = unassigned[c]
        for p in 0..<classes { s += counts[c * classes + p] }
        return s
    }

    /// Points predicted as class `c`.
    public func predictedCount(_ c: Int) -> Int64 {
        var s: Int64 = 0
        for g in 0..<classes { s += counts[g * classes + c] }
        return s
    }
}
