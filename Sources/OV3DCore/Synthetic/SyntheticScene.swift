/// A generated scene: the room, points sampled on its mesh, and RGB-D frames rendered along a
/// walking camera path. Deterministic for (preset, seed). See `docs/synthetic.md`.
public struct SyntheticScene: Sendable {
    public var preset: SyntheticPreset
    public var seed: UInt64
    public var room: GeneratedRoom
    public var raycaster: MeshRaycaster
    public var points: LabelledPoints
    public var frames: [RenderedFrame]

    public var world: SyntheticWorld { room.world }

    public static func generate(preset: SyntheticPreset, seed: UInt64, noise: DepthSensorNoise = DepthSensorNoise(),
                                threads: Int = 0, progress: Progress = .none) throws -> SyntheticScene {
        try progress.report(0, "room")
        let room = RoomGenerator.generate(seed: seed, preset: preset)
        let raycaster = MeshRaycaster(mesh: room.world.mesh)
        try progress.report(0.1, "points")
        let points = SurfaceSampler.sample(room.world, raycaster: raycaster, density: preset.pointDensity, seed: seed, threads: threads)
        let poses = WalkingCameraPath.generate(room: room, frames: preset.frames, seed: seed)
        let k = SensorIntrinsics.scanNetDepth(width: preset.imageWidth, height: preset.imageHeight)
        var frames: [RenderedFrame] = []
        for (i, pose) in poses.enumerated() {
            try progress.report(0.2 + 0.8 * Float(i) / Float(max(poses.count, 1)), "render")
            frames.append(RGBDRenderer.render(room.world, raycaster: raycaster, pose: pose, intrinsics: k, noise: noise,
                                              seed: seed &* 1_000_003 &+ UInt64(i), threads: threads))
        }
        try progress.report(1, "render")
        return SyntheticScene(preset: preset, seed: seed, room: room, raycaster: raycaster, points: points, frames: frames)
    }

    /// Frame `i` as the fusion reader builds it from the files (`depth/<id>.png` + a feature map).
    public func fusionFrame(_ i: Int, features: Tensor) throws -> FusionFrame {
        let f = frames[i]
        let k = f.intrinsics
        return try FusionFrame(depthWidth: k.width, depthHeight: k.height, depth: f.depth,
                               intrinsics: try PinholeIntrinsics(matrix: k.matrix), pose: try CameraPose(cameraToWorld: f.pose.cameraToWorld),
                               features: features)
    }
}

/// The simulated teachers of a scene (all SIMULATED): two text-aligned ones with complementary
/// confusions (LSeg-like, SEEM-like), a DINOv2-like geometric one and a diffusion-like one.
public enum SyntheticTeachers {
    public static func standard(preset: SyntheticPreset, space: TeacherTextSpace, seed: UInt64) -> [any SimulatedFeatureTeacher] {
        let fw = Int(preset.textFeatureSize.x), fh = Int(preset.textFeatureSize.y)
        return [
            TextAlignedTeacher.lsegLike(space: space, featureWidth: fw, featureHeight: fh, seed: seed &+ 11),
            TextAlignedTeacher.seemLike(space: space, featureWidth: fw, featureHeight: fh, seed: seed &+ 23),
            GeometricTeacher(dimension: preset.geometricDim, featureWidth: fw, featureHeight: fh,
                             imageWidth: preset.imageWidth, imageHeight: preset.imageHeight, seed: seed &+ 37),
            DiffusionTeacher(dimension: preset.diffusionDim, space: space, imageWidth: preset.imageWidth,
                             imageHeight: preset.imageHeight, seed: seed &+ 51),
        ]
    }
}

/// One teacher's features fused onto the scene's points over all frames (OpenScene fusion).
public struct FusedTeacher: Sendable {
    public var name: String
    public var dimension: Int
    public var textAligned: Bool
    /// `N × dimension` float32 (zeros where no view saw the point).
    public var features: [Float]
    /// 1 where at least one view saw the point.
    public var mask: [UInt8]
}

extension SyntheticScene {
    /// Runs `teacher` on every frame and fuses its maps onto the points with `FusionSession` —
    /// the same code `ov3d fuse` runs on a manifest. The maps are rounded to float16 first (as
    /// they are stored), so fusing the written frames reproduces these features bit for bit.
    /// `sink(frame, map)` receives each map (e.g. to write it).
    public func fuseTeacher(_ teacher: any SimulatedFeatureTeacher, params: FusionParams = FusionParams(),
                            progress: Progress = .none, sink: ((Int, Tensor) throws -> Void)? = nil) throws -> FusedTeacher {
        let session = try FusionSession(positions: points.positions, featureDim: teacher.dimension, params: params)
        for i in frames.indices {
            try progress.report(Float(i) / Float(max(frames.count, 1)), teacher.name)
            let map = teacher.featureMap(frames[i], frameIndex: i, world: world)
            let tensor = try Tensor.float16(map, shape: [teacher.featureHeight, teacher.featureWidth, teacher.dimension])
            try sink?(i, tensor)
            _ = try session.addFrame(try fusionFrame(i, features: tensor))
        }
        try progress.report(1, teacher.name)
        let r = session.snapshot()
        return FusedTeacher(name: teacher.name, dimension: teacher.dimension, textAligned: teacher.textAligned, features: r.features, mask: r.mask)
    }
}

extension Tensor {
    /// A float16 tensor from float32 values (round to nearest even).
    public static func float16(_ values: [Float], shape: [Int]) throws -> Tensor {
        let h = values.map { floatToHalf($0) }
        return try h.withUnsafeBytes { try Tensor(dtype: .float16, shape: shape, bytes: $0) }
    }
}
