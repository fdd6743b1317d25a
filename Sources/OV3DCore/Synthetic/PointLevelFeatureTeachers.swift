/// The simulated DINOv2-like (`GeometricTeacher`) and diffusion-like (`DiffusionTeacher`)
/// teachers applied at point level to real labelled scenes (e.g. ScanNet's
/// `scannet_votenet50k`, which has no frames): a point is a surface sample, its clean feature
/// is the teacher's own per-sample function (`GeometricTeacher.feature`,
/// `DiffusionTeacher.addSurfaceTerms`, the very code its frame path runs per cell), the frame
/// path's blur (bilinear upsampling of the patch grid; box blur) becomes mixing with the `neighbours`
/// nearest points (as `PointLevelTeachers.features` does), the per-cell noise becomes seeded
/// per-point noise, and rows are L2-normalised. Points labelled 255 are seen as "otherfurniture"
/// and points without an instance as one pseudo-object per class, as the text teachers do.
/// SIMULATED teachers on real geometry: not DINOv2 or Stable Diffusion outputs. Deterministic
/// for (inputs, teacher, seed) and a thread count.
extension PointLevelTeachers {
    /// DINOv2-like features, `N × teacher.dimension`: per point the instance, class, normal and
    /// smooth position codes (`normals` N×3, e.g. `PointNormals.estimate`), neighbourhood mixing,
    /// then noise (σ = `teacher.noise`, after the blur as in the frame path), normalised.
    public static func geometric(teacher: GeometricTeacher, positions: [Float], normals: [Float], labels: [Int32],
                                 instances: [Int32], neighbours: Int = 4, seed: UInt64 = 0) throws -> [Float] {
        try validate(positions: positions, labels: labels, instances: instances, views: 1, neighbours: neighbours)
        let n = labels.count, d = teacher.dimension
        try require(normals.count == 3 * n, "point teachers: \(normals.count / 3) normals for \(n) points")
        var clean = [Float](repeating: 0, count: n * d)
        clean.withUnsafeMutableBufferPointer { o in
            var codes = teacher.instanceCodes()
            for i in 0..<n {
                let cls = pointClass(labels[i], classes: SyntheticWorld.classNames.count)
                let ic = codes.code(pointInstance(instances[i], cls: cls))
                teacher.feature(instanceCode: ic, cls: Int32(cls), normal: point(normals, i), position: point(positions, i), into: o, at: i * d)
            }
        }
        var out = try mixNeighbours(clean, dim: d, positions: positions, neighbours: neighbours)
        addNoise(&out, dim: d, level: teacher.noise, seed: teacher.seed ^ seed ^ 0xD1A0)
        TeacherMath.normalizeRows(&out, dim: d)
        return out
    }

    /// Diffusion-like features, `N × teacher.dimension`: per object the projection of the mean
    /// over `views` simulated views of the CLIP embeddings its semantic teacher reports (drawn
    /// from its confusion matrix as `PointLevelTeachers.features` draws them), per point its
    /// instance code and appearance (`colors` N×3, 0...255), noise (σ = `teacher.noise`, before
    /// the blur as in the frame path), neighbourhood mixing, normalised.
    public static func diffusion(teacher: DiffusionTeacher, positions: [Float], colors: [UInt8], labels: [Int32],
                                 instances: [Int32], views: Int = 4, neighbours: Int = 4, seed: UInt64 = 0) throws -> [Float] {
        try validate(positions: positions, labels: labels, instances: instances, views: views, neighbours: neighbours)
        let n = labels.count, d = teacher.dimension
        try require(colors.count == 3 * n, "point teachers: \(colors.count / 3) colours for \(n) points")
        let reports = reportMeans(teacher: teacher.semantic, labels: labels, instances: instances, views: views)
        let objects = reports.means.count / teacher.semantic.dimension
        let projected = teacher.project(reports.means, rows: objects)
        var out = [Float](repeating: 0, count: n * d)
        out.withUnsafeMutableBufferPointer { o in
            var codes = teacher.instanceCodes()
            for i in 0..<n {
                let ob = reports.objectOfPoint[i] * d
                for k in 0..<d { o[i * d + k] = projected[ob + k] }
                let cls = pointClass(labels[i], classes: teacher.semantic.space.classes)
                let colour = SIMD3<Float>(Float(colors[3 * i]), Float(colors[3 * i + 1]), Float(colors[3 * i + 2])) / 255
                teacher.addSurfaceTerms(instanceCode: codes.code(pointInstance(instances[i], cls: cls)), colour: colour, into: o, at: i * d)
            }
        }
        addNoise(&out, dim: d, level: teacher.noise, seed: teacher.seed ^ seed ^ 0xD1F5)
        out = try mixNeighbours(out, dim: d, positions: positions, neighbours: neighbours)
        TeacherMath.normalizeRows(&out, dim: d)
        return out
    }

    static func point(_ xyz: [Float], _ i: Int) -> SIMD3<Float> { SIMD3(xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]) }
}
