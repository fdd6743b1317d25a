import CSupport
import OV3DCore

// ov3d.h section "Fusion and evaluation": online multi-view fusion sessions and multi-teacher
// agglomeration over caller buffers.

final class FusionBox: HandleBox {
    let session: FusionSession
    let params: ov3d_fusion_params
    init(session: FusionSession, params: ov3d_fusion_params) {
        self.session = session
        self.params = params
        super.init(kind: HandleKind.fusion)
    }
}

/// Largest element count accepted for one caller buffer (2^31 elements; inputs are copied, so
/// this also bounds the library's allocations).
let maxBufferElements = 1 << 31

/// `a * b` (and optional `* c`) as Int, or an invalidArgument error on overflow / above the limit.
func checkedCount(_ name: String, _ factors: Int...) throws -> Int {
    var r = 1
    for f in factors {
        try require(f >= 0, "\(name): negative size")
        let (m, o) = r.multipliedReportingOverflow(by: f)
        try require(!o && m <= maxBufferElements, "\(name): size is too large")
        r = m
    }
    return r
}

/// Wraps an optional C progress callback as a `Progress`.
func cProgress(_ cb: ov3d_progress_callback?, _ user: UnsafeMutableRawPointer?) -> Progress {
    guard let cb else { return .none }
    let box = UncheckedSendable((cb, user))
    return Progress { fraction, stage in
        stage.withCString { box.value.0(fraction, $0, box.value.1) == 0 }
    }
}

@_cdecl("ov3d_fusion_default_params")
public func ov3d_fusion_default_params() -> ov3d_fusion_params {
    var p = ov3d_fusion_params()
    p.struct_size = UInt32(MemoryLayout<ov3d_fusion_params>.size)
    p.depth_width = 640
    p.depth_height = 480
    p.feature_width = 0
    p.feature_height = 0
    p.feature_dim = 0
    p.cut_bound = 10
    p.n_threads = 0
    p.visibility_threshold = 0.25
    p.depth_scale = 1000
    return p
}

@_cdecl("ov3d_fusion_create")
public func ov3d_fusion_create(_ points: UnsafePointer<ov3d_points>?, _ params: UnsafeRawPointer?,
                               _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    capi {
        let out = try nonNull(out, "out")
        out.pointee = nil
        var p = try readParams(params, defaults: ov3d_fusion_default_params(),
                               minSize: MemoryLayout<ov3d_fusion_params>.size, name: "params")
        if p.feature_width == 0 { p.feature_width = p.depth_width }
        if p.feature_height == 0 { p.feature_height = p.depth_height }
        for (n, v) in [("depth_width", p.depth_width), ("depth_height", p.depth_height),
                       ("feature_width", p.feature_width), ("feature_height", p.feature_height)] {
            try require(v > 0 && v <= 1 << 15, "params.\(n) must be 1...32768, got \(v)")
        }
        try require(p.feature_dim > 0 && p.feature_dim <= 1 << 16, "params.feature_dim must be 1...65536, got \(p.feature_dim)")
        try require(p.n_threads >= 0 && p.n_threads <= 256, "params.n_threads must be 0...256, got \(p.n_threads)")
        let fp = FusionParams(visibilityThreshold: p.visibility_threshold, cutBound: Int(p.cut_bound),
                              depthScale: p.depth_scale, threads: Int(p.n_threads))
        try fp.validate()
        let cloud = try readPoints(points)
        _ = try checkedCount("points × feature_dim", cloud.count, Int(p.feature_dim))
        let s = try FusionSession(positions: cloud.positions, featureDim: Int(p.feature_dim), params: fp)
        out.pointee = makeHandle(FusionBox(session: s, params: p))
    }
}

@_cdecl("ov3d_fusion_add_frame")
public func ov3d_fusion_add_frame(_ h: OpaquePointer?, _ depth: UnsafePointer<UInt16>?, _ depthCount: Int,
                                  _ features: UnsafeRawPointer?, _ featureCount: Int, _ dtype: Int32,
                                  _ intrinsics: UnsafePointer<Double>?, _ pose: UnsafePointer<Double>?,
                                  _ outVisible: UnsafeMutablePointer<Int>?) -> Int32 {
    capi {
        let box = try borrow(h, as: FusionBox.self, kind: HandleKind.fusion, name: "fusion")
        let p = box.params
        let depth = try nonNull(depth, "depth")
        let features = try nonNull(features, "features")
        let intrinsics = try nonNull(intrinsics, "intrinsics")
        let pose = try nonNull(pose, "pose")
        let w = Int(p.depth_width), hgt = Int(p.depth_height)
        try require(depthCount == w * hgt, "depth_count is \(depthCount), the session expects \(w)×\(hgt) = \(w * hgt)")
        let nf = try checkedCount("features", Int(p.feature_height), Int(p.feature_width), Int(p.feature_dim))
        try require(featureCount == nf, "feature_count is \(featureCount), the session expects \(p.feature_height)×\(p.feature_width)×\(p.feature_dim) = \(nf)")
        let dt: DType
        switch dtype {
        case Int32(OV3D_FEATURE_F32.rawValue): dt = .float32
        case Int32(OV3D_FEATURE_F16.rawValue): dt = .float16
        default: throw OV3DError.invalidArgument("feature_dtype \(dtype) is not an ov3d_feature_dtype")
        }
        // Borrow the caller's feature buffer for the call (no copy; FusionFrame rejects NaN/Inf).
        let storage = ByteStorage(base: features, count: nf * dt.size, release: nil)
        let tensor = try Tensor(dtype: dt, shape: [Int(p.feature_height), Int(p.feature_width), Int(p.feature_dim)], storage: storage)
        let frame = try FusionFrame(
            depthWidth: w, depthHeight: hgt, depth: Array(UnsafeBufferPointer(start: depth, count: depthCount)),
            intrinsics: try PinholeIntrinsics(matrix: Array(UnsafeBufferPointer(start: intrinsics, count: 9))),
            pose: try CameraPose(cameraToWorld: Array(UnsafeBufferPointer(start: pose, count: 16))),
            features: tensor)
        let seen = try box.session.addFrame(frame)
        outVisible?.pointee = seen
    }
}

@_cdecl("ov3d_fusion_add_manifest")
public func ov3d_fusion_add_manifest(_ h: OpaquePointer?, _ path: UnsafePointer<CChar>?,
                                     _ cb: ov3d_progress_callback?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    capi {
        let box = try borrow(h, as: FusionBox.self, kind: HandleKind.fusion, name: "fusion")
        let file = try cString(path, name: "manifest_path")
        let m = try FusionManifest(path: file)
        if let s = m.depthScale {
            try require(s == box.params.depth_scale, "\(file): depth_scale \(s) differs from the session's \(box.params.depth_scale)")
        }
        let progress = cProgress(cb, user)
        // Frames are loaded and fused one at a time (memory stays bounded); on an error the
        // frames before the failing one remain fused.
        for i in m.entries.indices {
            try progress.report(Float(i) / Float(max(m.entries.count, 1)), "fusion")
            let f = try m.loadFrame(i)
            try require(f.depthWidth == Int(box.params.depth_width) && f.depthHeight == Int(box.params.depth_height),
                        "\(m.entries[i].depthPath): depth is \(f.depthWidth)×\(f.depthHeight), the session expects \(box.params.depth_width)×\(box.params.depth_height)")
            try require(f.featureWidth == Int(box.params.feature_width) && f.featureHeight == Int(box.params.feature_height),
                        "\(m.entries[i].featuresPath): feature map is \(f.featureWidth)×\(f.featureHeight), the session expects \(box.params.feature_width)×\(box.params.feature_height)")
            try box.session.addFrame(f)
        }
        try progress.report(1, "fusion")
    }
}

@_cdecl("ov3d_fusion_snapshot")
public func ov3d_fusion_snapshot(_ h: OpaquePointer?, _ features: UnsafeMutablePointer<Float>?, _ featuresCap: Int,
                                 _ mask: UnsafeMutablePointer<UInt8>?, _ maskCap: Int,
                                 _ counts: UnsafeMutablePointer<UInt32>?, _ countsCap: Int) -> Int32 {
    capi {
        let box = try borrow(h, as: FusionBox.self, kind: HandleKind.fusion, name: "fusion")
        let s = box.session
        let n = s.pointCount, c = s.featureDim
        if features != nil { try require(featuresCap >= n * c, "features_capacity \(featuresCap) < \(n)×\(c)") }
        if mask != nil { try require(maskCap >= n, "mask_capacity \(maskCap) < \(n) points") }
        if counts != nil { try require(countsCap >= n, "counts_capacity \(countsCap) < \(n) points") }
        try s.snapshot(features: features.map { UnsafeMutableBufferPointer(start: $0, count: n * c) },
                       mask: mask.map { UnsafeMutableBufferPointer(start: $0, count: n) },
                       counts: counts.map { UnsafeMutableBufferPointer(start: $0, count: n) })
    }
}

@_cdecl("ov3d_fusion_info")
public func ov3d_fusion_info(_ h: OpaquePointer?, _ nPoints: UnsafeMutablePointer<Int>?,
                             _ dim: UnsafeMutablePointer<Int32>?, _ frames: UnsafeMutablePointer<Int32>?) -> Int32 {
    capi {
        let box = try borrow(h, as: FusionBox.self, kind: HandleKind.fusion, name: "fusion")
        nPoints?.pointee = box.session.pointCount
        dim?.pointee = Int32(box.session.featureDim)
        frames?.pointee = Int32(clamping: box.session.frameCount)
    }
}

@_cdecl("ov3d_fusion_reset")
public func ov3d_fusion_reset(_ h: OpaquePointer?) -> Int32 {
    capi { try borrow(h, as: FusionBox.self, kind: HandleKind.fusion, name: "fusion").session.reset() }
}

@_cdecl("ov3d_fusion_free")
public func ov3d_fusion_free(_ h: OpaquePointer?) {
    releaseHandle(h, kind: HandleKind.fusion, function: "ov3d_fusion_free")
}

// MARK: multi-teacher agglomeration

@_cdecl("ov3d_teacher_fusion_default_params")
public func ov3d_teacher_fusion_default_params() -> ov3d_teacher_fusion_params {
    var p = ov3d_teacher_fusion_params()
    p.struct_size = UInt32(MemoryLayout<ov3d_teacher_fusion_params>.size)
    p.method = Int32(OV3D_TEACHER_FUSION_CAPABILITY.rawValue)
    p.temperature = 0.05
    p.keep_class = -1
    p.n_threads = 0
    return p
}

/// Copies `count` finite floats from a caller buffer.
func finiteFloats(_ p: UnsafePointer<Float>?, _ count: Int, name: String) throws -> [Float] {
    guard let p else { throw OV3DError.invalidArgument("\(name) is NULL") }
    let a = Array(UnsafeBufferPointer(start: p, count: count))
    for (i, v) in a.enumerated() { try require(v.isFinite, "\(name)[\(i)] is not finite (\(v))") }
    return a
}

/// A vocabulary from caller embeddings (`classes × dim`), names are the indices.
func vocabularyFrom(_ p: UnsafePointer<Float>?, classes: Int, dim: Int) throws -> Vocabulary {
    try require(classes > 0 && classes <= 65536, "n_classes must be 1...65536, got \(classes)")
    try require(dim > 0 && dim <= 65536, "dim must be 1...65536, got \(dim)")
    let e = try finiteFloats(p, try checkedCount("vocabulary", classes, dim), name: "vocabulary")
    return try Vocabulary(names: (0..<classes).map { "\($0)" }, embeddings: e, dimension: dim)
}

@_cdecl("ov3d_teacher_fusion")
public func ov3d_teacher_fusion(_ features: UnsafePointer<Float>?, _ nTeachers: Int, _ nPoints: Int, _ dim: Int,
                                _ vocabulary: UnsafePointer<Float>?, _ nClasses: Int, _ capabilities: UnsafePointer<Float>?,
                                _ params: UnsafeRawPointer?, _ out: UnsafeMutablePointer<Float>?, _ outCap: Int,
                                _ weights: UnsafeMutablePointer<Float>?, _ weightsCap: Int) -> Int32 {
    capi {
        let p = try readParams(params, defaults: ov3d_teacher_fusion_default_params(),
                               minSize: MemoryLayout<ov3d_teacher_fusion_params>.size, name: "params")
        try require(nTeachers > 0 && nTeachers <= 64, "n_teachers must be 1...64, got \(nTeachers)")
        try require(nPoints > 0, "n_points is 0")
        let vocab = try vocabularyFrom(vocabulary, classes: nClasses, dim: dim)
        let per = try checkedCount("features", nPoints, dim)
        let total = try checkedCount("features", nTeachers, nPoints, dim)
        let out = try nonNull(out, "out_features")
        try require(outCap >= per, "out_capacity \(outCap) < n_points×dim = \(per)")
        if weights != nil { try require(weightsCap >= nPoints * nTeachers, "weights_capacity \(weightsCap) < n_points×n_teachers") }
        let all = try finiteFloats(features, total, name: "features")
        let teachers = (0..<nTeachers).map { Array(all[($0 * per)..<(($0 + 1) * per)]) }
        let method: TeacherFusion.Method
        switch p.method {
        case Int32(OV3D_TEACHER_FUSION_CAPABILITY.rawValue):
            let cap = try finiteFloats(capabilities, try checkedCount("capabilities", nTeachers, nClasses), name: "capabilities")
            try require(p.keep_class >= -1 && Int(p.keep_class) < nClasses, "params.keep_class \(p.keep_class) out of range")
            method = .capability(try CapabilityTable(teachers: nTeachers, classes: nClasses, values: cap),
                                 temperature: p.temperature, keepClass: p.keep_class >= 0 ? Int(p.keep_class) : nil)
        case Int32(OV3D_TEACHER_FUSION_MEAN.rawValue): method = .mean
        case Int32(OV3D_TEACHER_FUSION_MAX_SIMILARITY.rawValue): method = .maxSimilarity
        default: throw OV3DError.invalidArgument("params.method \(p.method) is not an ov3d_teacher_fusion_method")
        }
        try require(p.n_threads >= 0 && p.n_threads <= 256, "params.n_threads must be 0...256")
        let r = try TeacherFusion.fuse(teachers: teachers, vocabulary: vocab, method: method, threads: applyThreads(p.n_threads))
        r.features.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: per) }
        if let weights { r.weights.withUnsafeBufferPointer { weights.update(from: $0.baseAddress!, count: nPoints * nTeachers) } }
    }
}

@_cdecl("ov3d_capability_from_masks")
public func ov3d_capability_from_masks(_ gt: UnsafePointer<UInt8>?, _ masks: UnsafePointer<UInt8>?, _ maskSize: Int,
                                       _ pairTeacher: UnsafePointer<Int32>?, _ pairClass: UnsafePointer<Int32>?, _ nPairs: Int,
                                       _ nTeachers: Int, _ nClasses: Int, _ excluded: Int32,
                                       _ out: UnsafeMutablePointer<Float>?, _ outCap: Int) -> Int32 {
    capi {
        try require(nTeachers > 0 && nTeachers <= 64, "n_teachers must be 1...64, got \(nTeachers)")
        try require(nClasses > 0 && nClasses <= 65536, "n_classes must be 1...65536, got \(nClasses)")
        try require(excluded >= -1 && Int(excluded) < nClasses, "excluded_class \(excluded) out of range")
        let out = try nonNull(out, "out")
        try require(outCap >= nTeachers * nClasses, "out_capacity \(outCap) < n_teachers×n_classes")
        var b = try CapabilityBuilder(teachers: nTeachers, classes: nClasses)
        if nPairs > 0 {
            try require(maskSize > 0, "mask_size is 0")
            _ = try checkedCount("masks", nPairs, maskSize)
            guard let gt, let masks, let pairTeacher, let pairClass else {
                throw OV3DError.invalidArgument("pseudo_gt, teacher_masks, pair_teacher and pair_class must not be NULL when n_pairs > 0")
            }
            for i in 0..<nPairs {
                try b.add(teacher: Int(pairTeacher[i]), cls: Int(pairClass[i]),
                          pseudoGroundTruth: UnsafeBufferPointer(start: gt + i * maskSize, count: maskSize),
                          teacherMask: UnsafeBufferPointer(start: masks + i * maskSize, count: maskSize))
            }
        }
        let t = try b.table(excluded: excluded >= 0 ? [Int(excluded)] : [])
        t.values.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: t.values.count) }
    }
}

@_cdecl("ov3d_ensemble_labels")
public func ov3d_ensemble_labels(_ mode: Int32, _ f3: UnsafePointer<Float>?, _ f2: UnsafePointer<Float>?,
                                 _ mask: UnsafePointer<UInt8>?, _ nPoints: Int, _ dim: Int,
                                 _ vocabulary: UnsafePointer<Float>?, _ nClasses: Int,
                                 _ out: UnsafeMutablePointer<Int32>?, _ outCap: Int) -> Int32 {
    capi {
        let m: FeatureEnsemble.Mode
        switch mode {
        case Int32(OV3D_EVAL_FUSION.rawValue): m = .fusion
        case Int32(OV3D_EVAL_DISTILL.rawValue): m = .distill
        case Int32(OV3D_EVAL_ENSEMBLE_MAX.rawValue): m = .ensemble(.maxScore)
        case Int32(OV3D_EVAL_ENSEMBLE_AVERAGE.rawValue): m = .ensemble(.average)
        default: throw OV3DError.invalidArgument("mode \(mode) is not an ov3d_eval_mode")
        }
        try require(nPoints > 0, "n_points is 0")
        let vocab = try vocabularyFrom(vocabulary, classes: nClasses, dim: dim)
        let per = try checkedCount("features", nPoints, dim)
        let out = try nonNull(out, "out_labels")
        try require(outCap >= nPoints, "out_capacity \(outCap) < n_points \(nPoints)")
        let a = m == .fusion ? [] : try finiteFloats(f3, per, name: "features_3d")
        let b = m == .distill ? [] : try finiteFloats(f2, per, name: "features_2d")
        let mk = mask.map { Array(UnsafeBufferPointer(start: $0, count: nPoints)) }
        let l = try FeatureEnsemble.labels(mode: m, features3D: a, features2D: b, mask2D: mk, vocabulary: vocab)
        l.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: nPoints) }
    }
}

@_cdecl("ov3d_superpoints_refine_labels")
public func ov3d_superpoints_refine_labels(_ labels: UnsafeMutablePointer<Int32>?, _ segments: UnsafePointer<Int32>?,
                                 _ n: Int, _ abstain: Int32) -> Int32 {
    capi {
        guard let labels, let segments else { throw OV3DError.invalidArgument("labels or segments is NULL") }
        try require(n > 0 && n <= maxBufferElements, "n_points must be 1...\(maxBufferElements), got \(n)")
        let r = try SuperpointOps.refine(labels: Array(UnsafeBufferPointer(start: labels, count: n)),
                                          segments: Array(UnsafeBufferPointer(start: segments, count: n)), abstain: abstain)
        r.withUnsafeBufferPointer { labels.update(from: $0.baseAddress!, count: n) }
    }
}
