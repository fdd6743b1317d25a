/// Multi-view 2D→3D feature fusion as OpenScene does it (`openscene-pipeline.md` §6.1), online.
///
/// Create with the points, then `addFrame` as frames arrive; `snapshot()` at any time. Memory is
/// the running sums only: `N × C` float32 sums and `N` view counts (plus the points), whatever
/// the number of frames. Batch fusion (`MultiViewFusion.fuse`) is this session fed every frame
/// in order, so online and batch results are identical.
///
/// Per frame and point (all projection arithmetic in float64):
/// 1. `p_cam = inv(pose) · [x y z 1]ᵀ` (general 4×4 inverse, `CameraPose`); require `z > 0`.
/// 2. `u = x·fx/z + cx`, `v = y·fy/z + cy`, rounded half-to-even (`np.round`).
/// 3. Inside test on the depth image: `cut ≤ u < W − cut`, `cut ≤ v < H − cut`.
/// 4. Visibility: `d = depth[v,u] / depth_scale`; keep iff `|d − z| ≤ vis · d` (d = 0 rejects).
/// 5. Feature pixel: the feature map (`H' × W'`) spans the depth image's field of view; the
///    depth pixel `(u, v)` reads the feature pixel that contains its centre:
///    `u' = ⌊(u + ½)·W'/W⌋ = ((2u+1)·W') div (2W)`, `v' = ((2v+1)·H') div (2H)` (exact integer
///    arithmetic; the identity when the resolutions are equal; nearest-neighbour resampling
///    with `align_corners=False` otherwise).
/// 6. `sum += f` (float32, frames in arrival order), `count += 1`.
/// Result: `fused = sum / count` (float32) where `count > 0`, zeros elsewhere; `mask = count > 0`.
public final class FusionSession: @unchecked Sendable {
    public let params: FusionParams
    /// Largest `N × C` accepted (2^31 float sums = 8 GiB), so a huge request is an error, not a failed allocation.
    public static let maxElements = 1 << 31
    public let pointCount: Int
    /// Feature channels, fixed by the first frame (or `init(featureDim:)`); 0 until known.
    public private(set) var featureDim: Int
    public private(set) var frameCount: Int = 0
    private let positions: [Float]
    private var sums: [Float]
    private var counts: [UInt32]

    /// `positions` are `N × 3` float32 (x y z); `featureDim` 0 = take it from the first frame.
    public init(positions: [Float], featureDim: Int = 0, params: FusionParams = FusionParams()) throws {
        try params.validate()
        try require(positions.count % 3 == 0, "fusion: positions are not triples")
        try require(featureDim >= 0 && featureDim <= 1 << 16, "fusion: feature dim \(featureDim) out of range")
        for v in positions { try require(v.isFinite, "fusion: a point coordinate is not finite") }
        let n = positions.count / 3
        try require(n > 0, "fusion: no points")
        let (total, overflow) = n.multipliedReportingOverflow(by: max(featureDim, 1))
        try require(!overflow && total <= FusionSession.maxElements, "fusion: \(n) points × \(featureDim) channels exceeds \(FusionSession.maxElements) sums")
        if featureDim > 0 { try FusionSession.checkMemory(points: n, featureDim: featureDim, frameBytes: 0, params: params) }
        self.params = params
        self.pointCount = n
        self.featureDim = featureDim
        self.positions = positions
        self.sums = try Memory.array(repeating: 0, count: n * featureDim, what: "fusion sums (\(n) points × \(featureDim) channels)")
        self.counts = try Memory.array(repeating: 0, count: n, what: "fusion view counts")
    }

    /// Projected peak bytes of a session over `points` points with `featureDim` channels fed
    /// frames of `frameBytes` (depth + feature map): the points, sums and counts, one frame and
    /// its per-point correspondences, and the snapshot (features + mask) a caller takes.
    public static func projectedBytes(points: Int, featureDim: Int, frameBytes: Int) -> Int {
        let (perPoint, o1) = (12 + 4 + 8 + 1).addingReportingOverflow(8 * featureDim)
        let (a, o2) = points.multipliedReportingOverflow(by: perPoint)
        let (t, o3) = a.addingReportingOverflow(frameBytes)
        return o1 || o2 || o3 ? Int.max : t
    }

    static func checkMemory(points: Int, featureDim: Int, frameBytes: Int, params: FusionParams) throws {
        try Memory.checkProjected(projectedBytes(points: points, featureDim: featureDim, frameBytes: frameBytes),
                                  limit: try Memory.limit(params.memoryLimit),
                                  what: "fusing \(featureDim)-channel features onto \(points) points")
    }

    /// Bytes held by the session's buffers (points, sums, counts): constant after the first frame.
    public var retainedBytes: Int {
        positions.capacity * 4 + sums.capacity * 4 + counts.capacity * 4
    }

    /// Validates a frame against the session (channels) and returns its geometry.
    private func checkFrame(_ f: FusionFrame) throws {
        if featureDim == 0 {
            let (total, overflow) = pointCount.multipliedReportingOverflow(by: f.featureChannels)
            try require(!overflow && total <= FusionSession.maxElements, "fusion: \(pointCount) points × \(f.featureChannels) channels exceeds \(FusionSession.maxElements) sums")
        } else {
            try require(f.featureChannels == featureDim,
                        "fusion: frame has \(f.featureChannels) feature channels, the session has \(featureDim)")
        }
    }

    /// Projects every point into `frame`: per point the depth pixel index (`v·W + u`) and the
    /// feature pixel index (`v'·W' + u'`), or -1 for both where the point is outside or occluded.
    public func correspondences(_ frame: FusionFrame) throws -> (depthPixel: [Int32], featurePixel: [Int32]) {
        try checkFrame(frame)
        var dp = [Int32](repeating: -1, count: pointCount)
        var fp = [Int32](repeating: -1, count: pointCount)
        let proj = Projector(frame: frame, params: params)
        positions.withUnsafeBufferPointer { pos in
            frame.depth.withUnsafeBufferPointer { depth in
                dp.withUnsafeMutableBufferPointer { dpo in
                    fp.withUnsafeMutableBufferPointer { fpo in
                        let box = UncheckedSendable((pos, depth, dpo, fpo))
                        parallelFor(pointCount, threads: params.threads, minChunk: 4096) { r in
                            let (pos, depth, dpo, fpo) = box.value
                            var scratch = Projector.Scratch()
                            var lo = r.lowerBound
                            while lo < r.upperBound {
                                let hi = min(lo + Projector.block, r.upperBound)
                                let k = proj.projectBlock(lo..<hi, pos, depth, &scratch)
                                for j in 0..<k {
                                    dpo[scratch.point[j]] = Int32(scratch.depthPixel[j])
                                    fpo[scratch.point[j]] = Int32(scratch.featurePixel[j])
                                }
                                lo = hi
                            }
                        }
                    }
                }
            }
        }
        return (dp, fp)
    }

    /// Fuses one frame into the running sums. Returns how many points this frame saw.
    @discardableResult
    public func addFrame(_ frame: FusionFrame) throws -> Int {
        try checkFrame(frame)
        if featureDim == 0 {
            let fb = frame.features.byteCount + 2 * frame.depthWidth * frame.depthHeight
            try FusionSession.checkMemory(points: pointCount, featureDim: frame.featureChannels, frameBytes: fb, params: params)
            sums = try Memory.array(repeating: 0, count: pointCount * frame.featureChannels,
                                    what: "fusion sums (\(pointCount) points × \(frame.featureChannels) channels)")
            featureDim = frame.featureChannels
        }
        let c = featureDim
        let proj = Projector(frame: frame, params: params)
        let isHalf = frame.features.dtype == .float16
        let rowBytes = c * (isHalf ? 2 : 4)
        let feat = frame.features.bytes
        let threads = Threads.resolve(params.threads)
        var seenPerChunk = [Int](repeating: 0, count: threads)
        positions.withUnsafeBufferPointer { pos in
            frame.depth.withUnsafeBufferPointer { depth in
                sums.withUnsafeMutableBufferPointer { sums in
                    counts.withUnsafeMutableBufferPointer { counts in
                        seenPerChunk.withUnsafeMutableBufferPointer { seen in
                            let box = UncheckedSendable((pos, depth, sums, counts, seen))
                            let n = pointCount
                            // One chunk per thread so each chunk owns one `seen` slot.
                            parallelFor(threads, threads: threads) { chunks in
                                let (pos, depth, sums, counts, seen) = box.value
                                var scratch = Projector.Scratch()
                                for chunk in chunks {
                                    var local = 0
                                    var lo = n * chunk / threads
                                    let end = n * (chunk + 1) / threads
                                    while lo < end {
                                        let hi = min(lo + Projector.block, end)
                                        let k = proj.projectBlock(lo..<hi, pos, depth, &scratch)
                                        local += k
                                        // Touch each feature row first: a tight loop of independent
                                        // loads overlaps the cache misses of the whole block.
                                        var touch: UInt8 = 0
                                        for j in 0..<k { touch &+= feat.load(fromByteOffset: scratch.featurePixel[j] * rowBytes, as: UInt8.self) }
                                        scratch.touched = touch
                                        for j in 0..<k {
                                            let i = scratch.point[j]
                                            counts[i] &+= 1
                                            let dst = i * c
                                            let src = scratch.featurePixel[j] * c
                                            if isHalf {
                                                for q in 0..<c {
                                                    sums[dst + q] += halfToFloat(feat.loadUnaligned(fromByteOffset: 2 * (src + q), as: UInt16.self))
                                                }
                                            } else if c % 8 == 0 {
                                                // Lane-wise float32 adds: the same results as the scalar loop.
                                                let out = UnsafeMutableRawPointer(sums.baseAddress! + dst)
                                                var q = 0
                                                while q < c {
                                                    let a = out.loadUnaligned(fromByteOffset: 4 * q, as: SIMD8<Float>.self)
                                                    let b = feat.loadUnaligned(fromByteOffset: 4 * (src + q), as: SIMD8<Float>.self)
                                                    out.storeBytes(of: a + b, toByteOffset: 4 * q, as: SIMD8<Float>.self)
                                                    q += 8
                                                }
                                            } else {
                                                for q in 0..<c {
                                                    sums[dst + q] += feat.loadUnaligned(fromByteOffset: 4 * (src + q), as: Float.self)
                                                }
                                            }
                                        }
                                        lo = hi
                                    }
                                    seen[chunk] = local
                                }
                            }
                        }
                    }
                }
            }
        }
        frameCount += 1
        return seenPerChunk.reduce(0, +)
    }

    /// The fused state now: per point the mean feature over the views that saw it (zeros where
    /// none did), the visibility mask and the view counts.
    public func snapshot() -> FusionResult {
        var fused = [Float](repeating: 0, count: sums.count)
        let c = featureDim
        for i in 0..<pointCount where counts[i] > 0 {
            let k = Float(counts[i])
            for j in 0..<c { fused[i * c + j] = sums[i * c + j] / k }
        }
        return FusionResult(features: fused, featureDim: c, counts: counts)
    }

    /// Writes the snapshot into caller buffers (features `N × C`, mask `N`, counts `N`; each may be nil).
    public func snapshot(features: UnsafeMutableBufferPointer<Float>?, mask: UnsafeMutableBufferPointer<UInt8>?,
                         counts out: UnsafeMutableBufferPointer<UInt32>?) throws {
        let c = featureDim
        if let features { try require(features.count >= pointCount * c, "snapshot: features buffer holds \(features.count) floats, need \(pointCount * c)") }
        if let mask { try require(mask.count >= pointCount, "snapshot: mask buffer holds \(mask.count), need \(pointCount)") }
        if let out { try require(out.count >= pointCount, "snapshot: counts buffer holds \(out.count), need \(pointCount)") }
        for i in 0..<pointCount {
            let n = counts[i]
            mask?[i] = n > 0 ? 1 : 0
            out?[i] = n
            if let features {
                if n > 0 {
                    let k = Float(n)
                    for j in 0..<c { features[i * c + j] = sums[i * c + j] / k }
                } else {
                    for j in 0..<c { features[i * c + j] = 0 }
                }
            }
        }
    }

    /// Clears the sums and counts (keeps the points and channel count).
    public func reset() {
        for i in sums.indices { sums[i] = 0 }
        for i in counts.indices { counts[i] = 0 }
        frameCount = 0
    }
}

/// The output of fusion: `N × C` mean features (zeros where unseen), and per-point view counts.
public struct FusionResult: Sendable, Equatable {
    public var features: [Float]
    public var featureDim: Int
    public var counts: [UInt32]
    public var pointCount: Int { counts.count }
    /// 1 where at least one view saw the point.
    public var mask: [UInt8] { counts.map { $0 > 0 ? 1 : 0 } }
}

/// Per-frame projection constants; `project` is the hot per-point kernel.
struct Projector: Sendable {
    let m: (Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double, Double)
    let fx: Double, fy: Double, cx: Double, cy: Double
    let w: Int, h: Int, wf: Int, hf: Int
    let lo: Double, hiU: Double, hiV: Double
    let scale: Double, vis: Double

    init(frame: FusionFrame, params: FusionParams) {
        let a = frame.pose.worldToCamera
        m = (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11])
        fx = frame.intrinsics.fx; fy = frame.intrinsics.fy; cx = frame.intrinsics.cx; cy = frame.intrinsics.cy
        w = frame.depthWidth; h = frame.depthHeight; wf = frame.featureWidth; hf = frame.featureHeight
        lo = Double(params.cutBound)
        hiU = Double(frame.depthWidth - params.cutBound)
        hiV = Double(frame.depthHeight - params.cutBound)
        scale = params.depthScale
        vis = params.visibilityThreshold
    }

    /// Points per block of the three-pass kernel (projection, depth test, gather): independent
    /// loads of a block overlap in memory, unlike one long dependency chain per point.
    static let block = 512

    /// Per-thread scratch for one block (bounded: `block` entries each).
    struct Scratch {
        var point = [Int](repeating: 0, count: Projector.block)
        var depthPixel = [Int](repeating: 0, count: Projector.block)
        var featurePixel = [Int](repeating: 0, count: Projector.block)
        var z = [Double](repeating: 0, count: Projector.block)
        /// Sink for the cache-touch loads (keeps them from being optimised away).
        var touched: UInt8 = 0
    }

    /// Round half to even for |x| < 2^51 (the default FP rounding mode does it: adding and
    /// subtracting 1.5·2^52 leaves no fraction bits). NaN stays NaN; ±Inf becomes NaN; values
    /// beyond 2^51 stay far outside any image, so the bound checks reject them as `np.round`
    /// values would be rejected.
    @inline(__always)
    static func roundHalfEven(_ x: Double) -> Double {
        let magic = 6_755_399_441_055_744.0 // 1.5 · 2^52
        return abs(x) < 2_251_799_813_685_248.0 ? (x + magic) - magic : x // 2^51
    }

    /// Visible points of `range`: fills `scratch.point/depthPixel/featurePixel[0..<k]` (in
    /// point order) and returns k.
    @inline(__always)
    func projectBlock(_ range: Range<Int>, _ pos: UnsafeBufferPointer<Float>, _ depth: UnsafeBufferPointer<UInt16>,
                      _ s: inout Scratch) -> Int {
        var k = 0
        s.point.withUnsafeMutableBufferPointer { pt in
            s.depthPixel.withUnsafeMutableBufferPointer { dp in
                s.featurePixel.withUnsafeMutableBufferPointer { fp in
                    s.z.withUnsafeMutableBufferPointer { zs in
                        // Pass 1: projection and bound checks.
                        for i in range {
                            let x = Double(pos[3 * i]), y = Double(pos[3 * i + 1]), z = Double(pos[3 * i + 2])
                            let zc = m.8 * x + m.9 * y + m.10 * z + m.11
                            let xc = m.0 * x + m.1 * y + m.2 * z + m.3
                            let yc = m.4 * x + m.5 * y + m.6 * z + m.7
                            let u = Projector.roundHalfEven(xc * fx / zc + cx)
                            let v = Projector.roundHalfEven(yc * fy / zc + cy)
                            // Comparisons on doubles first: NaN and huge values fail here, before any Int conversion.
                            if zc > 0, u >= lo, u < hiU, v >= lo, v < hiV {
                                pt[k] = i
                                dp[k] = Int(v) * w + Int(u)
                                zs[k] = zc
                                k += 1
                            }
                        }
                        // Pass 2: depth-visibility test (independent loads), compacting in place.
                        var kept = 0
                        for j in 0..<k {
                            let d = Double(depth[dp[j]]) / scale
                            if abs(d - zs[j]) <= vis * d {
                                pt[kept] = pt[j]
                                dp[kept] = dp[j]
                                kept += 1
                            }
                        }
                        k = kept
                        // Pass 3: feature pixel of each visible depth pixel.
                        for j in 0..<k {
                            let vi = dp[j] / w, ui = dp[j] - vi * w
                            let uf = ((2 * ui + 1) * wf) / (2 * w)
                            let vf = ((2 * vi + 1) * hf) / (2 * h)
                            fp[j] = vf * wf + uf
                        }
                    }
                }
            }
        }
        return k
    }
}
