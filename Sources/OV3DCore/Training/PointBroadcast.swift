/// The voxel → point broadcast of OpenScene's training (`output_3d[inds_reverse]`) and its
/// backward: every point takes its voxel's row; the gradient of a voxel row is the sum of the
/// gradients of its points (summed in point order: deterministic).
public enum PointBroadcast {
    /// Row `i` of the result is row `map[i]` of `voxels` (`cols` wide). Indices must be in range
    /// (the trainer builds them).
    public static func gather(_ voxels: [Float], cols: Int, map: [Int32]) -> [Float] {
        Elementwise.gatherRows(voxels, cols: cols, index: map)
    }

    /// The backward of `gather`: `voxelRows × cols` with row `v` = Σ over `i` with `map[i] == v`
    /// of row `i` of `points`.
    public static func scatterAdd(_ points: [Float], cols: Int, map: [Int32], voxelRows: Int) -> [Float] {
        var out = [Float](repeating: 0, count: voxelRows * cols)
        points.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                for (i, v) in map.enumerated() {
                    let src = s.baseAddress! + i * cols, dst = o.baseAddress! + Int(v) * cols
                    for c in 0..<cols { dst[c] += src[c] }
                }
            }
        }
        return out
    }
}
