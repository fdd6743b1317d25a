#if canImport(Glibc)
import Glibc
#endif
import CSupport
import OV3DCore

// ov3d.h section "Models and sessions" (issue 3): MinkUNet models, sessions, results.

/// Owned C strings (freed with the box).
final class CStrings {
    private(set) var pointers: [UnsafeMutablePointer<CChar>] = []
    func add(_ s: String) -> UnsafePointer<CChar> {
        let p = strdup(s)!
        pointers.append(p)
        return UnsafePointer(p)
    }
    deinit { for p in pointers { free(p) } }
}

final class ModelBox: HandleBox {
    let model: MinkUNet
    /// The model with the voxel size its checkpoint records (ov3d_segment).
    let segmenter: Segmenter
    var recordedVoxelSize: Double? { segmenter.recordedVoxelSize }
    let variant: UnsafePointer<CChar>
    let headNames: [UnsafePointer<CChar>]
    private let strings = CStrings()
    init(_ segmenter: Segmenter) {
        self.segmenter = segmenter
        let model = segmenter.model
        self.model = model
        variant = strings.add(model.spec.variantName)
        headNames = model.spec.heads.map { [strings] in strings.add($0.name) }
        super.init(kind: HandleKind.model)
    }
}

final class SessionBox: HandleBox {
    let model: ModelBox
    let params: ov3d_session_params
    let workspace = Workspace()
    /// The last successful ov3d_segment, which ov3d_query answers from.
    var lastSegmentation: SegmentationResult?
    init(model: ModelBox, params: ov3d_session_params) {
        self.model = model
        self.params = params
        if params.max_memory_bytes > 0 { workspace.memoryLimit = Int(params.max_memory_bytes) }
        super.init(kind: HandleKind.session)
    }
}

final class ResultBox: HandleBox {
    let pointCount: Int
    let voxelCount: Int
    let coords: [Int32]
    let inverse: [Int32]
    /// Per computed head (by model head index): voxel features.
    let heads: [Int: [Float]]
    let dims: [Int: Int]
    var pointFeatures: [Int: [Float]] = [:]
    var normalizedVoxel: [Int: [Float]] = [:]
    var normalizedPoint: [Int: [Float]] = [:]
    let threads: Int
    init(pointCount: Int, coords: [Int32], inverse: [Int32], output: MinkUNet.Output, dims: [Int], threads: Int) {
        self.pointCount = pointCount
        self.voxelCount = output.rows
        self.coords = coords
        self.inverse = inverse
        var h = [Int: [Float]](), d = [Int: Int]()
        for (i, idx) in output.headIndices.enumerated() { h[idx] = output.heads[i]; d[idx] = dims[idx] }
        heads = h
        self.dims = d
        self.threads = threads
        super.init(kind: HandleKind.result)
    }

    func voxelFeatures(_ head: Int32, normalized: Bool) throws -> [Float] {
        guard let f = heads[Int(head)], let dim = dims[Int(head)] else {
            throw OV3DError.invalidArgument("head \(head) was not computed in this result (computed: \(heads.keys.sorted()))")
        }
        guard normalized else { return f }
        if let n = normalizedVoxel[Int(head)] { return n }
        var n = f
        Elementwise.l2NormalizeRows(&n, cols: dim, threads: threads)
        normalizedVoxel[Int(head)] = n
        return n
    }

    func features(_ head: Int32, normalized: Bool) throws -> [Float] {
        let cache = normalized ? normalizedPoint : pointFeatures
        if let f = cache[Int(head)] { return f }
        let v = try voxelFeatures(head, normalized: normalized)
        let out = Elementwise.gatherRows(v, cols: dims[Int(head)]!, index: inverse)
        if normalized { normalizedPoint[Int(head)] = out } else { pointFeatures[Int(head)] = out }
        return out
    }
}

// MARK: - Models

@_cdecl("ov3d_model_default_params")
public func ov3d_model_default_params() -> ov3d_model_params {
    var p = ov3d_model_params()
    p.struct_size = UInt32(MemoryLayout<ov3d_model_params>.size)
    p.n_threads = 0
    return p
}

@_cdecl("ov3d_model_load")
public func ov3d_model_load(_ path: UnsafePointer<CChar>?, _ params: UnsafePointer<ov3d_model_params>?,
                            _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return capi {
        let out = try nonNull(out, "out_model")
        let p = try readParams(params.map(UnsafeRawPointer.init), defaults: ov3d_model_default_params(),
                               minSize: MemoryLayout<ov3d_model_params>.size, name: "params")
        try require(p.n_threads >= 0 && p.n_threads <= 256, "params.n_threads must be 0...256")
        let file = try cString(path, name: "path")
        try require(!file.isEmpty, "path is empty")
        out.pointee = makeHandle(ModelBox(try Segmenter.load(path: file)))
    }
}

@_cdecl("ov3d_model_free")
public func ov3d_model_free(_ model: OpaquePointer?) { releaseHandle(model, kind: HandleKind.model, function: "ov3d_model_free") }

@_cdecl("ov3d_model_head_count")
public func ov3d_model_head_count(_ model: OpaquePointer?, _ out: UnsafeMutablePointer<Int32>?) -> Int32 {
    capi {
        let m = try borrow(model, as: ModelBox.self, kind: HandleKind.model, name: "model")
        let out = try nonNull(out, "out_count")
        out.pointee = Int32(m.model.spec.heads.count)
    }
}

private func headIndex(_ m: ModelBox, _ head: Int32) throws -> Int {
    try require(head >= 0 && Int(head) < m.model.spec.heads.count, "head \(head) is out of range 0..<\(m.model.spec.heads.count)")
    return Int(head)
}

@_cdecl("ov3d_model_head_dim")
public func ov3d_model_head_dim(_ model: OpaquePointer?, _ head: Int32, _ out: UnsafeMutablePointer<Int32>?) -> Int32 {
    capi {
        let m = try borrow(model, as: ModelBox.self, kind: HandleKind.model, name: "model")
        let out = try nonNull(out, "out_dim")
        out.pointee = Int32(m.model.spec.heads[try headIndex(m, head)].dim)
    }
}

@_cdecl("ov3d_model_head_name")
public func ov3d_model_head_name(_ model: OpaquePointer?, _ head: Int32, _ out: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    capi {
        let m = try borrow(model, as: ModelBox.self, kind: HandleKind.model, name: "model")
        let out = try nonNull(out, "out_name")
        out.pointee = m.headNames[try headIndex(m, head)]
    }
}

@_cdecl("ov3d_model_variant")
public func ov3d_model_variant(_ model: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    capi {
        let m = try borrow(model, as: ModelBox.self, kind: HandleKind.model, name: "model")
        let out = try nonNull(out, "out_name")
        out.pointee = m.variant
    }
}

@_cdecl("ov3d_model_in_channels")
public func ov3d_model_in_channels(_ model: OpaquePointer?, _ out: UnsafeMutablePointer<Int32>?) -> Int32 {
    capi {
        let m = try borrow(model, as: ModelBox.self, kind: HandleKind.model, name: "model")
        let out = try nonNull(out, "out_channels")
        out.pointee = Int32(m.model.spec.inChannels)
    }
}

// MARK: - Sessions

@_cdecl("ov3d_session_default_params")
public func ov3d_session_default_params() -> ov3d_session_params {
    var p = ov3d_session_params()
    p.struct_size = UInt32(MemoryLayout<ov3d_session_params>.size)
    p.n_threads = 0
    p.voxel_size = 0.02
    p.progress = nil
    p.progress_user_data = nil
    p.max_memory_bytes = 0
    return p
}

/// The size of ov3d_session_params before `max_memory_bytes` (callers built against it keep working).
let sessionParamsMinSize = MemoryLayout<ov3d_session_params>.offset(of: \ov3d_session_params.max_memory_bytes)!

@_cdecl("ov3d_session_create")
public func ov3d_session_create(_ model: OpaquePointer?, _ params: UnsafePointer<ov3d_session_params>?,
                                _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return capi {
        let out = try nonNull(out, "out_session")
        try ComputeKernels.checkEnvironment()
        let m = try borrow(model, as: ModelBox.self, kind: HandleKind.model, name: "model")
        let p = try readParams(params.map(UnsafeRawPointer.init), defaults: ov3d_session_default_params(),
                               minSize: sessionParamsMinSize, name: "params")
        try require(p.max_memory_bytes <= UInt64(Int.max), "params.max_memory_bytes \(p.max_memory_bytes) is too large")
        try require(p.n_threads >= 0 && p.n_threads <= 256, "params.n_threads must be 0...256, got \(p.n_threads)")
        try require(p.voxel_size.isFinite && p.voxel_size > 0, "params.voxel_size must be a positive finite number, got \(p.voxel_size)")
        out.pointee = makeHandle(SessionBox(model: m, params: p))
    }
}

@_cdecl("ov3d_session_free")
public func ov3d_session_free(_ session: OpaquePointer?) { releaseHandle(session, kind: HandleKind.session, function: "ov3d_session_free") }

@_cdecl("ov3d_run_default_params")
public func ov3d_run_default_params() -> ov3d_run_params {
    var p = ov3d_run_params()
    p.struct_size = UInt32(MemoryLayout<ov3d_run_params>.size)
    p.head = -1
    p.voxel_size = 0
    p.augment = 0
    p.seed = 0
    return p
}

/// Validated run settings shared by both run functions.
private func runSettings(_ s: SessionBox, _ params: UnsafePointer<ov3d_run_params>?) throws
    -> (params: ov3d_run_params, heads: [Int]?, threads: Int, progress: OV3DCore.Progress) {
    let p = try readParams(params.map(UnsafeRawPointer.init), defaults: ov3d_run_default_params(),
                           minSize: MemoryLayout<ov3d_run_params>.size, name: "params")
    let n = s.model.model.spec.heads.count
    try require(p.head == -1 || (p.head >= 0 && Int(p.head) < n), "params.head must be -1 (all) or 0..<\(n), got \(p.head)")
    try require(p.voxel_size == 0 || (p.voxel_size.isFinite && p.voxel_size > 0), "params.voxel_size must be 0 (session default) or positive, got \(p.voxel_size)")
    let threads = applyThreads(s.params.n_threads)
    return (p, p.head == -1 ? nil : [Int(p.head)], threads, sessionProgress(s))
}

/// The session's progress callback as a `Progress` (none without a callback).
func sessionProgress(_ s: SessionBox) -> OV3DCore.Progress {
    guard let cb = s.params.progress else { return .none }
    let user = UncheckedSendable(s.params.progress_user_data)
    return OV3DCore.Progress { fraction, stage in
        stage.withCString { cb(fraction, $0, user.value) == 0 }
    }
}

@_cdecl("ov3d_session_run")
public func ov3d_session_run(_ session: OpaquePointer?, _ points: UnsafePointer<ov3d_points>?,
                             _ params: UnsafePointer<ov3d_run_params>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return capi {
        let out = try nonNull(out, "out_result")
        let s = try borrow(session, as: SessionBox.self, kind: HandleKind.session, name: "session")
        let (p, heads, threads, progress) = try runSettings(s, params)
        let cloud = try readPoints(points)
        let voxel = Double(p.voxel_size != 0 ? p.voxel_size : s.params.voxel_size)
        let r = try s.model.model.run(points: cloud.positions, voxelSize: voxel,
                                      augmentation: p.augment != 0 ? Voxelizer.Augmentation(seed: p.seed) : nil,
                                      headSelection: heads, threads: threads, workspace: s.workspace, progress: progress)
        out.pointee = makeHandle(ResultBox(pointCount: r.pointCount, coords: r.voxels.coords, inverse: r.voxels.inverse,
                                           output: r.output, dims: s.model.model.spec.heads.map(\.dim), threads: threads))
    }
}

@_cdecl("ov3d_session_run_voxels")
public func ov3d_session_run_voxels(_ session: OpaquePointer?, _ coords: UnsafePointer<Int32>?, _ count: Int,
                                    _ features: UnsafePointer<Float>?, _ channels: Int,
                                    _ params: UnsafePointer<ov3d_run_params>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return capi {
        let out = try nonNull(out, "out_result")
        let s = try borrow(session, as: SessionBox.self, kind: HandleKind.session, name: "session")
        let (_, heads, threads, progress) = try runSettings(s, params)
        try require(count > 0 && count <= maxPointCount, "count \(count) must be in 1...\(maxPointCount)")
        let coords = try nonNull(coords, "coords")
        let cin = s.model.model.spec.inChannels
        var feats: [Float]? = nil
        if let features {
            try require(channels == cin, "channels is \(channels) but the model takes \(cin) input channels")
            let buf = UnsafeBufferPointer(start: features, count: count * cin)
            try require(buf.allSatisfy { $0.isFinite }, "features contain NaN or Inf")
            feats = Array(buf)
        }
        let c = Array(UnsafeBufferPointer(start: coords, count: 3 * count))
        let o = try s.model.model.run(voxelCoords: c, columns: 3, features: feats, headSelection: heads,
                                      threads: threads, workspace: s.workspace, progress: progress)
        out.pointee = makeHandle(ResultBox(pointCount: count, coords: c, inverse: (0..<Int32(count)).map { $0 },
                                           output: o, dims: s.model.model.spec.heads.map(\.dim), threads: threads))
    }
}

// MARK: - Results

@_cdecl("ov3d_result_free")
public func ov3d_result_free(_ result: OpaquePointer?) { releaseHandle(result, kind: HandleKind.result, function: "ov3d_result_free") }

@_cdecl("ov3d_result_point_count")
public func ov3d_result_point_count(_ result: OpaquePointer?, _ out: UnsafeMutablePointer<Int>?) -> Int32 {
    capi {
        let r = try borrow(result, as: ResultBox.self, kind: HandleKind.result, name: "result")
        let out = try nonNull(out, "out_count")
        out.pointee = r.pointCount
    }
}

@_cdecl("ov3d_result_voxel_count")
public func ov3d_result_voxel_count(_ result: OpaquePointer?, _ out: UnsafeMutablePointer<Int>?) -> Int32 {
    capi {
        let r = try borrow(result, as: ResultBox.self, kind: HandleKind.result, name: "result")
        let out = try nonNull(out, "out_count")
        out.pointee = r.voxelCount
    }
}

@_cdecl("ov3d_result_feature_dim")
public func ov3d_result_feature_dim(_ result: OpaquePointer?, _ head: Int32, _ out: UnsafeMutablePointer<Int32>?) -> Int32 {
    capi {
        let r = try borrow(result, as: ResultBox.self, kind: HandleKind.result, name: "result")
        let out = try nonNull(out, "out_dim")
        guard let d = r.dims[Int(head)] else {
            throw OV3DError.invalidArgument("head \(head) was not computed in this result (computed: \(r.dims.keys.sorted()))")
        }
        out.pointee = Int32(d)
    }
}

/// Returns a pointer into an array stored in the result (the arrays are never mutated after being
/// cached, so the pointer stays valid until the result is freed).
private func stablePointer(_ a: [Float]) -> UnsafePointer<Float>? { a.withUnsafeBufferPointer { $0.baseAddress } }

@_cdecl("ov3d_result_features")
public func ov3d_result_features(_ result: OpaquePointer?, _ head: Int32, _ normalized: Int32,
                                 _ out: UnsafeMutablePointer<UnsafePointer<Float>?>?) -> Int32 {
    out?.pointee = nil
    return capi {
        let r = try borrow(result, as: ResultBox.self, kind: HandleKind.result, name: "result")
        let out = try nonNull(out, "out_features")
        // The returned array shares its storage with the result's cache.
        out.pointee = stablePointer(try r.features(head, normalized: normalized != 0))
    }
}

@_cdecl("ov3d_result_voxel_features")
public func ov3d_result_voxel_features(_ result: OpaquePointer?, _ head: Int32, _ normalized: Int32,
                                       _ out: UnsafeMutablePointer<UnsafePointer<Float>?>?) -> Int32 {
    out?.pointee = nil
    return capi {
        let r = try borrow(result, as: ResultBox.self, kind: HandleKind.result, name: "result")
        let out = try nonNull(out, "out_features")
        out.pointee = stablePointer(try r.voxelFeatures(head, normalized: normalized != 0))
    }
}

@_cdecl("ov3d_result_voxel_index")
public func ov3d_result_voxel_index(_ result: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<Int32>?>?) -> Int32 {
    out?.pointee = nil
    return capi {
        let r = try borrow(result, as: ResultBox.self, kind: HandleKind.result, name: "result")
        let out = try nonNull(out, "out_index")
        out.pointee = r.inverse.withUnsafeBufferPointer { $0.baseAddress }
    }
}

@_cdecl("ov3d_result_voxel_coords")
public func ov3d_result_voxel_coords(_ result: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<Int32>?>?) -> Int32 {
    out?.pointee = nil
    return capi {
        let r = try borrow(result, as: ResultBox.self, kind: HandleKind.result, name: "result")
        let out = try nonNull(out, "out_coords")
        out.pointee = r.coords.withUnsafeBufferPointer { $0.baseAddress }
    }
}
