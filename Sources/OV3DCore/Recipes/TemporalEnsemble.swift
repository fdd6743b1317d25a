/// The EMA history of SAS's self-distillation (`run/distill_EMA.py:147-164, 355-368, 527-558`):
/// per training scene, a `points × dim` state initialised (before stage 2, network in eval mode)
/// to the network's per-point prediction averaged over each superpoint, and after every forward
/// of that scene updated as
///
///     h ← m · h + (1 − m) · p,    m = 0.9999 (as released)
///
/// with `p` the current per-point prediction (the voxel output broadcast by the inverse map).
/// The released code keeps the state in float16 files, rounding after every update
/// (`storeHalf`, the default); with float16 the small `(1 − m)` step is partly lost to rounding
/// — it is what the released code does. Memory: 2 (half) or 4 bytes × points × dim per scene.
public final class TemporalEnsemble {
    public static let releasedMomentum = 0.9999

    public let momentum: Double
    public let dim: Int
    public let storeHalf: Bool
    private var halfState: [Int: [UInt16]] = [:]
    private var floatState: [Int: [Float]] = [:]

    public init(dim: Int, momentum: Double = TemporalEnsemble.releasedMomentum, storeHalf: Bool = true) throws {
        try require(dim > 0, "temporal ensemble: dim must be positive")
        try require(momentum >= 0 && momentum <= 1, "temporal ensemble: momentum must be in [0, 1], got \(momentum)")
        self.dim = dim; self.momentum = momentum; self.storeHalf = storeHalf
    }

    /// Scenes with a state.
    public var scenes: [Int] { (storeHalf ? Array(halfState.keys) : Array(floatState.keys)).sorted() }

    /// Sets scene `scene`'s state to its per-point predictions averaged per superpoint (points
    /// without a superpoint keep their own prediction).
    public func initialize(scene: Int, pointPredictions p: [Float], superpoints: Superpoints) throws {
        try require(p.count == superpoints.ids.count * dim, "temporal ensemble: \(p.count) values for \(superpoints.ids.count) points × \(dim)")
        let pooled = try SuperpointOps.meanPool(p, dim: dim, superpoints: superpoints)
        var h = p
        for (i, g) in superpoints.ids.enumerated() where g >= 0 {
            for j in 0..<dim { h[i * dim + j] = pooled[Int(g) * dim + j] }
        }
        store(scene, h)
    }

    /// The state of a scene (points × dim), or nil before `initialize`.
    public func state(scene: Int) -> [Float]? {
        if storeHalf { return halfState[scene].map { $0.map(halfToFloat) } }
        return floatState[scene]
    }

    /// One EMA step with the current per-point predictions; returns the new state.
    @discardableResult
    public func update(scene: Int, pointPredictions p: [Float]) throws -> [Float] {
        guard var h = state(scene: scene) else { throw OV3DError.invalidArgument("temporal ensemble: scene \(scene) has no state (initialize it first)") }
        try require(p.count == h.count, "temporal ensemble: scene \(scene) has \(h.count / dim) points, the prediction \(p.count / dim)")
        // As torch: both factors rounded to float32 once (0.9999f, 0.0001f).
        let a = Float(momentum), b = Float(1 - momentum)
        for i in 0..<h.count { h[i] = a * h[i] + b * p[i] }
        store(scene, h)
        return state(scene: scene)!
    }

    /// One EMA step on the points `rows` of the scene only (a cropped batch, `data.crop_points`;
    /// nil: every point, as `update(scene:pointPredictions:)`); returns the new state of those rows.
    public func update(scene: Int, rows: [Int32]?, pointPredictions p: [Float]) throws -> [Float] {
        guard let rows else { return try update(scene: scene, pointPredictions: p) }
        guard var h = state(scene: scene) else { throw OV3DError.invalidArgument("temporal ensemble: scene \(scene) has no state (initialize it first)") }
        let n = h.count / dim
        try require(p.count == rows.count * dim, "temporal ensemble: \(rows.count) rows, the prediction \(p.count / dim)")
        let a = Float(momentum), b = Float(1 - momentum)
        for (r, i) in rows.enumerated() {
            try require(i >= 0 && Int(i) < n, "temporal ensemble: row \(i) outside 0..<\(n)")
            for j in 0..<dim { h[Int(i) * dim + j] = a * h[Int(i) * dim + j] + b * p[r * dim + j] }
        }
        store(scene, h)
        return try gather(scene: scene, points: rows)
    }

    /// The state of `scene` as a tensor for a checkpoint: points × dim, float16 (`storeHalf`,
    /// the stored bits exactly) or float32; nil before `initialize`.
    public func tensor(scene: Int) throws -> Tensor? {
        if storeHalf {
            guard let h = halfState[scene] else { return nil }
            return try h.withUnsafeBytes { try Tensor(dtype: .float16, shape: [h.count / dim, dim], bytes: $0) }
        }
        guard let f = floatState[scene] else { return nil }
        return try Tensor(f, shape: [f.count / dim, dim])
    }

    /// Restores a scene's state from `tensor(scene:)`'s output (same dtype and width), bit for bit.
    public func restore(scene: Int, tensor t: Tensor) throws {
        try requireFormat(t.rank == 2 && t.shape[1] == dim && t.shape[0] >= 1, "temporal ensemble: scene \(scene)'s state is \(t.shape), expected points × \(dim)")
        if storeHalf {
            try requireFormat(t.dtype == .float16, "temporal ensemble: scene \(scene)'s state is \(t.dtype.rawValue), expected float16 (recipe.ema_half)")
            halfState[scene] = (0..<t.count).map { t.bytes.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self) }
        } else {
            try requireFormat(t.dtype == .float32, "temporal ensemble: scene \(scene)'s state is \(t.dtype.rawValue), expected float32 (recipe.ema_half false)")
            floatState[scene] = t.floats()
        }
    }

    /// The state at the given points (e.g. each voxel's representative point), rows × dim.
    public func gather(scene: Int, points: [Int32]) throws -> [Float] {
        guard let h = state(scene: scene) else { throw OV3DError.invalidArgument("temporal ensemble: scene \(scene) has no state") }
        let n = h.count / dim
        var out = [Float](repeating: 0, count: points.count * dim)
        for (r, p) in points.enumerated() {
            try require(p >= 0 && Int(p) < n, "temporal ensemble: point \(p) outside 0..<\(n)")
            for j in 0..<dim { out[r * dim + j] = h[Int(p) * dim + j] }
        }
        return out
    }

    private func store(_ scene: Int, _ h: [Float]) {
        if storeHalf { halfState[scene] = h.map(floatToHalf) } else { floatState[scene] = h }
    }
}
