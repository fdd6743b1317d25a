import CSupport
import OV3DCore

#if canImport(Glibc)
import Glibc
#endif

// ov3d.h section "Models and sessions" — checkpoints (issue 4): ov3d_convert, ov3d_checkpoint_*.

/// An opened checkpoint with C strings for its names and dtypes (owned, freed with the box).
final class CheckpointBox: HandleBox {
    let stateDict: StateDict
    let names: [UnsafeMutablePointer<CChar>]
    let dtypes: [DType: UnsafeMutablePointer<CChar>]
    let metadata: [String: UnsafeMutablePointer<CChar>]

    init(_ sd: StateDict) {
        stateDict = sd
        names = sd.keys.map { strdup($0)! }
        var d: [DType: UnsafeMutablePointer<CChar>] = [:]
        for k in sd.keys { let t = sd[k]!.dtype; if d[t] == nil { d[t] = strdup(t.rawValue)! } }
        dtypes = d
        var m: [String: UnsafeMutablePointer<CChar>] = [:]
        for (k, v) in sd.metadata where m[k] == nil { m[k] = strdup(v)! }
        metadata = m
        super.init(kind: HandleKind.checkpoint)
    }

    deinit {
        for p in names { free(p) }
        for p in dtypes.values { free(p) }
        for p in metadata.values { free(p) }
    }

    func tensor(_ index: Int) throws -> Tensor {
        try require(index >= 0 && index < stateDict.count, "tensor index \(index) out of range 0..<\(stateDict.count)")
        return stateDict[stateDict.keys[index]]!
    }
}

private func checkpoint(_ h: OpaquePointer?) throws -> CheckpointBox {
    try borrow(h, as: CheckpointBox.self, kind: HandleKind.checkpoint, name: "ckpt")
}

@_cdecl("ov3d_convert_default_params")
public func ov3d_convert_default_params() -> ov3d_convert_params {
    var p = ov3d_convert_params()
    p.struct_size = UInt32(MemoryLayout<ov3d_convert_params>.size)
    p.strip_prefixes = 0
    p.verify_crc = 1
    p.n_threads = 0
    p.voxel_size = 0
    p.architecture = nil
    p.labels = nil
    p.n_labels = 0
    return p
}

@_cdecl("ov3d_convert")
public func ov3d_convert(_ inPath: UnsafePointer<CChar>?, _ outPath: UnsafePointer<CChar>?,
                         _ params: UnsafePointer<ov3d_convert_params>?) -> Int32 {
    capi {
        let input = try cString(inPath, name: "in_path")
        let output = try cString(outPath, name: "out_path")
        try require(!input.isEmpty && !output.isEmpty, "in_path and out_path must not be empty")
        let p = try readParams(UnsafeRawPointer(params), defaults: ov3d_convert_default_params(),
                               minSize: MemoryLayout<ov3d_convert_params>.size, name: "ov3d_convert_params")
        var o = CheckpointConverter.Options()
        o.stripPrefixes = p.strip_prefixes != 0
        o.reader.verifyCRC = p.verify_crc != 0
        try require(p.n_threads >= 0 && p.n_threads <= 256, "n_threads must be 0...256, got \(p.n_threads)")
        o.reader.threads = applyThreads(p.n_threads)
        if p.voxel_size != 0 {
            try require(p.voxel_size.isFinite && p.voxel_size > 0, "voxel_size must be finite and > 0 (or 0 for none), got \(p.voxel_size)")
            o.voxelSize = p.voxel_size
        }
        if let a = p.architecture { o.architecture = try cString(a, name: "architecture", maxBytes: 64) }
        try require(p.n_labels >= 0 && p.n_labels <= 100_000, "n_labels \(UInt(bitPattern: p.n_labels)) exceeds 100000")
        if p.n_labels > 0 {
            guard let labels = p.labels else { throw OV3DError.invalidArgument("labels is NULL but n_labels is \(p.n_labels)") }
            o.labelSet = try (0..<Int(p.n_labels)).map { try cString(labels[$0], name: "labels[\($0)]", maxBytes: 4096) }
        }
        try CheckpointConverter.convert(input: input, output: output, options: o)
    }
}

@_cdecl("ov3d_checkpoint_open")
public func ov3d_checkpoint_open(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return capi {
        let out = try nonNull(out, "out")
        let p = try cString(path, name: "path")
        let sd = try CheckpointReader.load(path: p)
        out.pointee = makeHandle(CheckpointBox(sd))
    }
}

@_cdecl("ov3d_checkpoint_free")
public func ov3d_checkpoint_free(_ ckpt: OpaquePointer?) {
    releaseHandle(ckpt, kind: HandleKind.checkpoint, function: "ov3d_checkpoint_free")
}

@_cdecl("ov3d_checkpoint_count")
public func ov3d_checkpoint_count(_ ckpt: OpaquePointer?, _ outCount: UnsafeMutablePointer<Int>?) -> Int32 {
    capi {
        let box = try checkpoint(ckpt)
        let outCount = try nonNull(outCount, "out_count")
        outCount.pointee = box.stateDict.count
    }
}

@_cdecl("ov3d_checkpoint_tensor")
public func ov3d_checkpoint_tensor(_ ckpt: OpaquePointer?, _ index: Int, _ outName: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                                   _ outDtype: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ outRank: UnsafeMutablePointer<Int>?,
                                   _ outShape: UnsafeMutablePointer<Int64>?, _ shapeCapacity: Int) -> Int32 {
    capi {
        let box = try checkpoint(ckpt)
        let t = try box.tensor(index)
        try require(shapeCapacity >= 0 && shapeCapacity <= 1 << 20, "shape_capacity \(shapeCapacity) is invalid")
        if shapeCapacity > 0 { try require(outShape != nil, "out_shape is NULL but shape_capacity is \(shapeCapacity)") }
        outName?.pointee = UnsafePointer(box.names[index])
        outDtype?.pointee = box.dtypes[t.dtype].map { UnsafePointer($0) }
        outRank?.pointee = t.rank
        if let outShape { for (i, d) in t.shape.prefix(shapeCapacity).enumerated() { outShape[i] = Int64(d) } }
    }
}

@_cdecl("ov3d_checkpoint_find")
public func ov3d_checkpoint_find(_ ckpt: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ outIndex: UnsafeMutablePointer<Int>?) -> Int32 {
    capi {
        let box = try checkpoint(ckpt)
        let key = try cString(name, name: "name", maxBytes: 1 << 16)
        let outIndex = try nonNull(outIndex, "out_index")
        guard let i = box.stateDict.keys.firstIndex(of: key) else { throw OV3DError.invalidArgument("no tensor named '\(key)' in the checkpoint") }
        outIndex.pointee = i
    }
}

@_cdecl("ov3d_checkpoint_read_f32")
public func ov3d_checkpoint_read_f32(_ ckpt: OpaquePointer?, _ index: Int, _ out: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    capi {
        let box = try checkpoint(ckpt)
        let t = try box.tensor(index)
        try require(capacity >= t.count, "out_capacity \(capacity) is smaller than the tensor's \(t.count) elements")
        try requireBuffer(out, count: t.count, name: "out")
        guard t.count > 0, let out else { return }
        let v = t.floats()
        v.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: v.count) }
    }
}

@_cdecl("ov3d_checkpoint_metadata")
public func ov3d_checkpoint_metadata(_ ckpt: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ outValue: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    capi {
        let box = try checkpoint(ckpt)
        let k = try cString(key, name: "key", maxBytes: 1 << 16)
        let outValue = try nonNull(outValue, "out_value")
        outValue.pointee = box.metadata[k].map { UnsafePointer($0) }
    }
}

@_cdecl("ov3d_checkpoint_uncertainty_weights")
public func ov3d_checkpoint_uncertainty_weights(_ ckpt: OpaquePointer?, _ out: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    capi {
        let box = try checkpoint(ckpt)
        let w = try UncertaintyWeights(stateDict: box.stateDict)
        try require(capacity >= w.sigmas.count, "capacity \(capacity) is smaller than \(w.sigmas.count)")
        let out = try nonNull(out, "out_sigmas")
        for (i, s) in w.sigmas.enumerated() { out[i] = s }
    }
}
