/// The simulated text-aligned teachers applied at point level to real labelled scenes (e.g.
/// ScanNet's `scannet_votenet50k`: points, ScanNet-20 labels, instance ids; no mesh or
/// frames): per instance, the teacher's report is drawn per simulated view from its confusion
/// matrix (persistent belief + flicker, as in `TextAlignedTeacher`); a point's feature is the
/// mean over the views of the reported classes' embeddings plus per-point noise (view flicker
/// as per-sample noise), then mixed with its nearest neighbours' (boundary blur over point
/// neighbourhoods) and L2-normalised. SIMULATED teachers on real geometry.
public enum PointLevelTeachers {
    /// `labels`: ScanNet-20 class per point or 255 (unannotated: the teacher sees an unnamed
    /// thing and reports from the "otherfurniture" row); `instances`: instance id per point (0 = none).
    public static func features(teacher: TextAlignedTeacher, positions: [Float], labels: [Int32], instances: [Int32],
                                views: Int = 8, neighbours: Int = 8, seed: UInt64 = 0) throws -> [Float] {
        let n = labels.count
        try require(n > 0 && positions.count == 3 * n && instances.count == n, "point teachers: positions, labels and instances disagree in length")
        try require(views >= 1 && views <= 1024 && neighbours >= 0 && neighbours <= 64, "point teachers: views 1...1024, neighbours 0...64")
        let d = teacher.dimension
        let other = teacher.space.classes - 1
        // per (instance, class): the mean embedding of the reports over the views
        var perObject: [Int64: [Float]] = [:]
        var base = [Float](repeating: 0, count: n * d)
        let e = teacher.space.rows
        for i in 0..<n {
            let cls = labels[i] == 255 || labels[i] < 0 || Int(labels[i]) >= teacher.space.classes ? other : Int(labels[i])
            let key = Int64(instances[i]) << 8 | Int64(cls)
            if perObject[key] == nil {
                var acc = [Float](repeating: 0, count: d)
                let inst = instances[i] > 0 ? instances[i] : Int32(-1 - cls)
                for v in 0..<views {
                    let r = teacher.reportedClass(instance: inst, trueClass: cls, view: v)
                    for k in 0..<d { acc[k] += e[r * d + k] / Float(views) }
                }
                perObject[key] = acc
            }
            let f = perObject[key]!
            for k in 0..<d { base[i * d + k] = f[k] }
        }
        // per-point noise
        var rng = SplitMix64(seed: teacher.seed ^ seed ^ 0x9017)
        let s = teacher.noise / Float(d).squareRoot()
        for i in 0..<(n * d) { base[i] += s * rng.normal() }
        // boundary mixing over the nearest neighbours
        var out = base
        if neighbours > 0 && n > neighbours {
            let nn = try PointNormals.knn(positions, k: neighbours)
            out.withUnsafeMutableBufferPointer { o in
                base.withUnsafeBufferPointer { b in
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
        }
        TeacherMath.normalizeRows(&out, dim: d)
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
