/// Where the renderer's camera looks from. The scene is taken as z-up (ScanNet, LiDAR, ROS);
/// in every case the camera looks at the scene and its distance is chosen to frame it.
public enum Viewpoint: Sendable, Equatable {
    /// An oblique view from above one corner (azimuth −55°, elevation 50°, z up), turned so
    /// the longer side of the scene runs across the picture.
    case auto
    /// Straight down the −z axis, y up in the picture.
    case top
    /// From the direction (x, y, z) of the scene centre (the camera sits at
    /// centre + t·(x, y, z) for the framing distance t); need not be normalised.
    case direction(SIMD3<Float>)

    /// Parses `auto`, `top` or `x,y,z` (three finite numbers, not all zero).
    public init(parsing s: String) throws {
        switch s.lowercased() {
        case "auto": self = .auto
        case "top": self = .top
        default:
            let parts = s.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 3 else {
                throw OV3DError.invalidArgument("view '\(s)': give auto, top or x,y,z (a direction from the scene centre to the camera)")
            }
            var v = SIMD3<Float>(repeating: 0)
            for i in 0..<3 {
                let t = parts[i].trimmingSpaces()
                guard let f = Float(t), f.isFinite, abs(f) <= 1e6 else {
                    throw OV3DError.invalidArgument("view '\(s)': '\(t)' is not a finite number")
                }
                v[i] = f
            }
            guard v != SIMD3<Float>(repeating: 0) else {
                throw OV3DError.invalidArgument("view '\(s)': the direction must not be zero")
            }
            self = .direction(v)
        }
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
