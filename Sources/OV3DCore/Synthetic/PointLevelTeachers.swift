/// The simulated text-aligned teachers applied at point level to real labelled scenes (e.g.
/// ScanNet's `scannet_votenet50k`: points, ScanNet-20 labels, instance ids; no mesh or
/// frames): per instance, the teacher's report is drawn per simulated view from its confusion
/// matrix (persistent belief + flicker, as in `TextAlignedTeacher`); a point's feature is the
/// mean over the views of the reported classes' embeddings plus per-point noise (view flicker
/// as per-sample noise), then mixed with its nearest neighbours' (boundary blur over point
/// neighbourhoods) and L2-normalised. SIMULATED teachers on real geometry. The DINOv2- and
/// diffusion-like teachers at point level are in `PointLevelFeatureTeachers.swift`.
public enum PointLevelTeachers {
    /// `labels`: ScanNet-20 class per point or 255 (unannotated: the teacher sees an unnamed
    /// thing and reports from the "otherfurniture" row); `instances`: instance id per point (0 = none).
    public static func features(teacher: TextAlignedTeacher, positions: [Float], labels: [Int32], instances: [Int32],
                                views: Int = 8, neighbours: Int = 8, seed: UInt64 = 0) throws -> [Float] {
        try validate(positions: positions, labels: labels, instances: instances, views: views, neighbours: neighbours)
        let n = labels.count
        let d = teacher.dimension
        let reports = reportMeans(teacher: teacher, labels: labels, instances: instances, views: views)
        var base = [Float](repeating: 0, count: n * d)
        for i in 0..<n {
            let o = reports.objectOfPoint[i] * d
            for k in 0..<d { base[i * d + k] = reports.means[o + k] }
        }
        addNoise(&base, dim: d, level: teacher.noise, seed: teacher.seed ^ seed ^ 0x9017)
        var out = try mixNeighbours(base, dim: d, positions: positions, neighbours: neighbours)
        TeacherMath.normalizeRows(&out, dim: d)
        return out
    }

    /// Checks the per-point inputs the point-level teachers share.
    static func validate(positions: [Float], labels: [Int32], instances: [Int32], views: Int, neighbours: Int) throws {
        let n = labels.count
        try require(n > 0 && positions.count == 3 * n && instances.count == n, "point teachers: positions, labels and instances disagree in length")
        try require(views >= 1 && views <= 1024 && neighbours >= 0 && neighbours <= 64, "point teachers: views 1...1024, neighbours 0...64")
    }

    /// The class a point-level teacher sees: the point's ScanNet-20 label, or the last class
    /// ("otherfurniture") for 255 and anything outside `0..<classes`.
    static func pointClass(_ label: Int32, classes: Int) -> Int {
        label == 255 || label < 0 || Int(label) >= classes ? classes - 1 : Int(label)
    }

    /// The object a point belongs to for a teacher: its instance id, or (no instance, id ≤ 0)
    /// one pseudo-object per class, `-1 - class`.
    static func pointInstance(_ instance: Int32, cls: Int) -> Int32 {
        instance > 0 ? instance : Int32(-1 - cls)
    }

    /// Per object (instance, class) seen in the scene: the mean over `views` simulated views of
    /// the embeddings of the classes `teacher` reports for it (`means`: objects × dimension,
    /// in order of first appearance), and each point's object.
    static func reportMeans(teacher: TextAlignedTeacher, labels: [Int32], instances: [Int32],
                            views: Int) -> (means: [Float], objectOfPoint: [Int]) {
        let n = labels.count, d = teacher.dimension
        let e = teacher.space.rows
        var objectOf: [Int64: Int] = [:]
        var means: [Float] = []
        var objectOfPoint = [Int](repeating: 0, count: n)
        for i in 0..<n {
            let cls = pointClass(labels[i], classes: teacher.space.classes)
            let key = Int64(instances[i]) << 8 | Int64(cls)
            if let o = objectOf[key] { objectOfPoint[i] = o; continue }
            var acc = [Float](repeating: 0, count: d)
            let inst = pointInstance(instances[i], cls: cls)
            for v in 0..<views {
                let r = teacher.reportedClass(instance: inst, trueClass: cls, view: v)
                for k in 0..<d { acc[k] += e[r * d + k] / Float(views) }
            }
            objectOf[key] = objectOf.count
            objectOfPoint[i] = objectOf.count - 1
            means += acc
        }
        return (means, objectOfPoint)
    }

    /// Per-point noise: adds `level/√dim · N(0, 1)` to every value, drawn in order from one
    /// seeded stream (the view flicker / per-cell noise of the frame paths).
    static func addNoise(_ rows: inout [Float], dim: Int, level: Float, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let s = level / Float(dim).squareRoot()
        for i in rows.indices { rows[i] += s * rng.normal() }
    }

    /// Boundary mixing over point neighbourhoods (the point-level stand-in for a feature map's
    /// blur or upsampling): each row becomes the mean of itself and its `neighbours` nearest
    /// points' rows. `neighbours` 0 (or no more points than neighbours) returns `rows` unchanged.
    static func mixNeighbours(_ rows: [Float], dim d: Int, positions: [Float], neighbours: Int) throws -> [Float] {
        let n = positions.count / 3
        var out = rows
        guard neighbours > 0 && n > neighbours else { return out }
        let nn = try PointNormals.knn(positions, k: neighbours)
        out.withUnsafeMutableBufferPointer { o in
            rows.withUnsafeBufferPointer { b in
                for i in 0..<n {
                    var m: Float = 1
                    for j in 0..<neighbours {
                        let q = Int(nn[i * neighbours + j])
                        guard q >= 0 else { continue }
                        m += 1
                        for k in 0..<d { o[i * d + k] += b[q * d + k] }
                    }
                    for k in 0..<d { o[i * d + k] /= m }
                }
            }
        }
        return out
    }

    /// ScanNet-20 labels from NYU40 ids (ScanNet's benchmark mapping; others → 255).
    public static func scanNet20(fromNYU40 ids: [UInt32]) -> [Int32] {
        let keep: [UInt32] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 24, 28, 33, 34, 36, 39]
        var map = [Int32](repeating: 255, count: 41)
        for (i, v) in keep.enumerated() { map[Int(v)] = Int32(i) }
        return ids.map { $0 < 41 ? map[Int($0)] : 255 }
    }
}
