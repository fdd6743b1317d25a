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
    func check(_ name: String, stateDict sd: StateDict, threads: Int = 1) throws -> [String: Checked] {
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
        let out = try model.forward(coords: coords, features: feats, threads: threads, workspace: Workspace())
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
            print("\(name) head \(head.name): max-abs \(e.abs), relative \(e.rel) (threads \(threads))")
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
