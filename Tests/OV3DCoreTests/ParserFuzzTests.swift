import Foundation
import Testing
@testable import OV3DCore

/// Mutation fuzzing of every parser of untrusted bytes (`ParserTarget`: npy, point clouds,
/// checkpoints, BPE vocabulary, PNG depth, JSON, manifests / train configs) from the committed
/// seed corpora (Tests/Fixtures/hostile/seeds, tools/hostile_files.py --seeds), and the replay
/// of the committed regression inputs (Tests/Fixtures/hostile/regressions/<target>/: files that
/// crashed or hung a parser once; each must now be refused with an OV3DError). Issue 17.
///
/// Default: a fixed number of mutations per target (seconds in all). `OV3D_FUZZ_SECONDS=N`
/// (`make fuzz-mutate SECONDS=N`) runs each target for N seconds instead; the input being run is
/// kept in `$OV3D_FUZZ_LAST/<target>` first, so one that kills the process can be replayed.
@Suite struct ParserFuzzTests {
    static let seedRoot = TestPaths.fixture("hostile/seeds")
    static let regressionRoot = TestPaths.fixture("hostile/regressions")

    static func files(_ dir: String) -> [(String, [UInt8])] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        return names.sorted().compactMap { n in (try? FileIO.read(dir + "/" + n)).map { (dir + "/" + n, $0) } }
    }

    static func seeds(_ t: ParserTarget) -> [(String, [UInt8])] {
        t.seedDirectories.flatMap { files(seedRoot + "/" + $0) }.map { (name, b) in
            // Point clouds: the first byte picks the reader's file name (see ParserTarget.run).
            t == .pointCloud ? (name, [UInt8(name.hasSuffix(".ply") ? 0 : name.hasSuffix(".pcd") ? 1 : 2)] + b) : (name, b)
        }
    }

    /// Runs one input; true when it parsed, false when refused with an OV3DError.
    static func attempt(_ t: ParserTarget, _ b: [UInt8]) -> Bool {
        do {
            try b.withUnsafeBytes { try t.run($0) }
            return true
        } catch is OV3DError {
            return false
        } catch {
            Issue.record("\(t.rawValue): non-OV3DError thrown: \(error)")
            return false
        }
    }

    static let interesting: [[UInt8]] = [
        [0xFF, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0x7F], [0, 0, 0, 0x80], [0, 0, 0, 0],
        [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], [0, 0, 0, 0, 0, 0, 0, 0x40], [0x01, 0, 0, 0, 1, 0, 0, 0],
    ]
    static let numbers = ["4294967295", "2147483648", "99999999999999999999", "-1", "0", "65536", "1e9", "nan", "1e999", "-0"]

    static func mutate(_ b: [UInt8], _ rng: inout SplitMix64, splice: [UInt8]) -> [UInt8] {
        var m = b
        for _ in 0...(rng.next() % 3) {
            switch rng.next() % 8 {
            case 0 where !m.isEmpty:
                m[Int(rng.next() % UInt64(m.count))] ^= UInt8(1 << (rng.next() % 8))
            case 1 where !m.isEmpty:
                m[Int(rng.next() % UInt64(m.count))] = UInt8(truncatingIfNeeded: rng.next())
            case 2: // an interesting little-endian value at a random offset
                let v = interesting[Int(rng.next() % UInt64(interesting.count))]
                if m.count >= v.count {
                    let at = Int(rng.next() % UInt64(m.count - v.count + 1))
                    m.replaceSubrange(at..<(at + v.count), with: rng.next() % 2 == 0 ? v : v.reversed())
                }
            case 3: // replace an ASCII number by an absurd one
                let digits = m.indices.filter { m[$0] >= 0x30 && m[$0] <= 0x39 }
                if let d = digits.isEmpty ? nil : digits[Int(rng.next() % UInt64(digits.count))] {
                    var s = d, e = d
                    while s > 0 && m[s - 1] >= 0x30 && m[s - 1] <= 0x39 { s -= 1 }
                    while e < m.count && m[e] >= 0x30 && m[e] <= 0x39 { e += 1 }
                    m.replaceSubrange(s..<e, with: Array(numbers[Int(rng.next() % UInt64(numbers.count))].utf8))
                }
            case 4:
                m = Array(m.prefix(Int(rng.next() % UInt64(m.count + 1))))
            case 5:
                let at = Int(rng.next() % UInt64(m.count + 1))
                m.insert(contentsOf: (0..<(1 + rng.next() % 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
            case 6 where !m.isEmpty:
                let at = Int(rng.next() % UInt64(m.count))
                m.removeSubrange(at..<min(m.count, at + Int(1 + rng.next() % 32)))
            default: // duplicate a chunk (repeated structures: nesting, entries) or splice another seed
                if !splice.isEmpty && rng.next() % 2 == 0 {
                    let at = Int(rng.next() % UInt64(splice.count))
                    m = Array(m.prefix(Int(rng.next() % UInt64(m.count + 1)))) + splice[at...]
                } else if !m.isEmpty {
                    let at = Int(rng.next() % UInt64(m.count))
                    let chunk = m[at..<min(m.count, at + Int(1 + rng.next() % 64))]
                    m.insert(contentsOf: chunk, at: at)
                }
            }
        }
        return m
    }

    static var budgetSeconds: Double? {
        ProcessInfo.processInfo.environment["OV3D_FUZZ_SECONDS"].flatMap(Double.init)
    }

    @Test(arguments: ParserTarget.allCases)
    func mutations(_ t: ParserTarget) throws {
        let seeds = Self.seeds(t)
        #expect(!seeds.isEmpty, "no seeds for \(t.rawValue) in \(Self.seedRoot)")
        // Every seed is valid for its parser (else mutations start from nowhere).
        for (name, b) in seeds where t != .manifest || name.hasSuffix("manifest.json") {
            #expect(throws: Never.self, "seed \(name) is refused by \(t.rawValue)") { try b.withUnsafeBytes { try t.run($0) } }
        }
        var rng = SplitMix64(seed: 0x5EED ^ UInt64(t.rawValue.utf8.count))
        let last = ProcessInfo.processInfo.environment["OV3D_FUZZ_LAST"].map { $0 + "/" + t.rawValue }
        let deadline = Self.budgetSeconds.map { Date().addingTimeInterval($0) }
        let count = t == .checkpoint || t == .vocabulary ? 600 : 1500
        var total = 0, accepted = 0
        while deadline.map({ Date() < $0 }) ?? (total < count) {
            let (_, seed) = seeds[Int(rng.next() % UInt64(seeds.count))]
            let other = seeds[Int(rng.next() % UInt64(seeds.count))].1
            let m = Self.mutate(seed, &rng, splice: other)
            if let last { try? FileIO.write(last, m) }
            if Self.attempt(t, m) { accepted += 1 }
            total += 1
        }
        print("fuzz \(t.rawValue): \(total) mutations, \(accepted) parsed, \(total - accepted) refused")
        #expect(total - accepted > 0, "\(t.rawValue): no mutation was ever refused")
    }

    /// Inputs that once crashed or hung a parser (found by tools/hostile_files.py and fuzzing):
    /// each must be refused with an OV3DError.
    @Test(arguments: ParserTarget.allCases)
    func regressions(_ t: ParserTarget) throws {
        for (name, b) in Self.files(Self.regressionRoot + "/" + t.rawValue) {
            let input = t == .pointCloud ? [UInt8(name.hasSuffix(".ply") ? 0 : name.hasSuffix(".pcd") ? 1 : 2)] + b : b
            let start = Date()
            #expect(!Self.attempt(t, input), "regression input \(name) was accepted")
            #expect(Date().timeIntervalSince(start) < 10, "\(name) took \(Date().timeIntervalSince(start)) s")
        }
    }

    /// A PNG chunk may not declare more bytes than the file holds: libpng allocates (and clears)
    /// a chunk's buffer from its declared length before reading it (found by fuzz/png-fuzzer:
    /// 41 bytes made it allocate 788 MB). Refused before libpng runs, with the chunk named.
    @Test func pngChunkLengthsAreBoundedByTheFile() throws {
        let b = try FileIO.read(Self.regressionRoot + "/png/ztxt_declares_788MB.png")
        #expect(b.count == 41)
        do {
            _ = try DepthImage.decodePNG(b, name: "z.png")
            Issue.record("accepted")
        } catch let e as OV3DError {
            #expect(e.message.contains("chunk 'zTXt' at byte 33 declares 788529525 bytes"), "\(e.message)")
        }
        // The same header with the chunk's bytes present is not refused by the scan (libpng then
        // reads and rejects the chunk's content on its own terms).
        var ok = Array(b.prefix(33)) + [0, 0, 0, 4] + Array("zTXt".utf8) + [0x6B, 0, 0, 0x78] + [0, 0, 0, 0]
        ok += [0, 0, 0, 0] + Array("IEND".utf8) + [0xAE, 0x42, 0x60, 0x82]
        do { _ = try DepthImage.decodePNG(ok, name: "z.png") } catch let e as OV3DError {
            #expect(!e.message.contains("declares"), "\(e.message)")
        }
    }
}

@Suite struct CheckedSizeTests {
    @Test func productsSumsAndConversions() throws {
        #expect(try CheckedSize.product([3, 4, 5], "s") == 60)
        #expect(try CheckedSize.product([], "s") == 1)
        #expect(try CheckedSize.product([0, 1_000_000_000], "s") == 0)
        // A zero factor does not hide an overflow of the others.
        #expect(throws: OV3DError.self) { try CheckedSize.product([0, 1 << 32, 1 << 32], "s") }
        #expect(throws: OV3DError.self) { try CheckedSize.product([1 << 21, 1 << 20], "s") }  // > 2^40
        #expect(throws: OV3DError.self) { try CheckedSize.product([-1, 3], "s") }
        #expect(throws: OV3DError.self) { try CheckedSize.product(Int.max, 2, "s") }
        #expect(try CheckedSize.product(1 << 20, 1 << 20, "s") == 1 << 40)
        #expect(throws: OV3DError.self) { try CheckedSize.sum(Int.max, 1, cap: Int.max, "s") }
        #expect(throws: OV3DError.self) { try CheckedSize.sum(-1, 1, "s") }
        #expect(try CheckedSize.int(UInt64(1 << 40), "s") == 1 << 40)
        #expect(throws: OV3DError.self) { try CheckedSize.int(UInt64.max, "s") }
        #expect(throws: OV3DError.self) { try CheckedSize.int(Int64(-5), "s") }
        #expect(throws: OV3DError.self) { try CheckedSize.int(1e300, "s") }
        #expect(throws: OV3DError.self) { try CheckedSize.int(Double.nan, "s") }
        #expect(throws: OV3DError.self) { try CheckedSize.int(2.5, "s") }
        #expect(throws: OV3DError.self) { try CheckedSize.range(offset: Int.max, length: 2, within: 10, "s") }
        #expect(throws: Never.self) { try CheckedSize.range(offset: 2, length: 8, within: 10, "s") }
        do { _ = try CheckedSize.product([1 << 30, 1 << 30], "pcd: WIDTH × HEIGHT"); Issue.record("accepted") } catch let e as OV3DError {
            #expect(e.status == .format && e.message.hasPrefix("pcd: WIDTH × HEIGHT"), "\(e.message)")
        }
    }
}

/// Every writer goes through FileIO.write / FileIO.replace (temporary file + rename): a failed
/// write leaves the target as it was and no temporary behind; `staged` writes all or nothing.
@Suite struct AtomicWriteTests {
    static func leftovers(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.contains(".tmp-ov3d-") }
    }

    static func makeDir() -> String {
        let d = tempPath("atomic")
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @Test func failedWriteLeavesTargetUntouched() throws {
        let d = Self.makeDir()
        let target = d + "/out.npy"
        try FileIO.write(target, text: "old")
        #expect(throws: OV3DError.self) {
            try FileIO.replace(target) { tmp in
                try FileIO.write(tmp, text: "half a fi")  // (nested writes are atomic too)
                throw OV3DError.io("disk full")
            }
        }
        #expect(String(decoding: try FileIO.read(target), as: UTF8.self) == "old")
        #expect(Self.leftovers(d).isEmpty, "\(Self.leftovers(d))")
        // A failing encoder (NPY of an unsupported dtype) and a failing PNG (libpng refuses) leave nothing.
        #expect(throws: OV3DError.self) { try PNGFile.write([UInt8](repeating: 0, count: 12), width: 2, height: 2, channels: 3, to: d + "/nodir/x.png") }
        #expect(!FileIO.exists(d + "/nodir/x.png"))
        try PNGFile.write([UInt8](repeating: 7, count: 12), width: 2, height: 2, channels: 3, to: d + "/ok.png")
        #expect(try FileIO.read(d + "/ok.png").prefix(4) == [0x89, 0x50, 0x4E, 0x47])
        #expect(Self.leftovers(d).isEmpty)
    }

    @Test func stagedWritesAllOrNothing() throws {
        let d = Self.makeDir()
        // The second output cannot be written: the first must not appear either.
        #expect(throws: OV3DError.self) {
            try FileIO.staged {
                try NPY.write([1, 2, 3], shape: [3], path: d + "/ids.npy")
                try CloudFile.write(awkwardCloud(5), to: d + "/missing/sp.ply", format: .plyBinaryLE)
            }
        }
        #expect(!FileIO.exists(d + "/ids.npy"))
        #expect(Self.leftovers(d).isEmpty, "\(Self.leftovers(d))")
        // An error after both writes: neither appears, an existing target keeps its contents.
        try FileIO.write(d + "/a.npy", text: "old")
        #expect(throws: OV3DError.self) {
            try FileIO.staged {
                try NPY.write([1, 2, 3], shape: [3], path: d + "/a.npy")
                try NPY.write([4], shape: [1], path: d + "/b.npy")
                throw OV3DError.io("stop")
            }
        }
        #expect(String(decoding: try FileIO.read(d + "/a.npy"), as: UTF8.self) == "old")
        #expect(!FileIO.exists(d + "/b.npy"))
        // Success: both renamed, the same path written twice ends with the last contents.
        try FileIO.staged {
            try NPY.write([1, 2, 3], shape: [3], path: d + "/a.npy")
            try NPY.write([4], shape: [1], path: d + "/b.npy")
            try NPY.write([5, 6], shape: [2], path: d + "/b.npy")
        }
        #expect(try NPY.read(path: d + "/a.npy").floats() == [1, 2, 3])
        #expect(try NPY.read(path: d + "/b.npy").floats() == [5, 6])
        #expect(Self.leftovers(d).isEmpty)
    }
}
