/// What a point cloud file reader returns: the cloud, triangle faces for meshes, and the map back
/// to the file's point order when invalid points were dropped.
public struct LoadedCloud: Sendable, Equatable {
    /// The points and their attributes.
    public var cloud: PointCloud
    /// Triangles as vertex index triples (3 per face), empty when the file has no faces.
    /// Polygons with more than three vertices are fanned into triangles.
    public var faces: [Int32]
    /// When points were dropped (`NaNPolicy.drop`), the file index of every kept point; empty
    /// when every point was kept (the identity).
    public var indexMap: [Int32]
    /// Field / property names found in the file, in file order.
    public var fields: [String]
    /// The format the file was in.
    public var format: CloudFormat

    public init(cloud: PointCloud, faces: [Int32] = [], indexMap: [Int32] = [], fields: [String] = [],
                format: CloudFormat) {
        self.cloud = cloud
        self.faces = faces
        self.indexMap = indexMap
        self.fields = fields
        self.format = format
    }
}

/// File formats and encodings.
public enum CloudFormat: String, Sendable, CaseIterable {
    case pcdASCII = "pcd-ascii", pcdBinary = "pcd-binary", pcdBinaryCompressed = "pcd-binary-compressed"
    case plyASCII = "ply-ascii", plyBinaryLE = "ply-binary-le", plyBinaryBE = "ply-binary-be"
    case npy, lidarBin = "bin"

    /// The format implied by a path's extension for writing (binary encodings by default).
    public static func forWriting(path: String) throws -> CloudFormat {
        let p = path.lowercased()
        if p.hasSuffix(".pcd") { return .pcdBinary }
        if p.hasSuffix(".ply") { return .plyBinaryLE }
        if p.hasSuffix(".npy") { return .npy }
        throw OV3DError.unsupported("cannot tell the point cloud format of \(path) (use .pcd, .ply or .npy)")
    }
}

/// What to do with points whose coordinates are NaN or infinite (organized clouds mark missing
/// depth that way).
public enum NaNPolicy: Sendable {
    /// Keep them (the cloud keeps its width × height organization).
    case keep
    /// Drop them; `LoadedCloud.indexMap` then maps each kept point to its index in the file.
    case drop
}

/// Options for `CloudFile.read`.
public struct CloudReadOptions: Sendable {
    public var nanPolicy: NaNPolicy = .keep
    /// Float32 columns per point of a raw LiDAR `.bin` sweep: 4 (KITTI: x y z remission),
    /// 5 (nuScenes: x y z intensity ring), or 0 to decide from the name (`.pcd.bin` -> 5).
    public var binColumns: Int = 0
    /// Largest file accepted.
    public var maxBytes: Int = 4 << 30
    public init() {}
}

/// Reading and writing point clouds and meshes: PCD, PLY, NumPy .npy and raw LiDAR .bin sweeps.
///
/// Readers are native and treat the file as hostile (every count and size is bounded by the
/// bytes present before anything is allocated). Writers are native too; PCD files come out
/// byte-compatible with `pcl::PCDWriter`'s (`PCD.encode`).
public enum CloudFile {
    /// Reads a cloud (or mesh) from `path`; the format is detected from the content and extension.
    public static func read(_ path: String, options: CloudReadOptions = CloudReadOptions()) throws -> LoadedCloud {
        let bytes = try FileIO.read(path, maxBytes: options.maxBytes)
        do {
            return try bytes.withUnsafeBytes { try decode($0, name: path, options: options) }
        } catch let e as OV3DError {
            throw e.status == .io ? e : e.context(path)
        }
    }

    /// Decodes file bytes; `name` (a path or file name) decides between .bin variants.
    public static func decode(_ b: UnsafeRawBufferPointer, name: String,
                              options: CloudReadOptions = CloudReadOptions()) throws -> LoadedCloud {
        let lower = name.lowercased()
        var out: LoadedCloud
        if b.count >= 4 && b[0] == 0x70 && b[1] == 0x6C && b[2] == 0x79 && (b[3] == 0x0A || b[3] == 0x0D) {
            out = try PLY.decode(b)
        } else if b.count >= 6 && b[0] == 0x93 && b[1] == 0x4E && b[2] == 0x55 {
            out = try NPYCloud.decode(b)
        } else if lower.hasSuffix(".bin") {
            var cols = options.binColumns
            if cols == 0 { cols = lower.hasSuffix(".pcd.bin") ? 5 : 4 }
            out = try LidarBin.decode(b, columns: cols)
        } else if lower.hasSuffix(".pcd") || (b.count > 0 && (b[0] == 0x23 || b[0] == 0x56 || b[0] == 0x46)) {
            out = try PCD.decode(b)
        } else {
            throw OV3DError.format("not a PLY, PCD, npy or .bin point cloud")
        }
        if options.nanPolicy == .drop { out = dropNonFinite(out) }
        return out
    }

    /// Drops points with a non-finite coordinate, recording the index map. Meshes keep all
    /// vertices (dropping would renumber faces).
    static func dropNonFinite(_ l: LoadedCloud) -> LoadedCloud {
        guard l.faces.isEmpty else { return l }
        let p = l.cloud.positions
        var keep: [Int] = []
        keep.reserveCapacity(l.cloud.count)
        for i in 0..<l.cloud.count where p[3 * i].isFinite && p[3 * i + 1].isFinite && p[3 * i + 2].isFinite {
            keep.append(i)
        }
        if keep.count == l.cloud.count { return l }
        var out = l
        out.cloud = l.cloud.subset(keep)
        out.indexMap = keep.map { Int32($0) }
        return out
    }

    /// Writes a cloud (with `faces`, a mesh; PLY only). Labels, scores, colours, normals and
    /// intensity are written when present; `comments` go into a PLY header (ignored otherwise).
    public static func write(_ cloud: PointCloud, faces: [Int32] = [], to path: String,
                             format: CloudFormat, comments: [String] = []) throws {
        try cloud.validate()
        try require(faces.count % 3 == 0, "faces must hold 3 indices per triangle")
        switch format {
        case .plyASCII, .plyBinaryLE, .plyBinaryBE:
            try FileIO.write(path, try PLY.encode(cloud, faces: faces, format: format, comments: comments))
        case .pcdASCII, .pcdBinary, .pcdBinaryCompressed:
            try require(faces.isEmpty, "PCD files cannot hold faces (write a .ply)")
            try FileIO.write(path, try PCD.encode(cloud, format: format))
        case .npy:
            try require(faces.isEmpty, "npy files cannot hold faces (write a .ply)")
            try NPYCloud.write(cloud, to: path)
        case .lidarBin:
            try LidarBin.write(cloud, to: path)
        }
    }

    /// Writes a segmented cloud: each point keeps its label, gets the colour of its label
    /// (`LabelColors`) and its score.
    public static func writeSegmented(_ cloud: PointCloud, labels: [Int32], scores: [Float]? = nil,
                                      to path: String, format: CloudFormat, faces: [Int32] = [],
                                      comments: [String] = []) throws {
        try require(labels.count == cloud.count, "labels: \(labels.count) values for \(cloud.count) points")
        if let scores { try require(scores.count == cloud.count, "scores: \(scores.count) values for \(cloud.count) points") }
        var c = cloud
        c.labels = labels
        c.scores = scores ?? []
        c.colors = LabelColors.colors(for: labels)
        try write(c, faces: faces, to: path, format: format, comments: comments)
    }
}

/// A fixed palette giving each label a distinct colour (label < 0: grey). Segmented PLY files
/// and the renderer's pictures use the same colours.
public enum LabelColors {
    /// Labels 0..<20 (ScanNet-20 and most vocabularies): 20 well-separated colours.
    static let table: [(UInt8, UInt8, UInt8)] = [
        (214, 39, 40), (31, 119, 180), (44, 160, 44), (255, 127, 14), (148, 103, 189),
        (23, 190, 207), (227, 119, 194), (188, 189, 34), (140, 86, 75), (255, 221, 51),
        (0, 128, 128), (174, 199, 232), (152, 223, 138), (255, 152, 150), (197, 176, 213),
        (128, 0, 0), (0, 0, 128), (210, 245, 60), (255, 187, 120), (0, 90, 50),
    ]

    /// RGB of `label`, deterministic: `table` for the first 20 labels, then a golden-ratio hue
    /// walk at full saturation.
    public static func color(_ label: Int32) -> (UInt8, UInt8, UInt8) {
        if label < 0 { return (128, 128, 128) }
        if label < Int32(table.count) { return table[Int(label)] }
        var h = (Double(label) * 0.618033988749895).truncatingRemainder(dividingBy: 1)
        h *= 6
        let i = Int(h), f = h - Double(i)
        let v = 230.0, p = 40.0, q = v - (v - p) * f, t = p + (v - p) * f
        let (r, g, b): (Double, Double, Double)
        switch i {
        case 0: (r, g, b) = (v, t, p)
        case 1: (r, g, b) = (q, v, p)
        case 2: (r, g, b) = (p, v, t)
        case 3: (r, g, b) = (p, q, v)
        case 4: (r, g, b) = (t, p, v)
        default: (r, g, b) = (v, p, q)
        }
        return (UInt8(r), UInt8(g), UInt8(b))
    }

    /// 3 bytes per label.
    public static func colors(for labels: [Int32]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 3 * labels.count)
        for (i, l) in labels.enumerated() {
            let (r, g, b) = color(l)
            out[3 * i] = r; out[3 * i + 1] = g; out[3 * i + 2] = b
        }
        return out
    }
}
