import Foundation
import Testing
import CSupport
@testable import OV3DCAPI
@testable import OV3DCore

/// CUA-O3D linear-probe heads (`final_seg*`, minkunet.md §7.4) against the golden fixture of
/// tools/minkunet_probe_reference.py (spconv feature heads, PyTorch probes): logits within 1e-4
/// relative (max-abs over all rows and classes), argmax exactly, loaded from a torch checkpoint
/// with `module.net3d.` keys; every released key set; clear errors for bad probe shapes.
@Suite(.serialized) struct MinkUNetProbeHeadTests {
    static let name = "probe_14a_w16"
    static var dir: String { MinkFixture.dir(name) }
    static var checkpoint: String { dir + "/model.pth.tar" }
    static let featureHeads = [("final", 16), ("final_dinov2", 8), ("final_sd", 12)]
    static let probes = [("final_seg", ["final", "final_dinov2", "final_sd"], 5), ("final_seg_lseg", ["final"], 7),
                         ("final_seg_dinov2", ["final_dinov2"], 7), ("final_seg_stablediffusion", ["final_sd"], 7)]

    static func reference(_ head: String) throws -> (values: [Float], shape: [Int]) {
        if probes.contains(where: { $0.0 == head }) { return try MinkFixture.floats(dir + "/voxel_logits.\(head).npy") }
        return try MinkFixture.floats(dir + (head == "final" ? "/voxel_features.npy" : "/voxel_features.\(head).npy"))
    }

    /// Compares every computed head of `out` (voxel rows in fixture order) with the fixture;
    /// probes also by argmax. Returns the worst relative error of the probes.
    @discardableResult
    func compare(_ model: MinkUNet, _ out: MinkUNet.Output, _ tag: String) throws -> Double {
        var worst = 0.0
        for (i, h) in out.headIndices.enumerated() {
            let head = model.spec.heads[h]
            let ref = try Self.reference(head.name)
            #expect(ref.shape == [out.rows, head.dim], "\(tag) \(head.name) shape")
            let e = MinkFixture.relMaxAbs(out.heads[i], ref.values)
            print("\(tag) \(head.name): max-abs \(e.abs), relative \(e.rel)")
            #expect(e.rel < 1e-4, "\(tag) \(head.name) relative error \(e.rel)")
            guard head.isProbe else { continue }
            worst = max(worst, e.rel)
            let labels = try MinkFixture.ints(Self.dir + "/voxel_labels.\(head.name).npy")
            let mine = MinkFixture.argmaxRows(out.heads[i], cols: head.dim)
            #expect(zip(labels, mine).filter { $0.0 >= 0 && $0.0 != $0.1 }.count == 0, "\(tag) \(head.name) argmax")
            #expect(labels.filter { $0 >= 0 }.count > labels.count * 9 / 10)
        }
        return worst
    }

    func stateDict() throws -> StateDict { try MinkUNet.readStateDict(path: Self.checkpoint) }

    @Test func checkpointWithAllProbesMatchesPyTorch() throws {
        guard MinkFixture.exists(Self.name) else { return }
        let model = try MinkUNet.load(path: Self.checkpoint)
        #expect(model.spec.variantName == "MinkUNet(custom)")
        #expect(model.spec.layers == [1, 1, 1, 1, 1, 1, 1, 1] && model.spec.planes == [2, 4, 8, 16, 8, 8, 6, 6])
        #expect(model.spec.heads.map(\.name) == Self.featureHeads.map(\.0) + Self.probes.map(\.0))
        #expect(model.spec.heads.map(\.dim) == Self.featureHeads.map(\.1) + Self.probes.map(\.2))
        #expect(model.spec.heads.map(\.inputs) == [[], [], []] + Self.probes.map(\.1))
        // Points path (voxeliser, ones as input), 1 and 2 threads.
        let meta = try MinkFixture.meta(Self.name)
        let pts = try MinkFixture.floats(Self.dir + "/points.npy").values
        for threads in [1, 2] {
            let r = try model.run(points: pts, voxelSize: meta["voxel_size"]!.doubleValue!, threads: threads, workspace: Workspace())
            #expect(r.voxels.coords == (try MinkFixture.ints(Self.dir + "/coords.npy")))
            #expect(r.voxels.inverse == (try MinkFixture.ints(Self.dir + "/inverse.npy")))
            let worst = try compare(model, r.output, "points t\(threads)")
            print("probe logits worst relative error (threads \(threads)): \(worst)")
            // Per-point logits through the inverse map.
            let h = model.spec.heads.firstIndex { $0.name == "final_seg_lseg" }!
            let perPoint = try r.pointFeatures(head: h)
            let labels = try MinkFixture.ints(Self.dir + "/voxel_labels.final_seg_lseg.npy")
            let mine = MinkFixture.argmaxRows(perPoint, cols: 7)
            #expect(zip(r.voxels.inverse, mine).filter { labels[Int($0.0)] >= 0 && labels[Int($0.0)] != $0.1 }.isEmpty)
        }
    }

    @Test func oneProbeAloneMatches() throws {
        guard MinkFixture.exists(Self.name) else { return }
        let model = try MinkUNet.load(path: Self.checkpoint)
        let coords = try MinkFixture.ints(Self.dir + "/coords.npy")
        for name in ["final_seg", "final_seg_stablediffusion"] {
            let h = model.spec.heads.firstIndex { $0.name == name }!
            let out = try model.run(voxelCoords: coords, columns: 3, headSelection: [h], threads: 1, workspace: Workspace())
            #expect(out.headIndices == [h] && out.heads.count == 1)
            try compare(model, out, "only \(name)")
            // Cost of a probe = one trunk × classes GEMM per voxel (composed at load time).
            #expect(model.heads[h].cin == 6 && model.heads[h].cout == model.spec.heads[h].dim)
        }
    }

    /// The key sets of CUA-O3D's released probe model files (minkunet.md §7.4 table).
    @Test func releasedKeySets() throws {
        guard MinkFixture.exists(Self.name) else { return }
        let full = try stateDict()
        let coords = try MinkFixture.ints(Self.dir + "/coords.npy")
        let cases: [(String, [String])] = [
            ("CatProbSeg_All", ["final_seg"]),
            ("LsegProbSeg / DINOv22ProbSeg / SepProbSeg", ["final_seg_lseg", "final_seg_dinov2", "final_seg_stablediffusion"]),
            ("SDProbSeg", ["final_seg_stablediffusion"]),
            ("no probe", []),
        ]
        for (file, keep) in cases {
            var sd = full
            for (p, _, _) in Self.probes where !keep.contains(p) { sd.remove("module.net3d.\(p).kernel") }
            let model = try MinkUNet(stateDict: sd)
            #expect(model.spec.heads.map(\.name) == Self.featureHeads.map(\.0) + keep, "\(file)")
            let out = try model.run(voxelCoords: coords, columns: 3, threads: 1, workspace: Workspace())
            try compare(model, out, file)
        }
    }

    /// `ov3d convert` output (safetensors + metadata) loads to the same probe heads.
    @Test func convertedCheckpointKeepsProbes() throws {
        guard MinkFixture.exists(Self.name) else { return }
        let sd = try CheckpointConverter.prepare(input: Self.checkpoint)
        #expect(sd.metadata(ModelMetadata.headsKey) == "final=16,final_dinov2=8,final_sd=12,final_seg=5,final_seg_lseg=7,final_seg_dinov2=7,final_seg_stablediffusion=7")
        let model = try MinkUNet(stateDict: sd)
        let coords = try MinkFixture.ints(Self.dir + "/coords.npy")
        try compare(model, try model.run(voxelCoords: coords, columns: 3, threads: 1, workspace: Workspace()), "converted")
    }

    @Test func badProbeWeightsAreClearErrors() throws {
        guard MinkFixture.exists(Self.name) else { return }
        let full = try stateDict()
        func replaced(_ key: String, _ shape: [Int]) throws -> StateDict {
            var sd = full
            sd.set("module.net3d.\(key)", try Tensor([Float](repeating: 0.1, count: shape.reduce(1, *)), shape: shape))
            return sd
        }
        func failure(_ sd: StateDict) -> OV3DError? {
            do { _ = try MinkUNet(stateDict: sd); return nil } catch let e as OV3DError { return e } catch { return nil }
        }
        // Wrong input width of a single-input probe.
        let e1 = try #require(failure(try replaced("final_seg_lseg.kernel", [15, 7])))
        #expect(e1.status == .format)
        #expect(e1.message.contains("final_seg_lseg.kernel has shape [15, 7]") && e1.message.contains("'final' (16 channels)")
                && e1.message.contains("expected [16, classes]"), "\(e1.message)")
        // Wrong width of the concatenation probe: names the order and widths.
        let e2 = try #require(failure(try replaced("final_seg.kernel", [35, 5])))
        #expect(e2.message.contains("cat('final' 16, 'final_dinov2' 8, 'final_sd' 12) = 36 channels"), "\(e2.message)")
        // Not a matrix.
        let e3 = try #require(failure(try replaced("final_seg_dinov2.kernel", [56])))
        #expect(e3.message.contains("final_seg_dinov2.kernel has shape [56]"), "\(e3.message)")
        // ME 0.4's [1, in, out] form is accepted and gives the same logits.
        var sd4 = full
        let w = try full.tensor("module.net3d.final_seg_stablediffusion.kernel")
        sd4.set("module.net3d.final_seg_stablediffusion.kernel", try Tensor(w.floats(), shape: [1, 12, 7]))
        let m4 = try MinkUNet(stateDict: sd4)
        let coords = try MinkFixture.ints(Self.dir + "/coords.npy")
        let h4 = m4.spec.heads.firstIndex { $0.name == "final_seg_stablediffusion" }!
        try compare(m4, try m4.run(voxelCoords: coords, columns: 3, headSelection: [h4], threads: 1, workspace: Workspace()), "[1,in,out]")
        // A probe whose feature head is missing.
        var sd5 = full
        sd5.remove("module.net3d.final_dinov2.kernel")
        sd5.remove("module.net3d.final_seg.kernel")
        let e5 = try #require(failure(sd5))
        #expect(e5.message.contains("'final_seg_dinov2' reads the output of head 'final_dinov2'"), "\(e5.message)")
        // An unknown probe name.
        let e6 = try #require(failure(try replaced("final_seg_amradio.kernel", [16, 7])))
        #expect(e6.status == .unsupported && e6.message.contains("final_seg_amradio"), "\(e6.message)")
        // An explicit spec: a probe of the wrong class count is a listed shape mismatch.
        let spec = try MinkUNetSpec.infer(from: full)
        let e7 = try #require({ () -> OV3DError? in
            do { _ = try MinkUNet(stateDict: try replaced("final_seg_dinov2.kernel", [8, 6]), spec: spec); return nil }
            catch let e as OV3DError { return e } catch { return nil }
        }())
        #expect(e7.message.contains("final_seg_dinov2.kernel: [8, 6] (expected [8, 7])"), "\(e7.message)")
        // A spec whose probe reads a head it lacks.
        var bad = spec
        bad.heads.removeAll { $0.name == "final_sd" }
        #expect(throws: OV3DError.self) { try bad.validate(full) }
        // Inference keeps refusing garbage without trapping: NaN probe weights.
        var sd8 = full
        sd8.set("module.net3d.final_seg.kernel", try Tensor([Float](repeating: .infinity, count: 36 * 5), shape: [36, 5]))
        let e8 = try #require(failure(sd8))
        #expect(e8.message.contains("final_seg"), "\(e8.message)")
    }

    /// Probe heads through the C ABI: listed by name and class count, computed alone or with all.
    @Test func probesThroughTheABI() throws {
        guard MinkFixture.exists(Self.name) else { return }
        var model: OpaquePointer? = nil
        #expect(ov3d_model_load(Self.checkpoint, nil, &model) == 0, "\(String(cString: ov3d_last_error()))")
        defer { ov3d_model_free(model) }
        var count: Int32 = 0, dim: Int32 = 0
        #expect(ov3d_model_head_count(model, &count) == 0 && count == 7)
        var name: UnsafePointer<CChar>? = nil
        for (i, (n, _, c)) in Self.probes.enumerated() {
            #expect(ov3d_model_head_name(model, Int32(3 + i), &name) == 0 && String(cString: name!) == n)
            #expect(ov3d_model_head_dim(model, Int32(3 + i), &dim) == 0 && dim == Int32(c))
        }
        var session: OpaquePointer? = nil
        #expect(ov3d_session_create(model, nil, &session) == 0)
        defer { ov3d_session_free(session) }
        let coords = try MinkFixture.ints(Self.dir + "/coords.npy")
        let n = coords.count / 3
        var rp = OV3DCAPI.ov3d_run_default_params()
        rp.head = 3
        var result: OpaquePointer? = nil
        #expect(ov3d_session_run_voxels(session, coords, n, nil, 0, &rp, &result) == 0, "\(String(cString: ov3d_last_error()))")
        defer { ov3d_result_free(result) }
        #expect(ov3d_result_feature_dim(result, 3, &dim) == 0 && dim == 5)
        var f: UnsafePointer<Float>? = nil
        #expect(ov3d_result_voxel_features(result, 3, 0, &f) == 0)
        let mine = Array(UnsafeBufferPointer(start: f, count: n * 5))
        #expect(MinkFixture.relMaxAbs(mine, try Self.reference("final_seg").values).rel < 1e-4)
        #expect(ov3d_result_voxel_features(result, 0, 0, &f) != 0)   // not computed in this run
    }
}
