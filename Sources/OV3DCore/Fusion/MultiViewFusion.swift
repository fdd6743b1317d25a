/// Batch multi-view fusion: every frame of a manifest (or a frame source) into one session.
public enum MultiViewFusion {
    /// Fuses `frames` (produced lazily, in order) onto `positions` (`N × 3`).
    public static func fuse(positions: [Float], frameCount: Int, params: FusionParams = FusionParams(),
                            progress: Progress = .none, frame: (Int) throws -> FusionFrame) throws -> FusionResult {
        let session = try FusionSession(positions: positions, params: params)
        for i in 0..<frameCount {
            try progress.report(Float(i) / Float(max(frameCount, 1)), "fusion")
            try session.addFrame(try frame(i))
        }
        try progress.report(1, "fusion")
        return session.snapshot()
    }

    /// Fuses every frame of the manifest at `manifestPath`. The manifest's `depth_scale`, when
    /// present, overrides `params.depthScale`.
    public static func fuse(positions: [Float], manifestPath: String, params: FusionParams = FusionParams(),
                            progress: Progress = .none) throws -> FusionResult {
        let manifest = try FusionManifest(path: manifestPath)
        var p = params
        if let s = manifest.depthScale { p.depthScale = s }
        try require(!manifest.entries.isEmpty, "\(manifestPath): the manifest lists no frames")
        return try fuse(positions: positions, frameCount: manifest.entries.count, params: p, progress: progress) {
            try manifest.loadFrame($0)
        }
    }
}
