import Foundation
@testable import OV3DCore

/// Helpers for the MinkUNet golden fixtures (Tests/Fixtures/minkunet, made by
/// tools/minkunet_reference.py with spconv 2.3; layout in that folder's README.md).
enum MinkFixture {
    static func dir(_ name: String) -> String { TestPaths.fixture("minkunet/" + name) }
    static func exists(_ name: String) -> Bool {
        let ok = FileManager.default.fileExists(atPath: dir(name) + "/meta.json")
        if !ok { print("SKIP: fixture minkunet/\(name) not present") }
        return ok
    }
    static func meta(_ name: String) throws -> JSON {
        try JSON.parse(String(contentsOfFile: dir(name) + "/meta.json", encoding: .utf8))
    }
    static func floats(_ path: String) throws -> (values: [Float], shape: [Int]) {
        let t = try NPY.read(path: path)
        return (t.floats(), t.shape)
    }
    static func ints(_ path: String) throws -> [Int32] { try NPY.read(path: path).int64s().map { Int32($0) } }

    /// The reference's seeded weight generator (README "Seeded weight generator"), bit-exact.
    static func seededValues(key: String, count: Int, amp: Double, offset: Float, seed: UInt64 = 20_261_122) -> [Float] {
        var h: UInt64 = 14_695_981_039_346_656_037
        for b in key.utf8 { h ^= UInt64(b); h = h &* 1_099_511_628_211 }
        let base = h ^ seed
        let scale = Float(amp) / Float(1 << 23)
        return (0..<count).map { i in
            var rng = SplitMix64(seed: base &+ UInt64(i))   // first output of SplitMix64 at base + i
            let z = rng.next()
            let m = Int64(z >> 40)
            return Float(m - (1 << 23)) * scale + offset
        }
    }

    /// The seeded state dict of an architecture, with `net3d.` keys, as the reference builds it.
    static func seededStateDict(_ spec: MinkUNetSpec, prefix: String = "net3d.") throws -> StateDict {
        var sd = StateDict()
        for (key, shape) in spec.expectedTensors {
            let full = prefix + key
            let n = shape.reduce(1, *)
            let v: [Float]
            if key.hasSuffix(".kernel") {
                let vol = shape.count == 3 ? shape[0] : 1
                v = seededValues(key: full, count: n, amp: (6.0 / Double(vol * shape[shape.count - 2])).squareRoot(), offset: 0)
            } else if key.hasSuffix(".bn.weight") {
                v = seededValues(key: full, count: n, amp: 0.25, offset: 1)
            } else if key.hasSuffix(".bn.running_var") {
                v = seededValues(key: full, count: n, amp: 0.5, offset: 1)
            } else {
                v = seededValues(key: full, count: n, amp: 0.1, offset: 0)
            }
            sd.set(full, try Tensor(v, shape: shape))
        }
        return sd
    }

    /// max |a − b| and that divided by max |b|.
    static func relMaxAbs(_ a: [Float], _ b: [Float]) -> (abs: Double, rel: Double) {
        var d = 0.0, m = 0.0
        for (x, y) in zip(a, b) { d = max(d, Double(abs(x - y))); m = max(m, Double(abs(y))) }
        return (d, m > 0 ? d / m : d)
    }

    static func argmaxRows(_ f: [Float], cols: Int) -> [Int32] {
        (0..<f.count / cols).map { r in
            var best = 0
            for c in 1..<cols where f[r * cols + c] > f[r * cols + best] { best = c }
            return Int32(best)
        }
    }
}
