/// Projected peak memory of a MinkUNet run, from the point and voxel counts alone, so that a
/// run over a memory limit is refused before it allocates (issue 17; `Memory.checkProjected`).
///
/// The model (bytes, calibrated on MinkUNet18A/8 and /1 runs of 1M–5M points, see
/// docs/robustness.md): a fixed part (weights, runtime, thread stacks: weights + 64 MiB), per
/// point the larger of the voxelisation phase (positions 12, hash table 24-48, inverse map 4,
/// first keys and points 12; then, the table freed, the voxels' sort records 24, coordinates,
/// representatives and ranks 20) and the output phase (positions, inverse map
/// and `outputCopies` copies of the selected heads' per-point rows), and per voxel the kernel
/// map scratch of the stem (4·k³, pooled), the kernel maps (8 bytes per pair, ~⅓ of every
/// offset occupied on scanned surfaces), the pooled feature matrices (the stride-1 live
/// widths, doubled for the coarser levels) and the voxel head outputs.
extension MinkUNet {
    public struct MemoryProjection: Sendable, CustomStringConvertible {
        public var bytes: Int
        public var points: Int
        public var voxels: Int
        public var description: String {
            "\(points) points" + (voxels > 0 ? ", \(voxels) voxels" : "") + ": about \(Memory.describe(bytes))"
        }
    }

    /// Projected peak bytes of `run(points:)` with `points` points and `voxels` voxels (pass
    /// `voxels: nil` before voxelising: the point phase only, a lower bound). `outputCopies`
    /// counts the per-point copies of the selected heads' rows the caller keeps (1 for
    /// `PointResult.pointFeatures`; the `ov3d features` writer adds two; 0 for the segmentation
    /// pipeline, which keeps voxel features only) and `extraPerPoint` the caller's own per-point
    /// bytes in the output phase (labels, scores, probabilities).
    public func projectedPeak(points: Int, voxels: Int?, headSelection: [Int]? = nil, outputCopies: Int = 1,
                              extraPerPoint: Int = 0) -> MemoryProjection {
        let selected = headSelection ?? Array(heads.indices)
        let dims = selected.filter { $0 >= 0 && $0 < heads.count }.reduce(0) { $0 + heads[$1].cout }
        var weightBytes = 4 * (stem.weights.count + heads.reduce(0) { $0 + $1.weights.count })
        for w in down + up { weightBytes += 4 * w.weights.count }
        for s in stages { for b in s { weightBytes += 4 * (b.conv1.weights.count + b.conv2.weights.count + (b.downsample?.weights.count ?? 0)) } }
        let fixed = (64 << 20) + weightBytes
        let voxelisePhase = 12 + 24 + 12 + 24 + 4
        let outputPhase = 12 + 4 + 4 * dims * max(0, outputCopies) + max(0, extraPerPoint)
        let perPoint = max(voxelisePhase, outputPhase)
        var perVoxel = 0
        if voxels != nil {
            let k3 = stem.kernelSize * stem.kernelSize * stem.kernelSize
            let scratch = 4 * k3
            let maps = 8 * (k3 + 27 + 8 + 8) / 3
            let p = spec.planes
            let live = spec.inChannels + spec.initDim + (p[7] + spec.initDim) + 3 * p[7]
            perVoxel = scratch + maps + 4 * 2 * live + 4 * dims
        }
        let v = voxels ?? 0
        let (a, o1) = points.multipliedReportingOverflow(by: perPoint)
        let (b, o2) = v.multipliedReportingOverflow(by: perVoxel)
        let (t, o3) = a.addingReportingOverflow(b)
        let total = o1 || o2 || o3 ? Int.max : t.addingReportingOverflow(fixed).overflow ? Int.max : t + fixed
        return MemoryProjection(bytes: total, points: points, voxels: v)
    }

    /// Refuses a run whose projection exceeds the workspace's memory limit or the address space
    /// left (outOfMemory, saying what the run would need).
    func checkMemory(points: Int, voxels: Int?, headSelection: [Int]?, outputCopies: Int, extraPerPoint: Int = 0,
                     workspace: Workspace) throws {
        let limit = try workspace.effectiveMemoryLimit()
        let p = projectedPeak(points: points, voxels: voxels, headSelection: headSelection, outputCopies: outputCopies,
                              extraPerPoint: extraPerPoint)
        let what = "running \(spec.variantName) on \(points) points" + (voxels.map { " (\($0) voxels)" } ?? "")
        try Memory.checkProjected(p.bytes, limit: limit, what: what)
    }
}
