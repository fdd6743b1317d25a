/// How per-class numbers are averaged and how points without a prediction count.
public enum MetricConvention: String, Sendable, CaseIterable {
    /// Default. IoU_c = TP/(TP+FP+FN) with every GT point of c that was not predicted c
    /// (including out-of-range predictions) a false negative; Acc_c = TP/#GT_c (recall).
    /// mIoU and mAcc average over the classes that occur in the ground truth after removing
    /// ignored points. Equals scikit-learn's `jaccard_score` / `recall_score` per class.
    case standard
    /// OpenScene / CUA-O3D / SAS `util/metric.py`: out-of-range predictions (NO_FEATURE_ID 256)
    /// are cropped from the matrix — they are not false negatives for IoU, but they still count
    /// in the accuracy denominator; classes without GT points are skipped but the sums are
    /// divided by the total number of classes K. (Where OpenScene's code would fail on a class
    /// with GT points but an empty cropped union, IoU 0 is used.)
    case openScene
}

/// Per-class IoU and accuracy, mIoU and mAcc from a confusion matrix. Per-class values are nil
/// where undefined (IoU: empty union; Acc: no GT points), so nothing is NaN.
public struct SegmentationMetrics: Sendable, Equatable {
    public var convention: MetricConvention
    public var iou: [Double?]
    public var accuracy: [Double?]
    /// Classes with at least one GT point (after removing ignored points).
    public var presentClasses: [Int]
    public var meanIoU: Double
    public var meanAccuracy: Double
    /// Fraction of evaluated (non-ignored) points predicted correctly.
    public var overallAccuracy: Double
    public var evaluatedPoints: Int64

    public init(_ m: ConfusionMatrix, convention: MetricConvention = .standard) {
        self.convention = convention
        let k = m.classes
        iou = [Double?](repeating: nil, count: k)
        accuracy = [Double?](repeating: nil, count: k)
        presentClasses = []
        var tpAll: Int64 = 0, total: Int64 = 0
        var sumIoU = 0.0, sumAcc = 0.0
        for c in 0..<k {
            let tp = m[c, c]
            let gtAll = m.groundTruthCount(c)
            let gtAssigned = gtAll - m.unassigned[c]
            let fp = m.predictedCount(c) - tp
            let fn = (convention == .openScene ? gtAssigned : gtAll) - tp
            let union = tp + fp + fn
            tpAll += tp
            total += gtAll
            if union > 0 { iou[c] = Double(tp) / Double(union) }
            if gtAll > 0 {
                accuracy[c] = Double(tp) / Double(gtAll)
                presentClasses.append(c)
                sumIoU += iou[c] ?? 0
                sumAcc += accuracy[c] ?? 0
            }
        }
        let denom = convention == .openScene ? Double(k) : Double(presentClasses.count)
        meanIoU = denom > 0 ? sumIoU / denom : 0
        meanAccuracy = denom > 0 ? sumAcc / denom : 0
        overallAccuracy = total > 0 ? Double(tpAll) / Double(total) : 0
        evaluatedPoints = total
    }

    /// Evaluates one label array against ground truth.
    public static func evaluate(predictions: [Int32], groundTruth: [Int32], classes: Int, ignore: Int32? = 255,
                                convention: MetricConvention = .standard) throws -> SegmentationMetrics {
        var m = try ConfusionMatrix(classes: classes)
        try m.add(predictions: predictions, groundTruth: groundTruth, ignore: ignore)
        return SegmentationMetrics(m, convention: convention)
    }
}
