/// Scores fused teacher features on a synthetic scene with ov3d's evaluation (standard
/// convention: classes present in the ground truth; points no view saw and unlabelled points
/// are ignored), and compares the agglomeration methods on the text-aligned teachers.
public enum SyntheticEvaluation {
    /// Ground truth for scoring: the points' ScanNet-20 labels, 255 where unlabelled or unseen.
    public static func groundTruth(labels: [Int32], seen: [UInt8]) -> [Int32] {
        (0..<labels.count).map { seen[$0] != 0 && labels[$0] != SyntheticWorld.unlabelled ? labels[$0] : 255 }
    }

    /// mIoU/mAcc of text-space features against the vocabulary.
    public static func score(features: [Float], vocabulary: Vocabulary, groundTruth: [Int32], threads: Int = 0) throws -> (metrics: SegmentationMetrics, labels: [Int32]) {
        let labels = try vocabulary.classify(features: features, threads: threads).labels
        return (try SegmentationMetrics.evaluate(predictions: labels, groundTruth: groundTruth, classes: vocabulary.count, ignore: 255), labels)
    }

    /// Each text-aligned teacher alone, the mean, the max-similarity baseline and capability-
    /// guided fusion with each given table (name, table), in that order.
    public static func compare(teachers: [FusedTeacher], vocabulary: Vocabulary, groundTruth: [Int32],
                               capabilities: [(String, CapabilityTable)], temperature: Float = 0.05,
                               threads: Int = 0) throws -> [(name: String, metrics: SegmentationMetrics, features: [Float])] {
        let text = teachers.filter { $0.textAligned }
        try require(!text.isEmpty, "evaluation: no text-aligned teachers")
        var rows: [(name: String, metrics: SegmentationMetrics, features: [Float])] = []
        for t in text { rows.append((t.name, try score(features: t.features, vocabulary: vocabulary, groundTruth: groundTruth, threads: threads).metrics, t.features)) }
        let feats = text.map(\.features)
        let mean = try TeacherFusion.fuse(teachers: feats, vocabulary: vocabulary, method: .mean, threads: threads).features
        rows.append(("mean of teachers", try score(features: mean, vocabulary: vocabulary, groundTruth: groundTruth, threads: threads).metrics, mean))
        let linear = try TeacherFusion.fuse(teachers: feats, vocabulary: vocabulary, method: .maxSimilarity, threads: threads).features
        rows.append(("max similarity", try score(features: linear, vocabulary: vocabulary, groundTruth: groundTruth, threads: threads).metrics, linear))
        for (name, table) in capabilities {
            let f = try TeacherFusion.fuse(teachers: feats, vocabulary: vocabulary, method: .capability(table, temperature: temperature), threads: threads).features
            rows.append((name, try score(features: f, vocabulary: vocabulary, groundTruth: groundTruth, threads: threads).metrics, f))
        }
        return rows
    }

    /// A teacher that is not text-aligned (DINOv2-like, diffusion-like) scored by a linear probe:
    /// softmax regression (`GeometryProbe.Classifier`) trained on the labelled points of one half
    /// of the room (x below the median of the scored points; at most `maxTrainRows` of them, evenly
    /// strided) and scored on the other half. Uses labels (unlike the zero-shot text teachers):
    /// it measures how much class information the features carry, not open-vocabulary accuracy.
    public static func linearProbe(features: [Float], dimension d: Int, positions: [Float], groundTruth: [Int32], classes: Int,
                                   maxTrainRows: Int = 4000, iterations: Int = 150) throws -> SegmentationMetrics {
        let n = groundTruth.count
        try require(d > 0 && features.count == n * d && positions.count == 3 * n, "linear probe: features, positions and labels disagree")
        let scored = (0..<n).filter { groundTruth[$0] != 255 }
        try require(scored.count >= 2, "linear probe: fewer than two labelled points")
        let xs = scored.map { positions[3 * $0] }.sorted()
        let mid = xs[xs.count / 2]
        let train = scored.filter { positions[3 * $0] < mid }, test = scored.filter { positions[3 * $0] >= mid }
        let stride = max(1, train.count / maxTrainRows)
        var x: [Float] = [], y: [Int32] = []
        for r in Swift.stride(from: 0, to: train.count, by: stride) {
            let i = train[r]
            x += features[(i * d)..<((i + 1) * d)]; y.append(groundTruth[i])
        }
        let probe = try GeometryProbe.Classifier(features: x, labels: y, classes: classes, dim: d, iterations: iterations)
        var tx = [Float](); tx.reserveCapacity(test.count * d)
        for i in test { tx += features[(i * d)..<((i + 1) * d)] }
        let pred = probe.predict(tx)
        return try SegmentationMetrics.evaluate(predictions: pred, groundTruth: test.map { groundTruth[$0] }, classes: classes, ignore: 255)
    }

    /// The classes a teacher gets most wrong: (true class, most frequent wrong prediction, share).
    public static func errorPattern(predictions: [Int32], groundTruth: [Int32], classes: Int, top: Int = 4) -> [(String, String, Double)] {
        var conf = [Int](repeating: 0, count: classes * classes), total = [Int](repeating: 0, count: classes)
        for i in 0..<predictions.count where groundTruth[i] != 255 && (0..<Int32(classes)).contains(predictions[i]) {
            conf[Int(groundTruth[i]) * classes + Int(predictions[i])] += 1
            total[Int(groundTruth[i])] += 1
        }
        var out: [(String, String, Double)] = []
        for c in 0..<classes where total[c] > 0 {
            var best = -1, bn = 0
            for j in 0..<classes where j != c && conf[c * classes + j] > bn { bn = conf[c * classes + j]; best = j }
            if best >= 0 { out.append((SyntheticWorld.classNames[c], SyntheticWorld.classNames[best], Double(bn) / Double(total[c]))) }
        }
        return Array(out.sorted { $0.2 > $1.2 }.prefix(top))
    }
}
