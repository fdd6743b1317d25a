/// A batch ready for a training step: the network input and, per loss row, where its
/// prediction comes from and what it should be.
public struct PreparedBatch: Sendable {
    public var batch: TrainingBatch
    /// Scene indices (into the config's list), in batch-index order.
    public var scenes: [Int]
    /// Loss rows: voxels of voxel scenes, points of point scenes, scene after scene.
    public var lossRows: Int
    /// Batch row of every loss row; nil when the loss rows are the batch rows.
    public var lossToRow: [Int32]?
    /// Per head `lossRows × dim`.
    public var targets: [String: [Float]]
    /// lossRows entries; nil: every row supervised.
    public var mask: [UInt8]?
    /// Per batch scene (same order as `scenes`): the scene's row (point or voxel index in its
    /// files) of each of its loss rows when `data.crop_points` cropped it; nil: every row, in order.
    /// Empty: no scene was cropped.
    public var sceneRows: [[Int32]?] = []
}

/// The scenes of a run and the order the steps take them: `batchSize` scenes per step; without
/// shuffling in file order, wrapping around (step 1 = scenes 0 ..< B, step 2 the next B, ...);
/// with shuffling, a fresh seeded permutation whenever the previous one is used up (an epoch).
/// Scenes are read when a step needs them (bounded memory for large datasets).
public final class TrainingData {
    public let specs: [TrainingSceneSpec]
    public let batchSize: Int
    public let shuffle: Bool
    public let augmentation: TrainingAugmentation?
    public let inChannels: Int
    /// Heads with a loss and their widths: their targets are required.
    public let lossHeads: [(name: String, dim: Int)]
    /// `data.crop_points`: scenes with more rows keep this many (`PointCrop`); nil: no crop.
    public let cropPoints: Int?
    /// The random stream (shuffling, augmentation).
    public var rng: SplitMix64
    /// The current pass over the scenes and the position in it.
    public private(set) var permutation: [Int] = []
    public private(set) var cursor = 0

    public init(specs: [TrainingSceneSpec], batchSize: Int, shuffle: Bool, augmentation: TrainingAugmentation?,
                inChannels: Int, lossHeads: [(name: String, dim: Int)], seed: UInt64, cropPoints: Int? = nil) throws {
        try require(!specs.isEmpty, "data.scenes is empty")
        try require(batchSize >= 1 && batchSize <= 4096, "data.batch_size must be 1...4096, got \(batchSize)")
        try require(inChannels >= 1, "model.in_channels must be >= 1")
        self.specs = specs; self.batchSize = batchSize; self.shuffle = shuffle; self.augmentation = augmentation
        self.inChannels = inChannels; self.lossHeads = lossHeads
        if let c = cropPoints { try require(c >= 1, "data.crop_points must be >= 1, got \(c)") }
        self.cropPoints = cropPoints
        // Decorrelate the data stream from other uses of the seed.
        rng = SplitMix64(seed: seed ^ 0x6F76_3364_6461_7461)
    }

    /// Restores the order state (a checkpoint's).
    public func restore(rng: SplitMix64, permutation: [Int], cursor: Int) throws {
        try requireFormat(permutation.isEmpty || permutation.sorted() == Array(0..<specs.count),
                          "training state: the scene order does not fit the \(specs.count) scenes of data.scenes")
        try requireFormat(cursor >= 0 && cursor <= permutation.count, "training state: scene cursor \(cursor) is out of range")
        self.rng = rng; self.permutation = permutation; self.cursor = cursor
    }

    /// The scene indices of the next step.
    public func nextScenes() -> [Int] {
        var out: [Int] = []
        for _ in 0..<batchSize {
            if cursor >= permutation.count {
                permutation = Array(0..<specs.count)
                if shuffle {
                    for i in stride(from: permutation.count - 1, to: 0, by: -1) { permutation.swapAt(i, rng.below(i + 1)) }
                }
                cursor = 0
            }
            out.append(permutation[cursor])
            cursor += 1
        }
        return out
    }

    /// Reads, augments and assembles the next step's batch.
    public func nextBatch() throws -> PreparedBatch {
        let ids = nextScenes()
        var coords: [Int32] = [], features: [Float] = []
        var targets: [String: [Float]] = [:]
        var mask: [UInt8]? = nil
        var lossToRow: [Int32] = []
        var identity = true
        var lossRows = 0, rows = 0
        var sceneRows: [[Int32]?] = []
        for (b, id) in ids.enumerated() {
            var s = try TrainingScene.load(specs[id], inChannels: inChannels, headDims: lossHeads)
            if let cap = cropPoints {
                // One draw per scene and step whether or not the scene is larger (a fixed stream).
                let cropSeed = rng.next()
                if s.rows > cap {
                    let keep = try PointCrop.indices(positions: s.cropPositions, maxPoints: cap, seed: cropSeed)
                    s = s.subset(rows: keep)
                    sceneRows.append(keep.map { Int32($0) })
                } else {
                    sceneRows.append(nil)
                }
            }
            var c: [Int32]
            var map: [Int32]? = nil
            var feats: [Float]? = s.features
            if let pts = s.points, let vs = s.voxelSize {
                let r: Voxelizer.Result
                do {
                    r = try augmentation.map { try $0.voxelize(points: pts, voxelSize: vs, rng: &rng) }
                        ?? Voxelizer.voxelize(positions: pts, voxelSize: vs)
                } catch let e as OV3DError { throw e.context(s.label) }
                c = r.coords
                map = r.inverse
                if let f = s.features { feats = Elementwise.gatherRows(f, cols: inChannels, index: r.representative) }
            } else {
                c = s.coords ?? []
                augmentation?.apply(voxels: &c, rng: &rng)
            }
            let v = c.count / 3
            try require(rows + v <= Int(Int32.max), "the batch has too many voxels")
            coords.reserveCapacity(coords.count + 4 * v)
            for i in 0..<v { coords += [Int32(b), c[3 * i], c[3 * i + 1], c[3 * i + 2]] }
            if let feats { features += feats } else { features += repeatElement(1, count: v * inChannels) }
            if let map {
                identity = false
                lossToRow += map.map { $0 + Int32(rows) }
            } else {
                lossToRow += (0..<v).map { Int32(rows + $0) }
            }
            for h in lossHeads { targets[h.name, default: []] += s.targets[h.name] ?? [] }
            if s.mask != nil || mask != nil {
                if mask == nil { mask = [UInt8](repeating: 1, count: lossRows) }
                mask! += s.mask ?? [UInt8](repeating: 1, count: s.rows)
            }
            lossRows += s.rows
            rows += v
        }
        return PreparedBatch(batch: TrainingBatch(coords: coords, features: features, inChannels: inChannels),
                             scenes: ids, lossRows: lossRows, lossToRow: identity ? nil : lossToRow,
                             targets: targets, mask: mask, sceneRows: sceneRows.contains { $0 != nil } ? sceneRows : [])
    }
}
