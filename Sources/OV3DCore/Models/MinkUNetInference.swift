/// End-to-end inference: points → voxels → network → per-point features, and voxel coordinates
/// (optionally with a batch column) → per-row features.
extension MinkUNet {
    /// Output of `run(points:...)`: the voxelisation and the per-voxel head outputs.
    public struct PointResult {
        public var voxels: Voxelizer.Result
        public var output: Output
        public var pointCount: Int { voxels.inverse.count }

        /// Per-point features of selected head `h` (`pointCount × dim`), rows through the inverse map,
        /// optionally L2-normalised.
        public func pointFeatures(head h: Int, normalized: Bool = false, threads: Int = 1) throws -> [Float] {
            let dim = output.heads[h].count / max(1, output.rows)
            var src = output.heads[h]
            if normalized { Elementwise.l2NormalizeRows(&src, cols: dim, threads: threads) }
            try Memory.reserve(Float.self, count: voxels.inverse.count * dim, what: "per-point features (\(voxels.inverse.count) × \(dim))")
            return Elementwise.gatherRows(src, cols: dim, index: voxels.inverse)
        }
    }

    /// Voxelises `positions` (x y z per point) at `voxelSize` and runs the network with
    /// constant-one input features (OpenScene's `input_color: False`).
    public func run(points positions: [Float], voxelSize: Double, augmentation: Voxelizer.Augmentation? = nil,
                    headSelection: [Int]? = nil, threads: Int, workspace: Workspace,
                    progress: Progress = .none, outputCopies: Int = 1) throws -> PointResult {
        // Memory limits (issue 17): the point phase before voxelising, the whole run once the
        // voxel count is known, both before the allocations they project.
        let points = positions.count / 3
        try checkMemory(points: points, voxels: nil, headSelection: headSelection, outputCopies: outputCopies, workspace: workspace)
        let vox = try Voxelizer.voxelize(positions: positions, voxelSize: voxelSize, augmentation: augmentation)
        try checkMemory(points: points, voxels: vox.voxelCount, headSelection: headSelection, outputCopies: outputCopies, workspace: workspace)
        try progress.report(0, "voxelized")
        let ones = try Memory.array(repeating: Float(1), count: vox.voxelCount * spec.inChannels, what: "input features")
        let out = try forward(coords: vox.coords, features: ones, headSelection: headSelection, threads: threads,
                              workspace: workspace, progress: progress)
        return PointResult(voxels: vox, output: out)
    }

    /// Runs the network on unique integer voxel coordinates, `columns` = 3 (x y z) or 4
    /// (batch x y z: each batch runs separately, as in ME where batches never interact).
    /// `features` (rows × inChannels) defaults to ones. Output rows follow the input rows.
    public func run(voxelCoords: [Int32], columns: Int, features: [Float]? = nil, headSelection: [Int]? = nil,
                    threads: Int, workspace: Workspace, progress: Progress = .none) throws -> Output {
        try require(columns == 3 || columns == 4, "voxel coordinates must have 3 (x y z) or 4 (batch x y z) columns, got \(columns)")
        try require(!voxelCoords.isEmpty && voxelCoords.count % columns == 0, "voxel coordinates are empty or not \(columns) per row")
        let n = voxelCoords.count / columns
        let cin = spec.inChannels
        try checkMemory(points: 0, voxels: n, headSelection: headSelection, outputCopies: 1, workspace: workspace)
        let feats = try features ?? Memory.array(repeating: Float(1), count: n * cin, what: "input features")
        try require(feats.count == n * cin, "input features hold \(feats.count) values, expected \(n) × \(cin)")
        if columns == 3 {
            return try forward(coords: voxelCoords, features: feats, headSelection: headSelection, threads: threads,
                               workspace: workspace, progress: progress)
        }
        // Group rows by batch (first-occurrence order), run each, scatter back to input order.
        var groups = [Int32: [Int]]()
        var order = [Int32]()
        for r in 0..<n {
            let b = voxelCoords[4 * r]
            if groups[b] == nil { order.append(b) }
            groups[b, default: []].append(r)
        }
        var result: Output? = nil
        for b in order {
            let rows = groups[b]!
            var c = [Int32](), f = [Float]()
            c.reserveCapacity(3 * rows.count); f.reserveCapacity(cin * rows.count)
            for r in rows {
                c += voxelCoords[(4 * r + 1)..<(4 * r + 4)]
                f += feats[(r * cin)..<(r * cin + cin)]
            }
            let o = try forward(coords: c, features: f, headSelection: headSelection, threads: threads,
                                workspace: workspace, progress: progress)
            if result == nil {
                result = Output(heads: o.heads.map { [Float](repeating: 0, count: n * $0.count / max(1, o.rows)) },
                                headIndices: o.headIndices, rows: n, flops: 0, pairCounts: o.pairCounts)
            }
            result!.flops += o.flops
            for h in 0..<o.heads.count {
                let dim = o.heads[h].count / max(1, o.rows)
                for (i, r) in rows.enumerated() {
                    result!.heads[h].replaceSubrange((r * dim)..<(r * dim + dim), with: o.heads[h][(i * dim)..<(i * dim + dim)])
                }
            }
        }
        return result!
    }
}
