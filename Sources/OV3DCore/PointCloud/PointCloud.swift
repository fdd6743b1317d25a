/// A point cloud as the library holds it: structure-of-arrays, float32 positions, optional
/// per-point attributes. A value type; copies share storage until written (Swift arrays).
///
/// Invariant (checked by `validate()`): every present attribute array has `count` entries
/// (times its width).
public struct PointCloud: Sendable, Equatable {
    /// x y z per point, `3 * count` floats.
    public var positions: [Float]
    /// r g b per point in 0...255, `3 * count` bytes, or empty.
    public var colors: [UInt8]
    /// nx ny nz per point, `3 * count` floats, or empty.
    public var normals: [Float]
    /// One intensity/remission per point, or empty.
    public var intensity: [Float]
    /// One integer label per point, or empty.
    public var labels: [Int32]
    /// One confidence score per point (of its label), or empty.
    public var scores: [Float] = []
    /// For organized clouds (image-shaped), width × height == count; else 0 × 0.
    public var width: Int = 0
    public var height: Int = 0

    public init(positions: [Float] = [], colors: [UInt8] = [], normals: [Float] = [],
                intensity: [Float] = [], labels: [Int32] = []) {
        self.positions = positions
        self.colors = colors
        self.normals = normals
        self.intensity = intensity
        self.labels = labels
    }

    public var count: Int { positions.count / 3 }
    public var isEmpty: Bool { positions.isEmpty }
    public var hasColors: Bool { !colors.isEmpty }
    public var hasNormals: Bool { !normals.isEmpty }
    /// The normals when the cloud has them and every value is finite, else nil (methods that can
    /// estimate normals do so then).
    public var finiteNormals: [Float]? { hasNormals && normals.allSatisfy({ $0.isFinite }) ? normals : nil }

    /// Checks the attribute sizes; `finite` also requires every coordinate to be finite.
    public func validate(finite: Bool = false) throws {
        try require(positions.count % 3 == 0, "positions must hold 3 floats per point (\(positions.count) given)")
        let n = count
        try require(colors.isEmpty || colors.count == 3 * n, "colors must hold 3 bytes per point")
        try require(normals.isEmpty || normals.count == 3 * n, "normals must hold 3 floats per point")
        try require(intensity.isEmpty || intensity.count == n, "intensity must hold one value per point")
        try require(labels.isEmpty || labels.count == n, "labels must hold one value per point")
        try require(scores.isEmpty || scores.count == n, "scores must hold one value per point")
        try require((width == 0 && height == 0) || width * height == n, "organized cloud: width × height != point count")
        if finite {
            for i in 0..<positions.count where !positions[i].isFinite {
                throw OV3DError.invalidArgument("point \(i / 3) has a non-finite coordinate (\(positions[i]))")
            }
        }
    }

    /// The cloud restricted to the given point indices (in that order), all attributes kept.
    public func subset(_ indices: [Int]) -> PointCloud {
        var out = PointCloud()
        out.positions.reserveCapacity(indices.count * 3)
        for i in indices { out.positions += positions[(3 * i)..<(3 * i + 3)] }
        if hasColors { for i in indices { out.colors += colors[(3 * i)..<(3 * i + 3)] } }
        if hasNormals { for i in indices { out.normals += normals[(3 * i)..<(3 * i + 3)] } }
        if !intensity.isEmpty { out.intensity = indices.map { intensity[$0] } }
        if !labels.isEmpty { out.labels = indices.map { labels[$0] } }
        if !scores.isEmpty { out.scores = indices.map { scores[$0] } }
        return out
    }
}
