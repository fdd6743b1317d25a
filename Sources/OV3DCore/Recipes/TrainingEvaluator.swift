/// Evaluation during training (OpenScene's `evaluate` every `eval_freq` epochs): runs the
/// network in evaluation mode (BatchNorm on running statistics) over held-out scenes, one scene
/// per forward, and scores the points with ov3d's evaluation modes (`FeatureEnsemble`:
/// `distill` = the 3D head's features, `fusion` = the fused 2D features, `ensemble`) and metric
/// (`SegmentationMetrics`, one confusion matrix over all points of all scenes). Distill labels
/// are computed per voxel and broadcast to the points (bounded memory); the fusion baseline does
/// not depend on the network and is computed once.
public final class TrainingEvaluator {
    public let scenes: [EvaluationScene]
    public let vocabulary: Vocabulary
    public let modes: [FeatureEnsemble.Mode]
    /// The head scored (CUA-O3D and SAS score only the LSeg/CLIP head `final`).
    public let head: String
    public let convention: MetricConvention
    /// The head was trained on centred targets: the ensemble modes see its features mapped back
    /// into the text space (`TextSpaceCentering.uncentred`, per voxel) so that their cosine
    /// scores compare with the 2D features' (what `ov3d demo --centred` does).
    public let centred: Bool
    private var fusionCache: SegmentationMetrics?

    public init(scenes: [EvaluationScene], vocabulary: Vocabulary, modes: [FeatureEnsemble.Mode] = [.distill],
                head: String = "final", convention: MetricConvention = .openScene, centred: Bool = false) throws {
        try require(!scenes.isEmpty, "evaluation: no held-out scenes")
        try require(!modes.isEmpty, "evaluation: no modes")
        if modes.contains(where: { $0 != .distill }) {
            for s in scenes {
                try require(s.fused2D?.count == s.pointCount * vocabulary.dimension,
                            "evaluation scene '\(s.name)': the \(modes.map(Self.name).joined(separator: "/")) modes need fused 2D features of width \(vocabulary.dimension)")
            }
        }
        self.scenes = scenes; self.vocabulary = vocabulary; self.modes = modes
        self.head = head; self.convention = convention; self.centred = centred
    }

    /// The report name of a mode: `distill`, `fusion`, `ensemble` (OpenScene's max-score rule)
    /// or `ensemble_average` (CUA-O3D's).
    public static func name(_ m: FeatureEnsemble.Mode) -> String {
        switch m {
        case .distill: return "distill"
        case .fusion: return "fusion"
        case .ensemble(.maxScore): return "ensemble"
        case .ensemble(.average): return "ensemble_average"
        }
    }

    /// Metrics per mode, in `modes` order. Restores the network's training flag.
    public func evaluate(_ net: TrainableNetwork, threads: Int = 1) throws -> [(mode: String, metrics: SegmentationMetrics)] {
        guard let hi = net.heads.firstIndex(where: { $0.name == head }) else {
            throw OV3DError.invalidArgument("evaluation: the network has no head '\(head)' (heads: \(net.heads.map(\.name).joined(separator: ", ")))")
        }
        let d = net.heads[hi].dim
        try require(d == vocabulary.dimension, "evaluation: head '\(head)' is \(d)-d, the vocabulary \(vocabulary.dimension)-d")
        let k = vocabulary.count
        let wasTraining = net.training
        net.training = false
        defer { net.training = wasTraining }
        var matrices = [ConfusionMatrix]()
        for _ in modes { matrices.append(try ConfusionMatrix(classes: k)) }
        for s in scenes {
            var coords = [Int32](repeating: 0, count: s.voxelCount * 4)
            for v in 0..<s.voxelCount { for a in 0..<3 { coords[4 * v + 1 + a] = s.coords[3 * v + a] } }
            let inCh = s.features.map { $0.count / s.voxelCount } ?? 3
            let batch = TrainingBatch(coords: coords, features: s.features ?? [Float](repeating: 1, count: s.voxelCount * 3), inChannels: inCh)
            let out = try net.forward(batch, threads: threads)
            try require(out.count == net.heads.count && out[hi].count == s.voxelCount * d, "evaluation: the network returned outputs of the wrong shape")
            let voxelFeatures = out[hi]
            let ensembleFeatures = centred && modes.contains(where: { if case .ensemble = $0 { return true }; return false })
                ? try TextSpaceCentering.uncentred(voxelFeatures, vocabulary: vocabulary) : voxelFeatures
            for (mi, mode) in modes.enumerated() {
                let labels: [Int32]
                switch mode {
                case .distill:
                    let vl = try FeatureEnsemble.labels(mode: .distill, features3D: voxelFeatures, features2D: [], vocabulary: vocabulary, threads: threads)
                    labels = s.inverse.map { vl[Int($0)] }
                case .fusion:
                    labels = try FeatureEnsemble.labels(mode: .fusion, features3D: [], features2D: s.fused2D!, mask2D: s.mask2D,
                                                        vocabulary: vocabulary, threads: threads)
                case .ensemble:
                    var f3 = [Float](repeating: 0, count: s.pointCount * d)
                    for (i, v) in s.inverse.enumerated() {
                        let src = Int(v) * d
                        for j in 0..<d { f3[i * d + j] = ensembleFeatures[src + j] }
                    }
                    labels = try FeatureEnsemble.labels(mode: mode, features3D: f3, features2D: s.fused2D!, mask2D: s.mask2D,
                                                        vocabulary: vocabulary, threads: threads)
                }
                try matrices[mi].add(predictions: labels, groundTruth: s.labels, ignore: 255)
            }
        }
        return zip(modes, matrices).map { (Self.name($0), SegmentationMetrics($1, convention: convention)) }
    }
}
