import Foundation
import Testing
@testable import OV3DCore

/// Hostile files: truncations, wrong counts, absurd header sizes and >= 10,000 random mutations of
/// valid files in every format must end in an OV3DError (or a valid cloud), never a crash.
@Suite struct PointCloudFuzzTests {
    /// Valid seed files (bytes + a name whose extension picks the reader).
    static func seeds() throws -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        let c = awkwardCloud(12, seed: 7)
        let faces: [Int32] = [0, 1, 2, 2, 3, 4, 5, 6, 7]
        for f in CloudFormat.allCases {
            let ext = f == .npy ? "npy" : (f == .lidarBin ? "bin" : (f.rawValue.hasPrefix("ply") ? "ply" : "pcd"))
            let path = tempPath("seed.\(f.rawValue).\(ext)")
            defer { unlink(path) }
            var cc = c
            if f == .npy || f == .lidarBin { cc.normals = []; cc.labels = []; cc.scores = [] }
            try CloudFile.write(cc, faces: ext == "ply" ? faces : [], to: path, format: f)
            out.append((path, try FileIO.read(path)))
        }
        if let cube = TestPaths.shared("pcl_testdata/cube.ply") { out.append((cube, try FileIO.read(cube))) }
        return out
    }

    static func attempt(_ bytes: [UInt8], _ name: String) -> Bool {
        do {
            let l = try bytes.withUnsafeBytes { try CloudFile.decode($0, name: name) }
            try l.cloud.validate()
            if !l.faces.isEmpty {
                _ = try MeshSegmentation.segment(positions: l.cloud.positions, faces: l.faces, params: .init(kThresh: 0.01, segMinVerts: 2))
            }
            return true
        } catch is OV3DError {
            return false
        } catch {
            Issue.record("non-OV3DError thrown: \(error)")
            return false
        }
    }

    @Test func truncationsAtEveryLength() throws {
        for (name, b) in try Self.seeds() {
            var ok = [Bool](repeating: false, count: b.count)
            for n in 0..<b.count { ok[n] = Self.attempt(Array(b[0..<n]), name) }
            // Binary encodings: cuts into the data must fail. PCL pads binary PCDs to whole pages,
            // so cuts inside that padding still hold every point: acceptance must be exactly
            // "length >= end of data" (a suffix of lengths), never an earlier cut.
            if !name.contains("ascii") && !name.hasSuffix(".bin") {
                let first = ok.firstIndex(of: true) ?? b.count
                #expect(ok[first...].allSatisfy { $0 }, "\(name): acceptance is not monotone in the length")
                #expect(b.count - first < 4096 + 8, "\(name): a cut \(b.count - first) bytes before the end was accepted")
            }
        }
    }

    @Test func absurdHeaders() {
        let cases: [(String, String)] = [
            ("a.ply", "ply\nformat binary_little_endian 1.0\nelement vertex 2147483647\nproperty float x\nproperty float y\nproperty float z\nend_header\n"),
            ("a.ply", "ply\nformat ascii 1.0\nelement vertex 4000000000\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n"),
            ("a.ply", "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n3 0 0 7\n"),
            ("a.ply", "ply\nformat binary_big_endian 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nelement junk 2000000000\nproperty uchar v\nend_header\n000000000000"),
            ("a.ply", "ply\nformat ascii 1.0\nelement vertex 1\nproperty list uint float x\nproperty float y\nproperty float z\nend_header\n4000000000 1 2\n"),
            ("a.ply", "ply\nformat ascii 2.0\nend_header\n"),
            ("a.pcd", "VERSION .7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 2000000000\nHEIGHT 2000000000\nPOINTS 1\nDATA binary\n"),
            ("a.pcd", "VERSION .7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 100000000\nHEIGHT 1\nDATA binary_compressed\n\u{10}\0\0\0\u{ff}\u{ff}\u{ff}\u{7f}0123456789abcdef"),
            ("a.pcd", "VERSION .7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 99999999\nWIDTH 1\nHEIGHT 1\nDATA ascii\n1 2 3\n"),
            ("a.pcd", "VERSION .7\nFIELDS x y z\nSIZE 4 4 3\nTYPE F F F\nWIDTH 1\nHEIGHT 1\nDATA ascii\n1 2 3\n"),
            ("a.pcd", "FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH 1\nDATA ascii\n1 2\n"),
            ("a.pcd", "FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH -5\nDATA ascii\n"),
            ("a.bin", "12345"),
        ]
        for (name, text) in cases {
            let bytes = Array(text.utf8)
            #expect(!Self.attempt(bytes, name), "accepted: \(text.prefix(80))")
        }
    }

    @Test func tenThousandMutations() throws {
        let seeds = try Self.seeds()
        var rng = SplitMix64(seed: 42)
        let bigNumbers = ["4294967295", "2147483648", "99999999999999999999", "-1", "0", "65536", "1e9", "nan"]
        var accepted = 0, total = 0
        let perSeed = 10_000 / seeds.count + 1
        for (name, b) in seeds {
            // Header length (to aim some mutations at it).
            let head = b.count > 0 ? min(b.count, (b.firstRange(of: Array("end_header\n".utf8)) ?? b.firstRange(of: Array("DATA".utf8)) ?? 0..<min(64, b.count)).upperBound + 16) : 0
            for _ in 0..<perSeed {
                var m = b
                switch rng.next() % 5 {
                case 0: // flip bytes anywhere
                    for _ in 0...(rng.next() % 8) where !m.isEmpty { m[Int(rng.next() % UInt64(m.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
                case 1: // flip bytes in the header
                    for _ in 0...(rng.next() % 3) where head > 0 { m[Int(rng.next() % UInt64(head))] = UInt8(truncatingIfNeeded: rng.next()) }
                case 2: // replace a number in the header with an absurd one
                    let digits = (0..<min(head, m.count)).filter { m[$0] >= 0x30 && m[$0] <= 0x39 }
                    if let d = digits.isEmpty ? nil : digits[Int(rng.next() % UInt64(digits.count))] {
                        var e = d
                        while e < m.count && m[e] >= 0x30 && m[e] <= 0x39 { e += 1 }
                        m.replaceSubrange(d..<e, with: Array(bigNumbers[Int(rng.next() % UInt64(bigNumbers.count))].utf8))
                    }
                case 3: // truncate or extend
                    if rng.next() % 2 == 0 { m = Array(m.prefix(Int(rng.next() % UInt64(m.count + 1)))) } else { m += (0..<(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
                default: // insert or delete a chunk
                    let at = Int(rng.next() % UInt64(m.count + 1))
                    if rng.next() % 2 == 0 { m.insert(contentsOf: (0..<(1 + rng.next() % 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at) }
                    else { m.removeSubrange(at..<min(m.count, at + Int(1 + rng.next() % 16))) }
                }
                if Self.attempt(m, name) { accepted += 1 }
                total += 1
            }
        }
        print("fuzz: \(total) mutations, \(accepted) still parsed as valid clouds, \(total - accepted) rejected with errors")
        #expect(total >= 10_000)
    }
}
