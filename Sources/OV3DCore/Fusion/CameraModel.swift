/// Pinhole intrinsics of a depth image (OpenCV convention: x right, y down, z forward).
public struct PinholeIntrinsics: Sendable, Equatable {
    public var fx: Double, fy: Double, cx: Double, cy: Double

    public init(fx: Double, fy: Double, cx: Double, cy: Double) throws {
        for (n, v) in [("fx", fx), ("fy", fy), ("cx", cx), ("cy", cy)] {
            try require(v.isFinite, "intrinsics: \(n) is not finite (\(v))")
        }
        try require(fx > 0 && fy > 0, "intrinsics: fx and fy must be positive (got \(fx), \(fy))")
        self.fx = fx; self.fy = fy; self.cx = cx; self.cy = cy
    }

    /// From a row-major 3×3 matrix `[[fx,0,cx],[0,fy,cy],[0,0,1]]` (only fx, fy, cx, cy are used).
    public init(matrix m: [Double]) throws {
        try require(m.count == 9, "intrinsics: expected 9 values (3×3), got \(m.count)")
        try self.init(fx: m[0], fy: m[4], cx: m[2], cy: m[5])
    }
}

/// A camera-to-world pose (row-major 4×4) and its inverse, world-to-camera.
///
/// The inverse is the general 4×4 inverse by cofactors (not the rigid shortcut), so slightly
/// non-orthonormal poses are inverted exactly as `np.linalg.inv` would up to rounding;
/// `tools/fusion_reference.py` uses the identical cofactor expression, so both agree bit for bit.
public struct CameraPose: Sendable, Equatable {
    public let cameraToWorld: [Double]
    public let worldToCamera: [Double]

    public init(cameraToWorld m: [Double]) throws {
        try require(m.count == 16, "pose: expected 16 values (4×4), got \(m.count)")
        for v in m { try require(v.isFinite, "pose: a value is not finite (\(v))") }
        guard let inv = CameraPose.invert4x4(m) else {
            throw OV3DError.invalidArgument("pose: the 4×4 matrix is singular")
        }
        for v in inv { try require(v.isFinite, "pose: the inverse is not finite") }
        cameraToWorld = m
        worldToCamera = inv
    }

    /// A camera-to-world pose from a translation and a unit quaternion (TUM order qx qy qz qw).
    public init(translation t: (Double, Double, Double), quaternion q: (x: Double, y: Double, z: Double, w: Double)) throws {
        let n = (q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w).squareRoot()
        try require(n.isFinite && n > 0, "pose: quaternion has zero or non-finite norm")
        let x = q.x / n, y = q.y / n, z = q.z / n, w = q.w / n
        try self.init(cameraToWorld: [
            1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w), t.0,
            2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w), t.1,
            2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y), t.2,
            0, 0, 0, 1,
        ])
    }

    /// General 4×4 inverse via 2×2 sub-determinants (adjugate / determinant). Keep in sync with
    /// `invert4x4` in tools/fusion_reference.py: same expressions, same order.
    static func invert4x4(_ m: [Double]) -> [Double]? {
        let s0 = m[0] * m[5] - m[4] * m[1]
        let s1 = m[0] * m[6] - m[4] * m[2]
        let s2 = m[0] * m[7] - m[4] * m[3]
        let s3 = m[1] * m[6] - m[5] * m[2]
        let s4 = m[1] * m[7] - m[5] * m[3]
        let s5 = m[2] * m[7] - m[6] * m[3]
        let c5 = m[10] * m[15] - m[14] * m[11]
        let c4 = m[9] * m[15] - m[13] * m[11]
        let c3 = m[9] * m[14] - m[13] * m[10]
        let c2 = m[8] * m[15] - m[12] * m[11]
        let c1 = m[8] * m[14] - m[12] * m[10]
        let c0 = m[8] * m[13] - m[12] * m[9]
        let det = s0 * c5 - s1 * c4 + s2 * c3 + s3 * c2 - s4 * c1 + s5 * c0
        guard det != 0, det.isFinite else { return nil }
        let d = 1 / det
        return [
            (m[5] * c5 - m[6] * c4 + m[7] * c3) * d,
            (-m[1] * c5 + m[2] * c4 - m[3] * c3) * d,
            (m[13] * s5 - m[14] * s4 + m[15] * s3) * d,
            (-m[9] * s5 + m[10] * s4 - m[11] * s3) * d,
            (-m[4] * c5 + m[6] * c2 - m[7] * c1) * d,
            (m[0] * c5 - m[2] * c2 + m[3] * c1) * d,
            (-m[12] * s5 + m[14] * s2 - m[15] * s1) * d,
            (m[8] * s5 - m[10] * s2 + m[11] * s1) * d,
            (m[4] * c4 - m[5] * c2 + m[7] * c0) * d,
            (-m[0] * c4 + m[1] * c2 - m[3] * c0) * d,
            (m[12] * s4 - m[13] * s2 + m[15] * s0) * d,
            (-m[8] * s4 + m[9] * s2 - m[11] * s0) * d,
            (-m[4] * c3 + m[5] * c1 - m[6] * c0) * d,
            (m[0] * c3 - m[1] * c1 + m[2] * c0) * d,
            (-m[12] * s3 + m[13] * s1 - m[14] * s0) * d,
            (m[8] * s3 - m[9] * s1 + m[10] * s0) * d,
        ]
    }
}
