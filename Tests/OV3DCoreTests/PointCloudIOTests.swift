import Foundation
import Testing
@testable import OV3DCore

/// Bitwise float equality, all NaNs equal.
func sameFloats(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
}

/// A fresh temporary path per call: suites run in parallel in one process, so the name alone
/// (or the pid) would let two tests write, rename and unlink the same file.
func tempPath(_ name: String) -> String {
    NSTemporaryDirectory() + "ov3d-pc-\(getpid())-\(UUID().uuidString.prefix(8))-\(name)"
}

/// A cloud exercising every attribute and awkward values.
func awkwardCloud(_ n: Int = 97, seed: UInt64 = 1) -> PointCloud {
    var rng = SplitMix64(seed: seed)
    var c = PointCloud()
    for i in 0..<n {
        for _ in 0..<3 { c.positions.append(Float(bitPattern: 0x3F80_0000 ^ UInt32(truncatingIfNeeded: rng.next() & 0x7F_FFFF)) * (rng.next() % 2 == 0 ? -1 : 1) * Float(i % 7 + 1) * 3.7) }
        for _ in 0..<3 { c.colors.append(UInt8(truncatingIfNeeded: rng.next())) }
        for _ in 0..<3 { c.normals.append(Float(Int(rng.next() % 2001) - 1000) / 997) }
        c.intensity.append(Float(rng.next() % 100_000) / 7)
        c.labels.append(Int32(truncatingIfNeeded: Int64(rng.next() % 400) - 3))
        c.scores.append(Float(rng.next() % 1_000_000) / 999_983)
    }
    c.positions[0] = -0.0; c.positions[1] = 1e-38; c.positions[2] = 3.4e38
    c.positions[3] = .nan; c.positions[4] = .nan; c.positions[5] = .nan
    c.labels[0] = Int32.min; c.labels[1] = Int32.max; c.labels[2] = -1
    return c
}


/// PCL's own command-line tools (package pcl-tools), the reference for what PCL reads and writes.
/// libov3d.so does not link libpcl_io, so the cross-checks go through these programs; every test
/// that needs one skips with a message when it is not installed.
enum PCLTools {
    static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let p = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// The tool's path, or nil after printing a SKIP line.
    static func tool(_ name: String) -> String? {
        if let t = which(name) { return t }
        print("SKIP: \(name) not installed (apt-get install pcl-tools)")
        return nil
    }

    @discardableResult
    static func run(_ exe: String, _ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs a tool that must succeed.
    static func check(_ exe: String, _ args: [String]) throws {
        let (rc, out) = try run(exe, args)
        if rc != 0 { throw OV3DError.internal("\(exe) \(args.joined(separator: " ")) failed (\(rc)): \(out)") }
    }

    /// The file as PCL reads it: `pcl::PCDReader` (pcl_convert_pcd_ascii_binary) or
    /// `pcl::PLYReader` (pcl_ply2pcd) loads it and writes its in-memory cloud as a binary PCD,
    /// which is then read back. nil when the tools are not installed.
    static func readThroughPCL(_ path: String) throws -> LoadedCloud? {
        let out = tempPath("pclread-\(path.split(separator: "/").last ?? "x").pcd")
        defer { unlink(out) }
        if path.lowercased().hasSuffix(".ply") {
            guard let t = tool("pcl_ply2pcd") else { return nil }
            try check(t, ["-format", "1", path, out])
        } else {
            guard let t = tool("pcl_convert_pcd_ascii_binary") else { return nil }
            try check(t, [path, out, "1"])
        }
        return try CloudFile.read(out)
    }
}

@Suite struct PointCloudInteropTests {
    struct Expect: Sendable, CustomStringConvertible {
        var file: String, count: Int, colors = false, normals = false, intensity = false
        var faces = 0, width = 0, height = 0, format: CloudFormat
        var description: String { file }
    }

    static let files: [Expect] = [
        Expect(file: "pcl_testdata/bunny.pcd", count: 397, format: .pcdASCII),
        Expect(file: "pcl_testdata/bun0.pcd", count: 397, normals: true, format: .pcdASCII),
        Expect(file: "pcl_testdata/sac_plane_test.pcd", count: 3283, normals: true, format: .pcdASCII),
        Expect(file: "pcl_testdata/colored_cloud.pcd", count: 1000, colors: true, normals: true, width: 1, height: 1000, format: .pcdBinary),
        Expect(file: "pcl_testdata/curve_close.pcd", count: 110, format: .pcdBinary),
        Expect(file: "pcl_testdata/office1_keypoints.pcd", count: 1318, intensity: true, format: .pcdBinary),
        Expect(file: "pcl_testdata/milk_color.pcd", count: 13704, colors: true, format: .pcdBinaryCompressed),
        Expect(file: "pcl_testdata/car6.pcd", count: 10031, format: .pcdBinaryCompressed),
        Expect(file: "pcl_testdata/office1.pcd", count: 307_200, colors: true, width: 640, height: 480, format: .pcdBinaryCompressed),
        Expect(file: "pcl_testdata/table_scene_mug_stereo_textured.pcd", count: 307_200, colors: true, width: 640, height: 480, format: .pcdBinaryCompressed),
        Expect(file: "pcl_testdata/cube.ply", count: 24, faces: 12, format: .plyBinaryLE),
        Expect(file: "ply_interop/votenet_input_pc_scannet.ply", count: 40_000, format: .plyASCII),
        Expect(file: "ply_interop/open3d_color.ply", count: 3017, colors: true, normals: true, faces: 5537, format: .plyBinaryLE),
    ]

    @Test(arguments: files)
    func readsWithRightCountAndFields(_ e: Expect) throws {
        guard let path = TestPaths.shared(e.file) else { return }
        let l = try CloudFile.read(path)
        #expect(l.cloud.count == e.count)
        #expect(l.format == e.format)
        #expect(l.cloud.hasColors == e.colors)
        #expect(l.cloud.hasNormals == e.normals)
        #expect(!l.cloud.intensity.isEmpty == e.intensity)
        #expect(l.faces.count == 3 * e.faces)
        #expect(l.cloud.height == e.height && l.cloud.width == e.width)
        try l.cloud.validate()
        // Cross-check against PCL's own reader: same points and attributes, bit for bit.
        guard let p = try PCLTools.readThroughPCL(path) else { return }
        #expect(p.cloud.count == e.count)
        #expect(sameFloats(p.cloud.positions, l.cloud.positions))
        if e.colors { #expect(p.cloud.colors == l.cloud.colors) }
        if e.normals { #expect(sameFloats(p.cloud.normals, l.cloud.normals)) }
        if e.intensity { #expect(sameFloats(p.cloud.intensity, l.cloud.intensity)) }
    }

    @Test func organizedNaNDroppedWithIndexMap() throws {
        guard let path = TestPaths.shared("pcl_testdata/office1.pcd") else { return }
        let kept = try CloudFile.read(path)
        var o = CloudReadOptions()
        o.nanPolicy = .drop
        let dropped = try CloudFile.read(path, options: o)
        let finite = (0..<kept.cloud.count).filter { i in (0..<3).allSatisfy { kept.cloud.positions[3 * i + $0].isFinite } }
        #expect(dropped.cloud.count == finite.count)
        #expect(dropped.indexMap.map(Int.init) == finite)
        let frac = 1 - Double(finite.count) / Double(kept.cloud.count)
        #expect(abs(frac - 0.172) < 0.005) // README: 17.2 % NaN points
        #expect(dropped.cloud.width == 0 && dropped.cloud.height == 0)
        let i = finite[finite.count / 2]
        #expect(Array(dropped.cloud.positions[(3 * (finite.count / 2))..<(3 * (finite.count / 2) + 3)]) == Array(kept.cloud.positions[(3 * i)..<(3 * i + 3)]))
        #expect(Array(dropped.cloud.colors[(3 * (finite.count / 2))..<(3 * (finite.count / 2) + 3)]) == Array(kept.cloud.colors[(3 * i)..<(3 * i + 3)]))
    }

    @Test func lidarSweeps() throws {
        if let k = TestPaths.shared("semantickitti_seq00/velodyne/000000.bin") {
            let l = try CloudFile.read(k)
            #expect(l.cloud.count == 124_668)
            #expect(l.cloud.intensity.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
        if let n = TestPaths.shared("nuscenes/demo_sweep/n015-2018-07-24-11-22-45+0800__LIDAR_TOP__1532402927647951.pcd.bin") {
            let l = try CloudFile.read(n)
            #expect(l.cloud.count == 34_688)
            #expect(l.fields == ["x", "y", "z", "intensity", "ring"])
            #expect(l.cloud.intensity.allSatisfy { $0 >= 0 && $0 <= 255 })
        }
    }

    @Test func scannetNPY() throws {
        guard let p = TestPaths.shared("scannet_votenet50k/scene0000_00_vert.npy") else { return }
        let l = try CloudFile.read(p)
        #expect(l.cloud.count == 50_000)
        #expect(l.cloud.hasColors)
    }
}

@Suite struct PointCloudRoundTripTests {
    static let plyFormats: [CloudFormat] = [.plyASCII, .plyBinaryLE, .plyBinaryBE]
    static let pcdFormats: [CloudFormat] = [.pcdASCII, .pcdBinary, .pcdBinaryCompressed]

    @Test(arguments: plyFormats + pcdFormats)
    func exactRoundTrip(_ f: CloudFormat) throws {
        let c = awkwardCloud()
        let path = tempPath("rt.\(f.rawValue).\(f.rawValue.hasPrefix("ply") ? "ply" : "pcd")")
        defer { unlink(path) }
        try CloudFile.write(c, to: path, format: f)
        let back = try CloudFile.read(path)
        #expect(back.format == f)
        #expect(sameFloats(back.cloud.positions, c.positions))
        #expect(back.cloud.colors == c.colors)
        #expect(sameFloats(back.cloud.normals, c.normals))
        #expect(sameFloats(back.cloud.intensity, c.intensity))
        #expect(back.cloud.labels == c.labels)
        #expect(sameFloats(back.cloud.scores, c.scores))
        if f.rawValue.hasPrefix("pcd"), let p = try PCLTools.readThroughPCL(path) {
            // PCL's reader agrees with ours on what we wrote.
            #expect(sameFloats(p.cloud.positions, c.positions))
            #expect(p.cloud.colors == c.colors)
            #expect(p.cloud.labels == c.labels)
        }
    }

    @Test(arguments: plyFormats)
    func meshRoundTrip(_ f: CloudFormat) throws {
        var c = PointCloud()
        c.positions = [0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0.5]
        let faces: [Int32] = [0, 1, 2, 1, 3, 2]
        let path = tempPath("mesh.\(f.rawValue).ply")
        defer { unlink(path) }
        try CloudFile.write(c, faces: faces, to: path, format: f)
        let back = try CloudFile.read(path)
        #expect(back.faces == faces)
        #expect(back.cloud.positions == c.positions)
    }

    @Test func organizedPCDRoundTrip() throws {
        var c = awkwardCloud(24)
        c.width = 6; c.height = 4
        for f in Self.pcdFormats {
            let path = tempPath("org.\(f.rawValue).pcd")
            defer { unlink(path) }
            try CloudFile.write(c, to: path, format: f)
            let back = try CloudFile.read(path)
            #expect(back.cloud.width == 6 && back.cloud.height == 4)
            #expect(sameFloats(back.cloud.positions, c.positions))
        }
    }

    @Test func npyAndBinRoundTrip() throws {
        var c = awkwardCloud(50)
        c.normals = []; c.labels = []; c.scores = []
        let np = tempPath("rt.npy"), bin = tempPath("rt.bin")
        defer { unlink(np); unlink(bin) }
        try CloudFile.write(c, to: np, format: .npy)
        let a = try CloudFile.read(np)
        #expect(sameFloats(a.cloud.positions, c.positions) && a.cloud.colors == c.colors)
        try CloudFile.write(c, to: bin, format: .lidarBin)
        let b = try CloudFile.read(bin)
        #expect(sameFloats(b.cloud.positions, c.positions) && sameFloats(b.cloud.intensity, c.intensity))
    }

    @Test func segmentedCloudKeepsLabelColourScore() throws {
        var c = PointCloud()
        c.positions = (0..<30).map { Float($0) }
        let labels: [Int32] = [0, 1, 2, 1, 0, -1, 7, 7, 2, 3]
        let scores: [Float] = (0..<10).map { Float($0) / 10 }
        for f: CloudFormat in [.plyBinaryLE, .pcdBinaryCompressed, .plyASCII, .pcdASCII] {
            let path = tempPath("seg.\(f.rawValue).\(f.rawValue.hasPrefix("ply") ? "ply" : "pcd")")
            defer { unlink(path) }
            try CloudFile.writeSegmented(c, labels: labels, scores: scores, to: path, format: f)
            let back = try CloudFile.read(path)
            #expect(back.cloud.labels == labels)
            #expect(back.cloud.scores == scores)
            #expect(back.cloud.colors == LabelColors.colors(for: labels))
            #expect(back.cloud.colors[0..<3] == back.cloud.colors[12..<15]) // same label, same colour
            #expect(back.cloud.colors[0..<3] != back.cloud.colors[3..<6])
        }
    }
}

/// ov3d-written files open in PCL's command-line tools and in Python's plyfile.
@Suite struct PointCloudExternalToolTests {
    static func which(_ tool: String) -> String? { PCLTools.which(tool) }
    @discardableResult
    static func run(_ exe: String, _ args: [String]) throws -> (Int32, String) { try PCLTools.run(exe, args) }

    @Test func pclConvertReadsOurPCD() throws {
        guard let tool = Self.which("pcl_convert_pcd_ascii_binary") else {
            print("SKIP: pcl_convert_pcd_ascii_binary not installed (apt-get install pcl-tools)")
            return
        }
        let c = awkwardCloud(40)
        for f in PointCloudRoundTripTests.pcdFormats {
            let src = tempPath("ext.\(f.rawValue).pcd"), dst = tempPath("ext.\(f.rawValue).out.pcd")
            defer { unlink(src); unlink(dst) }
            try CloudFile.write(c, to: src, format: f)
            for mode in ["0", "1", "2"] { // ascii, binary, binary_compressed
                let (rc, out) = try Self.run(tool, [src, dst, mode])
                #expect(rc == 0, "\(out)")
                let back = try CloudFile.read(dst)
                if mode == "0" {
                    // The tool writes ascii with PCL's default 7-digit precision: close, not exact.
                    #expect(zip(back.cloud.positions, c.positions).allSatisfy { ($0.isNaN && $1.isNaN) || abs($0 - $1) <= 1e-6 * max(1, abs($1)) })
                } else {
                    #expect(sameFloats(back.cloud.positions, c.positions))
                }
                #expect(back.cloud.colors == c.colors)
                #expect(back.cloud.labels == c.labels)
            }
        }
    }

    /// The bytes PCL's tool wrote, checked against ours: equal, except that PCL's binary writers
    /// pad the file with zeros to a page (ours end with the data).
    static func samePrefixThenZeros(_ pcl: [UInt8], _ ours: [UInt8]) -> Bool {
        pcl.count >= ours.count && Array(pcl[0..<ours.count]) == ours && pcl[ours.count...].allSatisfy { $0 == 0 }
    }

    /// Our native PCD writer produces the bytes `pcl::PCDWriter` produces: PCL re-encoding each of
    /// our files as binary gives our binary file; re-encoding our binary file as ascii at the same
    /// precision gives our ascii file; as binary_compressed, the same header (the LZF stream is
    /// PCL's own compression, decoded and compared as values).
    @Test func pcdBytesMatchPCLWriter() throws {
        guard let tool = PCLTools.tool("pcl_convert_pcd_ascii_binary") else { return }
        var organized = awkwardCloud(24, seed: 5)
        organized.width = 6; organized.height = 4
        var plain = PointCloud()
        plain.positions = (0..<60).map { Float($0) * 0.37 - 5 }
        for c in [awkwardCloud(40), organized, plain] {
            let binary = try PCD.encode(c, format: .pcdBinary)
            let ascii = try PCD.encode(c, format: .pcdASCII)
            let compressed = try PCD.encode(c, format: .pcdBinaryCompressed)
            let src = tempPath("bytes.src.pcd"), dst = tempPath("bytes.dst.pcd")
            defer { unlink(src); unlink(dst) }
            for (mine, name) in [(binary, "binary"), (compressed, "binary_compressed")] {
                try FileIO.write(src, mine)
                try PCLTools.check(tool, [src, dst, "1"])
                #expect(Self.samePrefixThenZeros(try FileIO.read(dst), binary), "PCL's binary re-encoding of our \(name) file differs")
            }
            // From ascii PCL keeps rgb typed U (its ascii convention) and NaN payloads are not kept
            // by text, so the values are compared.
            try FileIO.write(src, ascii)
            try PCLTools.check(tool, [src, dst, "1"])
            let fromASCII = try CloudFile.read(dst).cloud
            #expect(sameFloats(fromASCII.positions, c.positions) && fromASCII.colors == c.colors && fromASCII.labels == c.labels)
            #expect(sameFloats(fromASCII.normals, c.normals) && sameFloats(fromASCII.scores, c.scores))
            try FileIO.write(src, binary)
            try PCLTools.check(tool, [src, dst, "0", String(PCD.asciiPrecision)])
            #expect(try FileIO.read(dst) == ascii, "PCL's ascii encoding differs from ours")
            try PCLTools.check(tool, [src, dst, "2"])
            let pclCompressed = try FileIO.read(dst)
            let marker = Array("DATA binary_compressed\n".utf8)
            let ourHeader = Array(compressed[0..<(Self.find(marker, in: compressed)! + marker.count)])
            #expect(pclCompressed.count > ourHeader.count && Array(pclCompressed[0..<ourHeader.count]) == ourHeader)
            let back = try CloudFile.read(dst)
            #expect(back.format == .pcdBinaryCompressed)
            #expect(try PCD.encode(back.cloud, format: .pcdBinary) == binary)
        }
    }

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return i }
        return nil
    }

    /// PCL's PCD → PLY converter reads our PCD files; PCL's PLY → PCD converter reads our PLY files.
    @Test func pclPLYConvertersReadOurFiles() throws {
        guard let pcd2ply = PCLTools.tool("pcl_pcd2ply"), let ply2pcd = PCLTools.tool("pcl_ply2pcd") else { return }
        var c = awkwardCloud(30, seed: 9)
        // PCL parses ascii PLY numbers with iostreams, which reject "nan": finite points only.
        c.positions[3] = 1; c.positions[4] = 2; c.positions[5] = 3
        // Not from ascii PCD: there rgb is typed U, and PCL's PLY writer then writes 4 colour bytes
        // under a 3-byte header (the same happens to PCL's own ascii files, which ours equal byte
        // for byte: pcdBytesMatchPCLWriter).
        for f: CloudFormat in [.pcdBinary, .pcdBinaryCompressed] {
            let src = tempPath("cv.\(f.rawValue).pcd"), dst = tempPath("cv.\(f.rawValue).ply")
            defer { unlink(src); unlink(dst) }
            try CloudFile.write(c, to: src, format: f)
            try PCLTools.check(pcd2ply, ["-format", "1", "-use_camera", "0", src, dst])
            let back = try CloudFile.read(dst)
            #expect(back.cloud.count == c.count)
            #expect(sameFloats(back.cloud.positions, c.positions))
            #expect(back.cloud.colors == c.colors)
            #expect(sameFloats(back.cloud.normals, c.normals))
        }
        for f in PointCloudRoundTripTests.plyFormats {
            let src = tempPath("cv.\(f.rawValue).ply"), dst = tempPath("cv.\(f.rawValue).pcd")
            defer { unlink(src); unlink(dst) }
            try CloudFile.write(c, to: src, format: f)
            try PCLTools.check(ply2pcd, ["-format", "1", src, dst])
            let back = try CloudFile.read(dst)
            #expect(back.cloud.count == c.count)
            #expect(sameFloats(back.cloud.positions, c.positions), "\(f)")
            #expect(back.cloud.colors == c.colors, "\(f)")
            #expect(sameFloats(back.cloud.normals, c.normals), "\(f)")
        }
    }

    /// LZF: our compressor's output decodes to the input (runs, repeats longer than a match,
    /// distances at the 8 KiB limit, incompressible bytes, tiny inputs) and stays within bounds.
    @Test func lzfRoundTrip() throws {
        var rng = SplitMix64(seed: 3)
        var inputs: [[UInt8]] = [[], [7], [1, 2], [1, 2, 3], [UInt8](repeating: 9, count: 1000)]
        inputs.append((0..<20_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        let block = (0..<8190).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        inputs.append(block + block + block)
        inputs.append((0..<30_000).map { UInt8(truncatingIfNeeded: ($0 / 7) % 5) })
        for x in inputs {
            let z = x.withUnsafeBytes { LZF.compress($0) }
            #expect(z.count <= x.count + x.count / 32 + 1)
            let back = try z.withUnsafeBytes { try LZF.decompress($0, outputSize: x.count) }
            #expect(back == x)
        }
        let rep = [UInt8](repeating: 9, count: 1000)
        #expect(rep.withUnsafeBytes { LZF.compress($0) }.count < 20)
    }

    @Test func plyfileReadsOurPLY() throws {
        let python = ProcessInfo.processInfo.environment["OV3D_TOOLS_PYTHON"] ?? Self.which("python3") ?? "/usr/bin/python3"
        guard (try? Self.run(python, ["-c", "import plyfile, numpy"]))?.0 == 0 else {
            print("SKIP: python with plyfile not found (set OV3D_TOOLS_PYTHON to a python with plyfile + numpy)")
            return
        }
        let c = awkwardCloud(40)
        let faces: [Int32] = [0, 1, 2, 2, 3, 4]
        for f in PointCloudRoundTripTests.plyFormats {
            let path = tempPath("plyfile.\(f.rawValue).ply")
            defer { unlink(path) }
            try CloudFile.write(c, faces: faces, to: path, format: f)
            let script = """
            import sys, numpy as np, plyfile
            d = plyfile.PlyData.read(sys.argv[1]); v = d['vertex']
            xyz = np.stack([v['x'], v['y'], v['z']], 1).astype('<f4')
            print(len(v.data), len(d['face'].data), ' '.join(v.data.dtype.names))
            print(xyz.tobytes().hex())
            print(np.asarray(v['label'], '<i4').tobytes().hex())
            print(np.stack([v['red'], v['green'], v['blue']], 1).astype('u1').tobytes().hex())
            print(np.concatenate(list(d['face']['vertex_indices'])).astype('<i4').tobytes().hex())
            """
            let (rc, out) = try Self.run(python, ["-c", script, path])
            #expect(rc == 0, "\(out)")
            let lines = out.split(separator: "\n").map(String.init)
            guard lines.count >= 5 else { Issue.record("plyfile output: \(out)"); continue }
            #expect(lines[0] == "40 2 x y z nx ny nz red green blue intensity label score")
            func hex<T>(_ a: [T]) -> String { a.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() } }
            // NaN payloads are preserved by both writers, so bytes compare exactly.
            #expect(lines[1] == hex(c.positions.map { $0.isNaN ? Float.nan : $0 }) || f == .plyASCII)
            #expect(lines[2] == hex(c.labels))
            #expect(lines[3] == hex(c.colors))
            #expect(lines[4] == hex(faces))
        }
    }
}
