#if canImport(Glibc)
import Glibc
#endif

/// Posed RGB-D frames rendered from a `SyntheticRoom` by ray casting: what a robot's depth
/// camera would see, with per-pixel ground-truth labels for simulated 2D teachers.
public struct SyntheticFrame: Sendable {
    public var width: Int
    public var height: Int
    /// Depth in millimetres (0 = no return), row-major `height × width`.
    public var depth: [UInt16]
    /// Ground-truth class per pixel (-1 where nothing was hit).
    public var labels: [Int32]
    /// Pinhole intrinsics fx, fy, cx, cy (OpenCV convention: x right, y down, z forward).
    public var fx: Float, fy: Float, cx: Float, cy: Float
    /// Camera-to-world pose, row-major 4×4.
    public var pose: [Float]

    /// The 3×3 intrinsic matrix, row-major.
    public var intrinsics: [Float] { [fx, 0, cx, 0, fy, cy, 0, 0, 1] }
}

extension SyntheticRoom {
    /// Renders `count` frames from cameras on an ellipse inside the room at eye height; frames
    /// cycle between looking across the room, at the wall behind and down at the floor ahead,
    /// as a robot scanning a room would.
    public func renderOrbit(count: Int, width: Int = 320, height: Int = 240, fovX: Float = 70 * .pi / 180,
                            eyeHeight: Float = 1.5, threads: Int = 0) -> [SyntheticFrame] {
        (0..<max(count, 0)).map { i in
            let a = 2 * Float.pi * Float(i) / Float(max(count, 1))
            let centre = SIMD3<Float>(size.x / 2, size.y / 2, 0.6)
            let eye = SIMD3<Float>(size.x / 2 + 0.38 * size.x * cosf(a), size.y / 2 + 0.38 * size.y * sinf(a), eyeHeight)
            let flat = (eye - centre) * SIMD3<Float>(1, 1, 0)
            let target: SIMD3<Float>
            switch i % 3 {
            case 0: target = centre                                            // across the room
            case 1: target = eye + flat + SIMD3<Float>(0, 0, -0.5)             // the wall behind
            default: target = SIMD3<Float>(eye.x, eye.y, 0) - flat * 0.6       // the floor ahead
            }
            return render(eye: eye, target: target, width: width, height: height, fovX: fovX, threads: threads)
        }
    }

    /// Renders one frame from `eye` looking at `target` (z up in the world).
    public func render(eye: SIMD3<Float>, target: SIMD3<Float>, width: Int, height: Int, fovX: Float,
                       threads: Int = 0) -> SyntheticFrame {
        func normalize(_ v: SIMD3<Float>) -> SIMD3<Float> { v / (v * v).sum().squareRoot() }
        func cross(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> SIMD3<Float> {
            [a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x]
        }
        let zc = normalize(target - eye)                 // forward
        let xc = normalize(cross(zc, [0, 0, 1]))         // right
        let yc = cross(zc, xc)                           // down
        let fx = Float(width) / 2 / tanf(fovX / 2)
        let fy = fx
        let cx = Float(width - 1) / 2, cy = Float(height - 1) / 2
        var depth = [UInt16](repeating: 0, count: width * height)
        var labels = [Int32](repeating: -1, count: width * height)
        depth.withUnsafeMutableBufferPointer { dp in
            labels.withUnsafeMutableBufferPointer { lp in
                let d = UncheckedSendable(dp), l = UncheckedSendable(lp)
                parallelFor(height, threads: threads) { rows in
                    for v in rows {
                        for u in 0..<width {
                            let ray = SIMD3<Float>((Float(u) - cx) / fx, (Float(v) - cy) / fy, 1)
                            let dir = xc * ray.x + yc * ray.y + zc * ray.z
                            let len = (dir * dir).sum().squareRoot()
                            guard let hit = raycast(origin: eye, direction: dir / len) else { continue }
                            let z = hit.distance / len          // depth along the optical axis
                            let mm = (z * 1000).rounded()
                            guard mm > 0 && mm < 65535 else { continue }
                            d.value[v * width + u] = UInt16(mm)
                            l.value[v * width + u] = hit.label
                        }
                    }
                }
            }
        }
        let pose: [Float] = [xc.x, yc.x, zc.x, eye.x,
                             xc.y, yc.y, zc.y, eye.y,
                             xc.z, yc.z, zc.z, eye.z,
                             0, 0, 0, 1]
        return SyntheticFrame(width: width, height: height, depth: depth, labels: labels,
                              fx: fx, fy: fy, cx: cx, cy: cy, pose: pose)
    }
}

/// A simulated 2D open-vocabulary teacher: for each pixel it outputs the text embedding of the
/// class it *believes* it sees, plus noise. `accuracy[c]` is the probability (per frame) that it
/// reports the true class c correctly, else it reports the one class it confuses c with.
public struct SimulatedTeacher: Sendable {
    public var name: String
    public var accuracy: [Float]
    public var noise: Float
    public var seed: UInt64

    public init(name: String, accuracy: [Float], noise: Float = 0.3, seed: UInt64) {
        self.name = name
        self.accuracy = accuracy
        self.noise = noise
        self.seed = seed
    }

    /// The class the teacher reports for each true class in frame `frameIndex` (coherent per
    /// object class within a frame; right with probability `accuracy[c]`).
    public func decisions(frameIndex: Int, classes: Int) -> [Int32] {
        var rng = SplitMix64(seed: seed &+ UInt64(frameIndex) &* 7919)
        var confusion = SplitMix64(seed: seed ^ 0xC0FF_EE00)
        // Each teacher confuses a class with one fixed other class (systematic errors, like a real
        // 2D model mistaking cabinets for refrigerators), not with random ones.
        let confusedWith = (0..<classes).map { c in Int32((c + 1 + Int(confusion.next() % UInt64(max(classes - 1, 1)))) % classes) }
        return (0..<classes).map { c in
            let acc = c < accuracy.count ? accuracy[c] : 1
            return rng.uniform(0...1) < acc ? Int32(c) : confusedWith[c]
        }
    }

    /// The teacher's per-pixel class map at the frame's resolution (-1 where nothing was hit):
    /// what its 2D segmentation would output, e.g. for capability estimation against pseudo labels.
    public func labelMap(for frame: SyntheticFrame, frameIndex: Int, classes: Int) -> [Int32] {
        let d = decisions(frameIndex: frameIndex, classes: classes)
        return frame.labels.map { $0 >= 0 && Int($0) < classes ? d[Int($0)] : -1 }
    }

    /// A feature map `outHeight × outWidth × dim` (row-major, channels last) for `frame`, whose
    /// pixel (i, j) looks at depth pixel (⌊i·H/outH⌋, ⌊j·W/outW⌋). Unhit pixels get zeros.
    /// Class decisions are made per object region (label), per frame, so mistakes are coherent.
    public func featureMap(for frame: SyntheticFrame, vocabulary: Vocabulary, outWidth: Int, outHeight: Int,
                           frameIndex: Int) -> [Float] {
        let dim = vocabulary.dimension
        let classes = vocabulary.count
        var rng = SplitMix64(seed: seed &+ UInt64(frameIndex) &* 7919 &+ 1)
        let decided = decisions(frameIndex: frameIndex, classes: classes)
        // Pixel noise comes from a bank of Gaussian vectors picked per pixel (fast, deterministic).
        let bankSize = 509
        let bank = (0..<(bankSize * dim)).map { _ in noise * rng.normal() / Float(dim).squareRoot() }
        var out = [Float](repeating: 0, count: outWidth * outHeight * dim)
        out.withUnsafeMutableBufferPointer { o in
            vocabulary.embeddings.withUnsafeBufferPointer { e in
                bank.withUnsafeBufferPointer { nb in
                    for i in 0..<outHeight {
                        let v = min(frame.height - 1, i * frame.height / outHeight)
                        for j in 0..<outWidth {
                            let u = min(frame.width - 1, j * frame.width / outWidth)
                            let l = frame.labels[v * frame.width + u]
                            guard l >= 0, Int(l) < classes else { continue }
                            let c = Int(decided[Int(l)])
                            let base = (i * outWidth + j) * dim
                            let nbase = ((i &* 7919 &+ j &* 104_729 &+ frameIndex &* 31) % bankSize) * dim
                            for k in 0..<dim { o[base + k] = e[c * dim + k] + nb[nbase + k] }
                        }
                    }
                }
            }
        }
        return out
    }
}
