#if canImport(Glibc)
import Glibc
#endif

/// A procedurally generated indoor room made of labelled axis-aligned boxes: floor, four walls
/// and furniture. Deterministic for a seed. Used by the demo, benchmarks and end-to-end tests as
/// data the project owns (no third-party scans).
public struct SyntheticRoom: Sendable {
    /// An axis-aligned box with a class index into `classNames` and a base colour.
    public struct Box: Sendable {
        public var min: SIMD3<Float>
        public var max: SIMD3<Float>
        public var label: Int32
        public var color: SIMD3<UInt8>
    }

    public var boxes: [Box]
    /// Class names; box labels index this list (ScanNet-20 names where they exist).
    public var classNames: [String]
    /// Room extent (x, y in metres; z is up, floor at 0).
    public var size: SIMD3<Float>

    /// The class names a generated room uses, in label order.
    public static let defaultClasses = ["wall", "floor", "cabinet", "bed", "chair", "sofa", "table", "door",
                                       "window", "bookshelf", "picture", "counter", "desk", "curtain",
                                       "refrigerator", "shower curtain", "toilet", "sink", "bathtub",
                                       "otherfurniture"]

    /// Generates a room of `size` metres with a random set of furniture (deterministic for `seed`).
    public static func generate(seed: UInt64 = 1, size: SIMD3<Float> = [6, 5, 2.6], furniture: Int = 14) -> SyntheticRoom {
        var rng = SplitMix64(seed: seed)
        let names = defaultClasses
        func idx(_ n: String) -> Int32 { Int32(names.firstIndex(of: n)!) }
        var boxes: [Box] = []
        let t: Float = 0.1
        boxes.append(Box(min: [0, 0, -t], max: [size.x, size.y, 0], label: idx("floor"), color: [150, 120, 90]))
        boxes.append(Box(min: [-t, 0, 0], max: [0, size.y, size.z], label: idx("wall"), color: [220, 220, 210]))
        boxes.append(Box(min: [size.x, 0, 0], max: [size.x + t, size.y, size.z], label: idx("wall"), color: [220, 220, 210]))
        boxes.append(Box(min: [0, -t, 0], max: [size.x, 0, size.z], label: idx("wall"), color: [215, 215, 205]))
        boxes.append(Box(min: [0, size.y, 0], max: [size.x, size.y + t, size.z], label: idx("wall"), color: [215, 215, 205]))
        // Wall-mounted items: a door, a window, a picture (thin boxes on the walls).
        boxes.append(Box(min: [1.0, -0.03, 0], max: [1.9, 0.02, 2.05], label: idx("door"), color: [120, 80, 50]))
        boxes.append(Box(min: [size.x - 0.02, 1.5, 0.9], max: [size.x + 0.03, 3.0, 2.1], label: idx("window"), color: [170, 200, 230]))
        boxes.append(Box(min: [2.5, size.y - 0.02, 1.2], max: [3.4, size.y + 0.03, 1.8], label: idx("picture"), color: [200, 60, 60]))
        // Furniture on the floor: (class, width range, depth range, height range, colour).
        let kinds: [(String, ClosedRange<Float>, ClosedRange<Float>, ClosedRange<Float>, SIMD3<UInt8>)] = [
            ("table", 0.8...1.6, 0.6...1.0, 0.7...0.8, [140, 100, 60]),
            ("chair", 0.4...0.5, 0.4...0.5, 0.8...1.0, [60, 60, 140]),
            ("cabinet", 0.5...1.2, 0.4...0.6, 0.8...1.9, [180, 170, 150]),
            ("bed", 1.4...1.8, 1.9...2.1, 0.4...0.6, [230, 230, 240]),
            ("sofa", 1.6...2.2, 0.8...1.0, 0.7...0.9, [90, 140, 90]),
            ("bookshelf", 0.8...1.2, 0.3...0.4, 1.6...2.0, [110, 70, 40]),
            ("desk", 1.0...1.4, 0.6...0.8, 0.72...0.76, [160, 130, 100]),
            ("refrigerator", 0.6...0.8, 0.6...0.7, 1.7...1.9, [235, 235, 235]),
            ("otherfurniture", 0.3...0.8, 0.3...0.8, 0.3...1.2, [100, 100, 100]),
        ]
        var placed: [(SIMD2<Float>, SIMD2<Float>)] = []
        var attempts = 0
        while boxes.count < 8 + furniture && attempts < 2000 {
            attempts += 1
            let k = kinds[Int(rng.next() % UInt64(kinds.count))]
            let w = rng.uniform(k.1), d = rng.uniform(k.2), h = rng.uniform(k.3)
            let x = rng.uniform(0.15...(size.x - 0.15 - w)), y = rng.uniform(0.15...(size.y - 0.15 - d))
            let lo = SIMD2<Float>(x, y), hi = SIMD2<Float>(x + w, y + d)
            if placed.contains(where: { lo.x < $0.1.x + 0.1 && hi.x > $0.0.x - 0.1 && lo.y < $0.1.y + 0.1 && hi.y > $0.0.y - 0.1 }) { continue }
            placed.append((lo, hi))
            boxes.append(Box(min: [x, y, 0], max: [x + w, y + d, h], label: idx(k.0), color: k.4))
        }
        return SyntheticRoom(boxes: boxes, classNames: names, size: size)
    }

    /// Samples points uniformly on the visible surfaces of the boxes (faces inside the room),
    /// about `density` points per square metre, with colour noise. Labels are per point.
    public func samplePoints(density: Float = 2500, seed: UInt64 = 2, colorNoise: Float = 12) -> PointCloud {
        var rng = SplitMix64(seed: seed)
        var cloud = PointCloud()
        for b in boxes {
            for face in 0..<6 {
                let axis = face / 2
                let atMax = face % 2 == 1
                let u = (axis + 1) % 3, v = (axis + 2) % 3
                let fixed = atMax ? b.max[axis] : b.min[axis]
                // Skip faces outside the room or touching the floor / each other.
                if fixed <= -0.0999 || fixed >= size[axis] + 0.0999 { continue }
                if axis == 2 && !atMax && b.min.z <= 0.001 { continue }
                let area = (b.max[u] - b.min[u]) * (b.max[v] - b.min[v])
                let n = Int(area * density)
                for _ in 0..<n {
                    var p = SIMD3<Float>(repeating: 0)
                    p[axis] = fixed
                    p[u] = rng.uniform(b.min[u]...b.max[u])
                    p[v] = rng.uniform(b.min[v]...b.max[v])
                    if p.x < -0.001 || p.y < -0.001 || p.x > size.x + 0.001 || p.y > size.y + 0.001 || p.z < -0.001 { continue }
                    // Drop points hidden inside another box (e.g. wall behind a door).
                    if boxes.contains(where: { o in
                        o.label != b.label && (o.min.x < p.x && p.x < o.max.x) && (o.min.y < p.y && p.y < o.max.y) && (o.min.z - 1e-3 < p.z && p.z < o.max.z)
                    }) { continue }
                    cloud.positions += [p.x, p.y, p.z]
                    for c in 0..<3 {
                        let val = Float(b.color[c]) + rng.uniform(-colorNoise...colorNoise)
                        cloud.colors.append(UInt8(max(0, min(255, val))))
                    }
                    var nrm = SIMD3<Float>(repeating: 0)
                    nrm[axis] = atMax ? 1 : -1
                    cloud.normals += [nrm.x, nrm.y, nrm.z]
                    cloud.labels.append(b.label)
                }
            }
        }
        return cloud
    }

    /// First box hit by a ray (origin, unit direction): distance and label, or nil.
    public func raycast(origin o: SIMD3<Float>, direction d: SIMD3<Float>) -> (distance: Float, label: Int32)? {
        var best: Float = .infinity
        var label: Int32 = -1
        for b in boxes {
            var t0: Float = 0, t1: Float = best
            var hit = true
            for a in 0..<3 {
                if abs(d[a]) < 1e-12 {
                    if o[a] < b.min[a] || o[a] > b.max[a] { hit = false; break }
                    continue
                }
                let inv = 1 / d[a]
                var tn = (b.min[a] - o[a]) * inv, tf = (b.max[a] - o[a]) * inv
                if tn > tf { swap(&tn, &tf) }
                t0 = max(t0, tn); t1 = min(t1, tf)
                if t0 > t1 { hit = false; break }
            }
            if hit && t0 > 1e-4 && t0 < best { best = t0; label = b.label }
        }
        return label >= 0 ? (best, label) : nil
    }
}
