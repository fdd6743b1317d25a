import ArgumentParser
import Foundation
import OV3DCore

/// `ov3d fuse --points P.npy --frames MANIFEST.json --out-features F.npy --out-mask M.npy
///  [--visibility-threshold T] [--cut-bound PIXELS]`: OpenScene multi-view feature fusion.
struct FuseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuse",
        abstract: "Fuse posed 2D feature maps onto 3D points (OpenScene multi-view fusion).",
        discussion: """
        MANIFEST.json: {"depth_scale": 1000, "frames": [{"depth": "a.png", "features": "a.npy",
        "intrinsics": [[fx,0,cx],[0,fy,cy],[0,0,1]], "pose": [[4x4 camera-to-world, row-major]]}, ...]}
        Paths are relative to the manifest. depth: 16-bit PNG (metres = value / depth_scale, default
        1000); features: H'xW'xC float16/float32 .npy spanning the depth image's field of view;
        intrinsics are the depth image's. A depth pixel (u, v) of a WxH image reads the feature
        pixel containing its centre: u' = floor((u + 0.5) W'/W), v' = floor((v + 0.5) H'/H).
        Outputs: NxC float32 mean features over the views that saw each point (zeros where none
        did) and an N-length uint8 mask (1 = seen by at least one view).
        """)

    @Option(name: .long, help: "Points: N×3 (or N×k, first 3 columns x y z) float .npy.")
    var points: String
    @Option(name: .long, help: "Frame manifest (JSON).")
    var frames: String
    @Option(name: .customLong("out-features"), help: "Output N×C float32 .npy.")
    var outFeatures: String
    @Option(name: .customLong("out-mask"), help: "Output N uint8 .npy (1 = seen).")
    var outMask: String
    @Option(name: .customLong("visibility-threshold"), help: "Relative depth tolerance (default 0.25).")
    var visibilityThreshold: Double = 0.25
    @Option(name: .customLong("cut-bound"), help: "Border pixels ignored (default 10).")
    var cutBound: Int = 10
    @OptionGroup var memory: MemoryOption

    func run() throws {
        do {
            let t = try NPY.read(path: points)
            try require(t.dtype.isFloatingPoint, "\(points): points must be float32/float64, got \(t.dtype.rawValue)")
            try require(t.rank == 2 && t.shape[1] >= 3 && t.shape[0] > 0, "\(points): points must be N×3 (N > 0), got shape \(t.shape)")
            let n = t.shape[0], k = t.shape[1]
            let all = t.floats()
            var xyz = [Float](repeating: 0, count: 3 * n)
            for i in 0..<n { for c in 0..<3 { xyz[3 * i + c] = all[i * k + c] } }
            var params = FusionParams(visibilityThreshold: visibilityThreshold, cutBound: cutBound)
            params.memoryLimit = memory.limit
            let r = try MultiViewFusion.fuse(positions: xyz, manifestPath: frames, params: params)
            try NPY.write(try Tensor(r.features, shape: [n, r.featureDim]), path: outFeatures)
            let mask = r.mask
            try NPY.write(try mask.withUnsafeBytes { try Tensor(dtype: .uint8, shape: [n], bytes: $0) }, path: outMask)
            let seen = mask.reduce(0) { $0 + Int($1) }
            FileHandle.standardError.write("ov3d fuse: \(n) points, \(r.featureDim) channels, \(seen) seen by at least one view\n".data(using: .utf8)!)
        } catch let e as OV3DError {
            // The tool's error contract (docs/robustness.md): exit status = -ov3d_status.
            FileHandle.standardError.write("ov3d fuse: \(e.message)\n".data(using: .utf8)!)
            throw ExitCode(Int32(-e.status.rawValue))
        }
    }
}
