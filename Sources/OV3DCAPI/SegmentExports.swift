import CSupport
import OV3DCore

// ov3d.h section "Segmentation" (issue 14): one-call segmentation and heat-map queries on a
// session, through the library's `Segmenter` (the pipeline of `ov3d segment` / `ov3d query`).

@_cdecl("ov3d_segment_default_params")
public func ov3d_segment_default_params() -> ov3d_segment_params {
    var p = ov3d_segment_params()
    p.struct_size = UInt32(MemoryLayout<ov3d_segment_params>.size)
    p.head = 0
    p.voxel_size = 0
    p.temperature = 0.01
    p.fused_features = nil
    p.fused_count = 0
    p.fused_mask = nil
    p.fused_mode = Int32(OV3D_EVAL_ENSEMBLE_MAX.rawValue)
    p.superpoints = nil
    p.superpoints_count = 0
    return p
}

/// Checks an optional caller output buffer: NULL (skip) or at least `need` elements.
private func optionalOutput<T>(_ p: UnsafeMutablePointer<T>?, _ capacity: Int, need: Int, _ name: String) throws -> UnsafeMutablePointer<T>? {
    guard let p else { return nil }
    try require(capacity >= need, "\(name)_capacity is \(capacity), less than the \(need) elements needed")
    return p
}

@_cdecl("ov3d_segment")
public func ov3d_segment(_ session: OpaquePointer?, _ points: UnsafePointer<ov3d_points>?, _ vocabulary: OpaquePointer?,
                         _ params: UnsafePointer<ov3d_segment_params>?,
                         _ outLabels: UnsafeMutablePointer<Int32>?, _ labelsCapacity: Int,
                         _ outScores: UnsafeMutablePointer<Float>?, _ scoresCapacity: Int,
                         _ outProbabilities: UnsafeMutablePointer<Float>?, _ probabilitiesCapacity: Int,
                         _ outFeatures: UnsafeMutablePointer<Float>?, _ featuresCapacity: Int,
                         _ outInfo: UnsafeMutablePointer<ov3d_segment_info>?) -> Int32 {
    capi {
        let s = try borrow(session, as: SessionBox.self, kind: HandleKind.session, name: "session")
        s.lastSegmentation = nil   // a failed call leaves no stale result to query
        let v = try borrow(vocabulary, as: VocabularyBox.self, kind: HandleKind.vocabulary, name: "vocabulary").vocabulary
        let p = try readParams(params.map(UnsafeRawPointer.init), defaults: ov3d_segment_default_params(),
                               minSize: MemoryLayout<ov3d_segment_params>.size, name: "params")
        // out_info: this header's struct, or the ABI 1.0 one (without broadcast_ms).
        let infoSizes = [MemoryLayout<ov3d_segment_info>.offset(of: \ov3d_segment_info.broadcast_ms)!,
                         MemoryLayout<ov3d_segment_info>.size]
        var infoSize = 0
        if let outInfo {
            infoSize = Int(UnsafeRawPointer(outInfo).loadUnaligned(as: UInt32.self))
            try require(infoSizes.contains(infoSize),
                        "out_info.struct_size is \(infoSize), expected sizeof(ov3d_segment_info) = \(MemoryLayout<ov3d_segment_info>.size) (or \(infoSizes[0]) from an ABI 1.0 header)")
        }
        let model = s.model
        let heads = model.model.spec.heads
        try require(p.head >= 0 && Int(p.head) < heads.count, "params.head must be 0..<\(heads.count), got \(p.head)")
        try require(p.voxel_size == 0 || (p.voxel_size.isFinite && p.voxel_size > 0),
                    "params.voxel_size must be 0 (the checkpoint's, else the session's) or positive, got \(p.voxel_size)")
        try require(p.temperature.isFinite && p.temperature > 0, "params.temperature must be finite and > 0, got \(p.temperature)")
        let cloud = try readPoints(points, finite: false)
        let n = cloud.count
        let d = v.dimension, k = v.count
        let labels = try optionalOutput(outLabels, labelsCapacity, need: n, "labels")
        let scores = try optionalOutput(outScores, scoresCapacity, need: n, "scores")
        let (pk, o1) = n.multipliedReportingOverflow(by: k)
        let (pd, o2) = n.multipliedReportingOverflow(by: d)
        try require(!o1 && !o2, "n_points × vocabulary size is too large")
        let probabilities = try optionalOutput(outProbabilities, probabilitiesCapacity, need: pk, "probabilities")
        let features = try optionalOutput(outFeatures, featuresCapacity, need: pd, "features")

        var sp = SegmentationParams(head: Int(p.head), threads: applyThreads(s.params.n_threads))
        sp.voxelSize = p.voxel_size != 0 ? Double(p.voxel_size) : (model.recordedVoxelSize ?? Double(s.params.voxel_size))
        sp.temperature = p.temperature
        sp.probabilities = probabilities != nil
        if let f = p.fused_features {
            try require(p.fused_count == pd, "params.fused_count is \(p.fused_count), expected n_points × dim = \(pd)")
            let mode: FeatureEnsemble.Mode
            switch p.fused_mode {
            case Int32(OV3D_EVAL_FUSION.rawValue): mode = .fusion
            case Int32(OV3D_EVAL_DISTILL.rawValue): mode = .distill
            case Int32(OV3D_EVAL_ENSEMBLE_MAX.rawValue): mode = .ensemble(.maxScore)
            case Int32(OV3D_EVAL_ENSEMBLE_AVERAGE.rawValue): mode = .ensemble(.average)
            default: throw OV3DError.invalidArgument("params.fused_mode \(p.fused_mode) is not an ov3d_eval_mode")
            }
            let mask = p.fused_mask.map { Array(UnsafeBufferPointer(start: $0, count: n)) }
            sp.fused = FusedFeatures(features: Array(UnsafeBufferPointer(start: f, count: pd)), mask: mask, mode: mode)
        } else {
            try require(p.fused_count == 0 && p.fused_mask == nil, "params.fused_count / fused_mask are set without fused_features")
        }
        if let ids = p.superpoints {
            try require(p.superpoints_count == n, "params.superpoints_count is \(p.superpoints_count), expected n_points = \(n)")
            sp.superpoints = Array(UnsafeBufferPointer(start: ids, count: n))
        } else {
            try require(p.superpoints_count == 0, "params.superpoints_count is set without superpoints")
        }
        let r = try model.segmenter.segment(positions: cloud.positions, vocabulary: v, params: sp,
                                            workspace: s.workspace, progress: sessionProgress(s))
        r.labels.withUnsafeBufferPointer { if let labels { labels.update(from: $0.baseAddress!, count: n) } }
        r.scores.withUnsafeBufferPointer { if let scores { scores.update(from: $0.baseAddress!, count: n) } }
        if let probabilities { r.probabilities.withUnsafeBufferPointer { probabilities.update(from: $0.baseAddress!, count: pk) } }
        if let features { r.pointFeatures().withUnsafeBufferPointer { features.update(from: $0.baseAddress!, count: pd) } }
        if let outInfo {
            var info = ov3d_segment_info()
            info.struct_size = UInt32(infoSize)
            info.n_points = n
            info.n_skipped = r.skippedCount
            info.n_voxels = r.voxelCount
            info.dim = d
            info.voxel_size = Float(r.voxelSize)
            info.voxelize_ms = r.timings.voxelizeMs
            info.network_ms = r.timings.networkMs
            info.scoring_ms = r.timings.scoringMs
            info.total_ms = r.timings.totalMs
            info.broadcast_ms = r.timings.broadcastMs
            withUnsafeBytes(of: &info) { UnsafeMutableRawPointer(outInfo).copyMemory(from: $0.baseAddress!, byteCount: infoSize) }
        }
        s.lastSegmentation = r
    }
}

private func lastResult(_ s: SessionBox) throws -> SegmentationResult {
    guard let r = s.lastSegmentation else {
        throw OV3DError.invalidArgument("this session has no segmentation to query (call ov3d_segment first; a failed ov3d_segment clears it)")
    }
    return r
}

@_cdecl("ov3d_query")
public func ov3d_query(_ session: OpaquePointer?, _ embedding: UnsafePointer<Float>?, _ dim: Int,
                       _ out: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    capi {
        let s = try borrow(session, as: SessionBox.self, kind: HandleKind.session, name: "session")
        let r = try lastResult(s)
        try require(dim == r.dimension, "dim is \(dim) but the segmentation's features have \(r.dimension)")
        let e = try nonNull(embedding, "embedding")
        try require(capacity >= r.count, "out_capacity \(capacity) is less than the \(r.count) points of the segmentation")
        let out = try nonNull(out, "out_scores")
        let heat = try r.query(embedding: Array(UnsafeBufferPointer(start: e, count: dim)), threads: applyThreads(s.params.n_threads))
        heat.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: heat.count) }
    }
}

@_cdecl("ov3d_query_text")
public func ov3d_query_text(_ session: OpaquePointer?, _ encoder: OpaquePointer?, _ text: UnsafePointer<CChar>?,
                            _ params: UnsafePointer<ov3d_text_encode_params>?,
                            _ out: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    capi {
        let s = try borrow(session, as: SessionBox.self, kind: HandleKind.session, name: "session")
        let enc = try borrow(encoder, as: TextEncoderBox.self, kind: HandleKind.textEncoder, name: "encoder").encoder
        let t = try cString(text, name: "text", maxBytes: CLIPTokenizer.maxTextBytes)
        let opts = try readEncodeParams(params)
        let r = try lastResult(s)
        try require(capacity >= r.count, "out_capacity \(capacity) is less than the \(r.count) points of the segmentation")
        let out = try nonNull(out, "out_scores")
        let heat = try r.query(text: t, encoder: enc, options: opts)
        heat.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: heat.count) }
    }
}
