import Foundation
import Testing
@testable import OV3DCore

/// MinkUNet against spconv 2.3 golden fixtures: voxeliser output, kernel-map pair counts and
/// FLOPs exactly, features within 1e-4 relative (max-abs over all rows and channels), argmax
/// labels exactly (rows marked -1 as near ties are skipped).
@Suite struct MinkUNetFixtureTests {
    struct Checked { var rel: Double; var abs: Double }

    /// Runs one case whose network weights are `sd`; returns per-head errors.
    @discardableResult
    func check(_ name: String, stateDict sd: StateDict, threads: Int = 1,
               kernels: ComputeKernels = .automatic) throws -> [String: Checked] {
        let dir = MinkFixture.dir(name)
        let meta = try MinkFixture.meta(name)
        let model = try MinkUNet(stateDict: sd)
        // Architecture read from the keys matches the fixture's.
        #expect(model.spec.layers == meta["layers"]!.arrayValue!.map { $0.intValue! })
        #expect(model.spec.planes == meta["planes"]!.arrayValue!.map { $0.intValue! })
        #expect(model.spec.heads.map(\.name) == meta["heads"]!.arrayValue!.map { $0.arrayValue![0].stringValue! })
        // Voxeliser.
        let pts = try MinkFixture.floats(dir + "/points.npy")
        let vox = try Voxelizer.voxelize(positions: pts.values, voxelSize: meta["voxel_size"]!.doubleValue!)
        let coords = try MinkFixture.ints(dir + "/coords.npy")
        #expect(vox.coords == coords)
        #expect(vox.representative == (try MinkFixture.ints(dir + "/inds.npy")))
        #expect(vox.inverse == (try MinkFixture.ints(dir + "/inverse.npy")))
        let n = coords.count / 3
        let feats = FileManager.default.fileExists(atPath: dir + "/input_features.npy")
            ? try MinkFixture.floats(dir + "/input_features.npy").values : [Float](repeating: 1, count: 3 * n)
        let ws = Workspace()
        ws.kernels = kernels
        let out = try model.forward(coords: coords, features: feats, threads: threads, workspace: ws)
        // Kernel maps and FLOPs.
        for (key, v) in meta["kernel_map_counts"]!.objectValue! {
            #expect(out.pairCounts[key] == v.arrayValue!.map { $0.intValue! }, "pair counts \(key)")
        }
        #expect(Set(out.pairCounts.keys) == Set(meta["kernel_map_counts"]!.objectValue!.map(\.0)))
        #expect(out.flops == meta["flops"]!.doubleValue!)
        var result = [String: Checked]()
        for (i, head) in model.spec.heads.enumerated() {
            let file = i == 0 ? "voxel_features.npy" : "voxel_features.\(head.name).npy"
            let ref = try MinkFixture.floats(dir + "/" + file)
            #expect(ref.shape == [n, head.dim])
            let e = MinkFixture.relMaxAbs(out.heads[i], ref.values)
            print("\(name) head \(head.name): max-abs \(e.abs), relative \(e.rel) (threads \(threads), \(kernels.activeName))")
            #expect(e.rel < 1e-4, "\(name) \(head.name) relative error \(e.rel)")
            result[head.name] = Checked(rel: e.rel, abs: e.abs)
        }
        let labels = try MinkFixture.ints(dir + "/voxel_labels.npy")
        let mine = MinkFixture.argmaxRows(out.heads[0], cols: model.spec.heads[0].dim)
        let mismatches = zip(labels, mine).filter { $0.0 >= 0 && $0.0 != $0.1 }.count
        #expect(mismatches == 0, "\(mismatches) argmax labels differ")
        #expect(labels.filter { $0 >= 0 }.count > n * 9 / 10)
        // Per-point labels through the inverse map.
        let pl = try MinkFixture.ints(dir + "/point_labels.npy")
        let pmis = zip(pl, vox.inverse).filter { $0.0 >= 0 && $0.0 != mine[Int($0.1)] }.count
        #expect(pmis == 0)
        return result
    }

    @Test func room18AWithThreeHeads() throws {
        guard MinkFixture.exists("room_18a_w8") else { return }
        let sd = try Safetensors.read(path: MinkFixture.dir("room_18a_w8") + "/weights.safetensors")
        try check("room_18a_w8", stateDict: sd, threads: 1)
        try check("room_18a_w8", stateDict: sd, threads: 2)
    }

    /// The OpenBLAS reference path (what CPUs without AVX-512 run) against the same fixture.
    @Test func room18AOnOpenBLAS() throws {
        guard MinkFixture.exists("room_18a_w8") else { return }
        let sd = try Safetensors.read(path: MinkFixture.dir("room_18a_w8") + "/weights.safetensors")
        try check("room_18a_w8", stateDict: sd, threads: 1, kernels: .blas)
        try check("room_18a_w8", stateDict: sd, threads: 2, kernels: .blas)
    }

    @Test func room34C() throws {
        guard MinkFixture.exists("room_34c_w16") else { return }
        let sd = try Safetensors.read(path: MinkFixture.dir("room_34c_w16") + "/weights.safetensors")
        try check("room_34c_w16", stateDict: sd)
    }

    @Test func seededGeneratorMatchesDigest() throws {
        guard MinkFixture.exists("synth_18a_full") else { return }
        let sd = try MinkFixture.seededStateDict(try MinkUNetSpec.named("18A"))
        let digest = try JSON.parse(String(contentsOfFile: MinkFixture.dir("synth_18a_full") + "/weights_digest.json", encoding: .utf8))
        var checked = 0
        for (key, d) in digest.objectValue! where d["dtype"]?.stringValue == "F32" {
            let t = try #require(sd[key], "seeded state dict lacks \(key)")
            #expect(t.shape == d["shape"]!.arrayValue!.map { $0.intValue! })
            let v = t.floats()
            let sum = v.reduce(0.0) { $0 + Double($1) }
            #expect(abs(sum - d["sum_f64"]!.doubleValue!) <= 1e-9 * max(1, abs(sum)), "\(key) sum")
            for (i, bits) in zip(d["spot_index"]!.arrayValue!, d["spot_bits"]!.arrayValue!) {
                #expect(v[i.intValue!].bitPattern == UInt32(bits.intValue!), "\(key)[\(i.intValue!)]")
            }
            checked += 1
        }
        #expect(checked == 241)
    }

    @Test func synthetic18AFullWidth() throws {
        guard MinkFixture.exists("synth_18a_full") else { return }
        let sd = try MinkFixture.seededStateDict(try MinkUNetSpec.named("18A"))
        try check("synth_18a_full", stateDict: sd)
        // Per-point features through the inverse map.
        let dir = MinkFixture.dir("synth_18a_full")
        let model = try MinkUNet(stateDict: sd)
        let coords = try MinkFixture.ints(dir + "/coords.npy")
        let out = try model.forward(coords: coords, features: [Float](repeating: 1, count: coords.count),
                                    threads: 2, workspace: Workspace())
        let inv = try MinkFixture.ints(dir + "/inverse.npy")
        let ref = try MinkFixture.floats(dir + "/point_features.npy")
        var perPoint = [Float]()
        for r in inv { perPoint += out.heads[0][Int(r) * 512..<Int(r) * 512 + 512] }
        #expect(MinkFixture.relMaxAbs(perPoint, ref.values).rel < 1e-4)
    }
}

/// The real ScanNet scene (../shared/data, not redistributable): voxeliser digests, kernel-map
/// pair counts, FLOPs, sampled features and all point labels against spconv.
@Suite struct MinkUNetSceneTests {
    static func fnv1a(_ v: [Int32]) -> String {
        var h: UInt64 = 14_695_981_039_346_656_037
        v.withUnsafeBytes { for b in $0 { h ^= UInt64(b); h = h &* 1_099_511_628_211 } }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    func check(_ name: String, stateDict sd: StateDict) throws {
        guard MinkFixture.exists(name),
              let path = TestPaths.shared("scannet_votenet50k/scene0000_00_vert.npy") else { return }
        let dir = MinkFixture.dir(name)
        let meta = try MinkFixture.meta(name)
        let t = try NPY.read(path: path)
        let all = t.floats()
        let cols = t.shape[1]
        var pts = [Float]()
        for i in 0..<t.shape[0] { pts += all[(i * cols)..<(i * cols + 3)] }
        let vox = try Voxelizer.voxelize(positions: pts, voxelSize: meta["voxel_size"]!.doubleValue!)
        let dg = meta["digests"]!
        #expect(Self.fnv1a(vox.coords) == dg["coords_int32"]!["fnv1a64"]!.stringValue!)
        #expect(Self.fnv1a(vox.inverse) == dg["inverse_int32"]!["fnv1a64"]!.stringValue!)
        #expect(Self.fnv1a(vox.representative) == dg["inds_int32"]!["fnv1a64"]!.stringValue!)
        let model = try MinkUNet(stateDict: sd)
        let r = try model.run(points: pts, voxelSize: meta["voxel_size"]!.doubleValue!, threads: 2, workspace: Workspace())
        for (key, v) in meta["kernel_map_counts"]!.objectValue! {
            #expect(r.output.pairCounts[key] == v.arrayValue!.map { $0.intValue! }, "pair counts \(key)")
        }
        #expect(r.output.flops == meta["flops"]!.doubleValue!)
        let d = model.spec.heads[0].dim
        let f = r.output.heads[0]
        let vrows = try NPY.read(path: dir + "/sample_voxel_rows.npy").int64s().map(Int.init)
        let vcoords = try MinkFixture.ints(dir + "/sample_voxel_coords.npy")
        let vref = try MinkFixture.floats(dir + "/sample_voxel_features.npy").values
        var mine = [Float](), mineCoords = [Int32]()
        for row in vrows { mine += f[(row * d)..<(row * d + d)]; mineCoords += vox.coords[(3 * row)..<(3 * row + 3)] }
        #expect(mineCoords == vcoords)
        let ev = MinkFixture.relMaxAbs(mine, vref)
        print("\(name) sampled voxel features: max-abs \(ev.abs), relative \(ev.rel)")
        #expect(ev.rel < 1e-4)
        let prows = try NPY.read(path: dir + "/sample_point_rows.npy").int64s().map(Int.init)
        let pref = try MinkFixture.floats(dir + "/sample_point_features.npy").values
        var pm = [Float]()
        for p in prows { let row = Int(vox.inverse[p]); pm += f[(row * d)..<(row * d + d)] }
        #expect(MinkFixture.relMaxAbs(pm, pref).rel < 1e-4)
        let labels = MinkFixture.argmaxRows(f, cols: d)
        let spl = try MinkFixture.ints(dir + "/sample_point_labels.npy")
        for (p, l) in zip(prows, spl) where l >= 0 { #expect(labels[Int(vox.inverse[p])] == l) }
        if FileManager.default.fileExists(atPath: dir + "/point_labels.npy") {
            let pl = try MinkFixture.ints(dir + "/point_labels.npy")
            let bad = zip(pl, vox.inverse).filter { $0.0 >= 0 && $0.0 != labels[Int($0.1)] }.count
            #expect(bad == 0, "\(bad) point labels differ")
        }
    }

    @Test func scene0000Narrow() throws {
        guard MinkFixture.exists("room_18a_w8") else { return }
        try check("scene0000_18a_w8", stateDict: try Safetensors.read(path: MinkFixture.dir("room_18a_w8") + "/weights.safetensors"))
    }

    @Test func scene0000Full18A() throws {
        try check("scene0000_18a_full", stateDict: try MinkFixture.seededStateDict(try MinkUNetSpec.named("18A")))
    }
}

@Suite struct MinkUNetInputTests {
    /// N×4 batch-first coordinates: each batch runs on its own (as in ME), rows come back in input order.
    @Test func batchColumnRunsBatchesSeparately() throws {
        guard MinkFixture.exists("room_34c_w16") else { return }
        let dir = MinkFixture.dir("room_34c_w16")
        let model = try MinkUNet(stateDict: try Safetensors.read(path: dir + "/weights.safetensors"))
        let coords = try MinkFixture.ints(dir + "/coords.npy")
        let n = coords.count / 3
        let half = n / 2
        let a = Array(coords[0..<(3 * half)]), b = Array(coords[(3 * half)...])
        let ws = Workspace()
        let ra = try model.run(voxelCoords: a, columns: 3, threads: 1, workspace: ws)
        let rb = try model.run(voxelCoords: b, columns: 3, threads: 1, workspace: ws)
        // Interleave the two batches (batch 1 reuses batch 0's coordinates: no interaction).
        var c4 = [Int32](), expected = [Float]()
        let d = model.spec.heads[0].dim
        for i in 0..<half {
            c4 += [0] + a[(3 * i)..<(3 * i + 3)]
            expected += ra.heads[0][(i * d)..<(i * d + d)]
            if i < n - half {
                c4 += [1] + b[(3 * i)..<(3 * i + 3)]
                expected += rb.heads[0][(i * d)..<(i * d + d)]
            }
        }
        let r4 = try model.run(voxelCoords: c4, columns: 4, threads: 2, workspace: ws)
        #expect(r4.rows == c4.count / 4)
        #expect(MinkFixture.relMaxAbs(r4.heads[0], expected).rel < 1e-5)
    }

    @Test func badVoxelInputs() throws {
        guard MinkFixture.exists("room_34c_w16") else { return }
        let model = try MinkUNet(stateDict: try Safetensors.read(path: MinkFixture.dir("room_34c_w16") + "/weights.safetensors"))
        let ws = Workspace()
        #expect(throws: OV3DError.self) { try model.run(voxelCoords: [], columns: 3, threads: 1, workspace: ws) }
        #expect(throws: OV3DError.self) { try model.run(voxelCoords: [0, 0, 0, 0, 0, 0], columns: 3, threads: 1, workspace: ws) }
        #expect(throws: OV3DError.self) { try model.run(voxelCoords: [0, 0, 0, Int32.max, 0, 0], columns: 3, threads: 1, workspace: ws) }
        #expect(throws: OV3DError.self) { try model.run(voxelCoords: [0, 0, 0], columns: 5, threads: 1, workspace: ws) }
        #expect(throws: OV3DError.self) { try model.run(voxelCoords: [0, 0, 0], columns: 3, features: [1], threads: 1, workspace: ws) }
        // one voxel and negative coordinates run fine
        let one = try model.run(voxelCoords: [-7, 3, -100], columns: 3, threads: 1, workspace: ws)
        #expect(one.rows == 1 && one.heads[0].allSatisfy { $0.isFinite })
    }
}
