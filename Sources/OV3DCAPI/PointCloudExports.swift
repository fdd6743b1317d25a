import CSupport
import OV3DCore

// ov3d.h section "Point clouds": cloud objects and file I/O.

/// The object behind an `ov3d_cloud *`. Accessor pointers point into C buffers owned here, made
/// on first use and freed with the box (or when labels change).
final class CloudBox: HandleBox {
    var loaded: LoadedCloud
    private var buffers: [String: UnsafeMutableRawPointer] = [:]

    init(_ l: LoadedCloud) {
        loaded = l
        super.init(kind: HandleKind.cloud)
    }

    deinit { invalidate() }

    func invalidate() {
        for (_, p) in buffers { p.deallocate() }
        buffers = [:]
    }

    /// A stable copy of `a` (nil when empty), cached under `key`.
    func buffer<T>(_ key: String, _ a: [T]) -> UnsafePointer<T>? {
        guard !a.isEmpty else { return nil }
        if let p = buffers[key] { return UnsafePointer(p.assumingMemoryBound(to: T.self)) }
        let p = UnsafeMutablePointer<T>.allocate(capacity: a.count)
        p.initialize(from: a, count: a.count)
        buffers[key] = UnsafeMutableRawPointer(p)
        return UnsafePointer(p)
    }
}

func borrowCloud(_ h: OpaquePointer?) throws -> CloudBox {
    try borrow(h, as: CloudBox.self, kind: HandleKind.cloud, name: "cloud")
}

@_cdecl("ov3d_cloud_load_default_params")
public func ov3d_cloud_load_default_params() -> ov3d_cloud_load_params {
    var p = ov3d_cloud_load_params()
    p.struct_size = UInt32(MemoryLayout<ov3d_cloud_load_params>.size)
    p.drop_nan = 0
    p.bin_columns = 0
    return p
}

@_cdecl("ov3d_cloud_load")
public func ov3d_cloud_load(_ path: UnsafePointer<CChar>?, _ params: UnsafePointer<ov3d_cloud_load_params>?,
                            _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    capi {
        let out = try nonNull(out, "out")
        out.pointee = nil
        let p = try readParams(UnsafeRawPointer(params), defaults: ov3d_cloud_load_default_params(),
                               minSize: MemoryLayout<ov3d_cloud_load_params>.size, name: "params")
        try require(p.drop_nan == 0 || p.drop_nan == 1, "params.drop_nan must be 0 or 1")
        try require(p.bin_columns == 0 || (4...16).contains(p.bin_columns), "params.bin_columns must be 0 or 4...16")
        var o = CloudReadOptions()
        o.nanPolicy = p.drop_nan == 1 ? .drop : .keep
        o.binColumns = Int(p.bin_columns)
        let l = try CloudFile.read(try cString(path, name: "path"), options: o)
        out.pointee = makeHandle(CloudBox(l))
    }
}

@_cdecl("ov3d_cloud_from_points")
public func ov3d_cloud_from_points(_ points: UnsafePointer<ov3d_points>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    capi {
        let out = try nonNull(out, "out")
        out.pointee = nil
        let c = try readPoints(points, allowEmpty: false, finite: true)
        out.pointee = makeHandle(CloudBox(LoadedCloud(cloud: c, format: .npy)))
    }
}

@_cdecl("ov3d_cloud_save")
public func ov3d_cloud_save(_ cloud: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ format: Int32) -> Int32 {
    capi {
        let box = try borrowCloud(cloud)
        let p = try cString(path, name: "path")
        let formats: [CloudFormat?] = [nil, .pcdASCII, .pcdBinary, .pcdBinaryCompressed, .plyASCII, .plyBinaryLE, .plyBinaryBE, .npy, .lidarBin]
        try require(format >= 0 && Int(format) < formats.count, "format \(format) is not an ov3d_cloud_format")
        let f = try formats[Int(format)] ?? CloudFormat.forWriting(path: p)
        try CloudFile.write(box.loaded.cloud, faces: box.loaded.faces, to: p, format: f)
    }
}

@_cdecl("ov3d_cloud_free")
public func ov3d_cloud_free(_ cloud: OpaquePointer?) {
    releaseHandle(cloud, kind: HandleKind.cloud, function: "ov3d_cloud_free")
}

@_cdecl("ov3d_cloud_count")
public func ov3d_cloud_count(_ cloud: OpaquePointer?, _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    capi {
        let count = try nonNull(count, "count")
        count.pointee = try borrowCloud(cloud).loaded.cloud.count
    }
}

@_cdecl("ov3d_cloud_organization")
public func ov3d_cloud_organization(_ cloud: OpaquePointer?, _ w: UnsafeMutablePointer<UInt32>?, _ h: UnsafeMutablePointer<UInt32>?) -> Int32 {
    capi {
        guard let w, let h else { throw OV3DError.invalidArgument("width or height is NULL") }
        let c = try borrowCloud(cloud).loaded.cloud
        w.pointee = UInt32(c.width)
        h.pointee = UInt32(c.height)
    }
}

/// Shared shape of the attribute accessors.
func accessor<T>(_ cloud: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<T>?>?, _ key: String,
                 _ get: (PointCloud) -> [T]) -> Int32 {
    capi {
        let out = try nonNull(out, "out")
        out.pointee = nil
        let box = try borrowCloud(cloud)
        out.pointee = box.buffer(key, get(box.loaded.cloud))
    }
}

@_cdecl("ov3d_cloud_positions")
public func ov3d_cloud_positions(_ cloud: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<Float>?>?) -> Int32 {
    accessor(cloud, out, "positions") { $0.positions }
}

@_cdecl("ov3d_cloud_colors")
public func ov3d_cloud_colors(_ cloud: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?) -> Int32 {
    accessor(cloud, out, "colors") { $0.colors }
}

@_cdecl("ov3d_cloud_normals")
public func ov3d_cloud_normals(_ cloud: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<Float>?>?) -> Int32 {
    accessor(cloud, out, "normals") { $0.normals }
}

@_cdecl("ov3d_cloud_intensity")
public func ov3d_cloud_intensity(_ cloud: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<Float>?>?) -> Int32 {
    accessor(cloud, out, "intensity") { $0.intensity }
}

@_cdecl("ov3d_cloud_labels")
public func ov3d_cloud_labels(_ cloud: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<Int32>?>?) -> Int32 {
    accessor(cloud, out, "labels") { $0.labels }
}

@_cdecl("ov3d_cloud_faces")
public func ov3d_cloud_faces(_ cloud: OpaquePointer?, _ faces: UnsafeMutablePointer<UnsafePointer<Int32>?>?,
                             _ n: UnsafeMutablePointer<Int>?) -> Int32 {
    capi {
        guard let faces, let n else { throw OV3DError.invalidArgument("faces or n_faces is NULL") }
        faces.pointee = nil; n.pointee = 0
        let box = try borrowCloud(cloud)
        faces.pointee = box.buffer("faces", box.loaded.faces)
        n.pointee = box.loaded.faces.count / 3
    }
}

@_cdecl("ov3d_cloud_index_map")
public func ov3d_cloud_index_map(_ cloud: OpaquePointer?, _ map: UnsafeMutablePointer<UnsafePointer<Int32>?>?,
                                 _ n: UnsafeMutablePointer<Int>?) -> Int32 {
    capi {
        guard let map, let n else { throw OV3DError.invalidArgument("map or count is NULL") }
        map.pointee = nil; n.pointee = 0
        let box = try borrowCloud(cloud)
        map.pointee = box.buffer("index_map", box.loaded.indexMap)
        n.pointee = box.loaded.indexMap.count
    }
}

@_cdecl("ov3d_cloud_set_labels")
public func ov3d_cloud_set_labels(_ cloud: OpaquePointer?, _ labels: UnsafePointer<Int32>?, _ scores: UnsafePointer<Float>?,
                                  _ count: Int, _ colorize: Int32) -> Int32 {
    capi {
        let box = try borrowCloud(cloud)
        let n = box.loaded.cloud.count
        try require(count == n, "count \(count) != point count \(n)")
        try require(colorize == 0 || colorize == 1, "colorize must be 0 or 1")
        let labels = try nonNull(labels, "labels")
        let l = Array(UnsafeBufferPointer(start: labels, count: n))
        let s = scores.map { Array(UnsafeBufferPointer(start: $0, count: n)) } ?? []
        box.invalidate()
        box.loaded.cloud.labels = l
        box.loaded.cloud.scores = s
        if colorize == 1 { box.loaded.cloud.colors = LabelColors.colors(for: l) }
    }
}
