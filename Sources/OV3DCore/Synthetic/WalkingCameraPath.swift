#if canImport(Glibc)
import Glibc
#endif

/// A camera pose of the synthetic sensor: eye and camera-to-world rotation (columns: x right,
/// y down, z forward — OpenCV / ScanNet convention).
public struct SensorPose: Sendable, Equatable {
    public var eye: SIMD3<Float>
    /// Row-major 3×3 camera-to-world rotation.
    public var rotation: [Float]

    /// Looking along `forward` with `roll` (radians) about it; z is up in the world.
    public init(eye: SIMD3<Float>, forward: SIMD3<Float>, roll: Float = 0) {
        let f = SyntheticMath.normalize(forward)
        var x = SyntheticMath.normalize(SyntheticMath.cross(f, SIMD3(0, 0, 1)))
        if !x.x.isFinite || SyntheticMath.length(x) < 0.5 { x = SIMD3(1, 0, 0) }
        var y = SyntheticMath.cross(f, x)
        let c = cosf(roll), s = sinf(roll)
        let xr = x * c + y * s, yr = y * c - x * s
        x = xr; y = yr
        self.eye = eye
        rotation = [x.x, y.x, f.x, x.y, y.y, f.y, x.z, y.z, f.z]
    }

    /// Camera-to-world 4×4, row-major (ScanNet `pose/<id>.txt`).
    public var cameraToWorld: [Double] {
        let r = rotation.map(Double.init)
        return [r[0], r[1], r[2], Double(eye.x), r[3], r[4], r[5], Double(eye.y), r[6], r[7], r[8], Double(eye.z), 0, 0, 0, 1]
    }
}

/// A person walking through the room with a handheld RGB-D sensor: a loop around the room
/// through free floor (a breadth-first path on a 10 cm occupancy grid between waypoints about a
/// metre from the walls, smoothed), with the gaze sweeping between the walls and the room's
/// middle, looking down at furniture and up at the walls, eye height with a walking bob, and
/// hand jitter in yaw, pitch and roll.
public enum WalkingCameraPath {
    public static func generate(room: GeneratedRoom, frames: Int, seed: UInt64) -> [SensorPose] {
        guard frames > 0 else { return [] }
        var rng = SplitMix64(seed: seed ^ 0xCA3E_7A11)
        let size = room.world.size
        let cell: Float = 0.1
        let gx = max(1, Int(size.x / cell)), gy = max(1, Int(size.y / cell))
        func centre(_ i: Int, _ j: Int) -> SIMD2<Float> { SIMD2((Float(i) + 0.5) * cell, (Float(j) + 0.5) * cell) }
        var free = [Bool](repeating: false, count: gx * gy)
        for j in 0..<gy {
            for i in 0..<gx {
                let c = centre(i, j)
                let wall = min(c.x, c.y, size.x - c.x, size.y - c.y)
                free[j * gx + i] = wall >= 0.35 && !room.obstacles.contains { $0.distance(to: c) < 0.28 }
            }
        }
        func nearestFree(_ p: SIMD2<Float>) -> Int? {
            var best: Int?, bd = Float.infinity
            for k in 0..<(gx * gy) where free[k] {
                let d = centre(k % gx, k / gx) - p
                let dd = (d * d).sum()
                if dd < bd { bd = dd; best = k }
            }
            return best
        }
        func bfs(_ a: Int, _ b: Int) -> [Int]? {
            var prev = [Int](repeating: -2, count: gx * gy)
            var queue = [a], head = 0
            prev[a] = -1
            while head < queue.count {
                let k = queue[head]; head += 1
                if k == b { break }
                let i = k % gx, j = k / gx
                for (di, dj) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
                    let ni = i + di, nj = j + dj
                    guard ni >= 0, nj >= 0, ni < gx, nj < gy else { continue }
                    let nk = nj * gx + ni
                    if free[nk] && prev[nk] == -2 { prev[nk] = k; queue.append(nk) }
                }
            }
            guard prev[b] != -2 else { return nil }
            var path: [Int] = []
            var k = b
            while k >= 0 { path.append(k); k = prev[k] }
            return path.reversed()
        }
        // waypoints on a loop about a metre inside the walls, jittered
        let inset = SIMD2<Float>(min(1.0, size.x * 0.3), min(1.0, size.y * 0.3))
        var loop: [SIMD2<Float>] = []
        let corners: [SIMD2<Float>] = [[inset.x, inset.y], [size.x - inset.x, inset.y], [size.x - inset.x, size.y - inset.y], [inset.x, size.y - inset.y]]
        for k in 0..<4 {
            let a = corners[k], b = corners[(k + 1) % 4]
            for s in 0..<2 {
                let p = a + (b - a) * (Float(s) / 2) + SIMD2(rng.uniform(-0.3...0.3), rng.uniform(-0.3...0.3))
                loop.append(p)
            }
        }
        let start = Int(rng.next() % UInt64(loop.count))
        loop = Array(loop[start...] + loop[..<start]) + [loop[start]]
        var cells: [Int] = []
        for p in loop { if let c = nearestFree(p), cells.last != c { cells.append(c) } }
        var track: [SIMD2<Float>] = []
        for (a, b) in zip(cells, cells.dropFirst()) {
            if let seg = bfs(a, b) { for k in seg where track.last != centre(k % gx, k / gx) { track.append(centre(k % gx, k / gx)) } }
        }
        if track.count < 2 {   // no free floor: stand in the middle and turn around
            track = [SIMD2(size.x / 2, size.y / 2), SIMD2(size.x / 2 + 0.01, size.y / 2)]
        }
        // smooth (moving average, 7 cells) and resample by arc length
        var smooth = track
        for i in 0..<track.count {
            var s = SIMD2<Float>(0, 0); var n: Float = 0
            for k in max(0, i - 3)...min(track.count - 1, i + 3) { s += track[k]; n += 1 }
            smooth[i] = s / n
        }
        var arc: [Float] = [0]
        for i in 1..<smooth.count { arc.append(arc[i - 1] + ((smooth[i] - smooth[i - 1]) * (smooth[i] - smooth[i - 1])).sum().squareRoot()) }
        let total = max(arc.last!, 1e-3)
        let eyeHeight = rng.uniform(1.35...1.6)
        let period = Float(rng.uniform(9...13))
        let roomCentre = SIMD2<Float>(size.x / 2, size.y / 2)
        var poses: [SensorPose] = []
        var seg = 0
        for f in 0..<frames {
            let s = total * Float(f) / Float(max(frames, 1))
            while seg < arc.count - 2 && arc[seg + 1] < s { seg += 1 }
            let t = (s - arc[seg]) / max(arc[seg + 1] - arc[seg], 1e-6)
            let p = smooth[seg] + (smooth[seg + 1] - smooth[seg]) * min(max(t, 0), 1)
            let outward = p - roomCentre
            let outAngle = atan2f(outward.y, outward.x)
            let sweep = 2.6 * sinf(2 * .pi * Float(f) / period) + rng.uniform(-0.12...0.12)
            let yaw = outAngle + sweep
            let pitch = -0.35 + 0.22 * sinf(2 * .pi * Float(f) / (period * 0.7) + 1) + rng.uniform(-0.05...0.05)
            let bob = 0.015 * sinf(Float(f) * 2.1)
            let eye = SIMD3<Float>(p.x + rng.uniform(-0.03...0.03), p.y + rng.uniform(-0.03...0.03), eyeHeight + bob)
            let fwd = SIMD3<Float>(cosf(yaw) * cosf(pitch), sinf(yaw) * cosf(pitch), sinf(pitch))
            poses.append(SensorPose(eye: eye, forward: fwd, roll: rng.uniform(-0.05...0.05)))
        }
        return poses
    }
}
