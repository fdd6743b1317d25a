import ArgumentParser
import Foundation
import OV3DCore

/// `ov3d probe --checkpoint M --scene S ... --out OUT.safetensors`: CUA-O3D's linear probing
/// (a `final_seg*` head on the frozen model's head outputs, cross-entropy with ignore 255). The
/// training is `ProbeTraining` in the library; the output is the input state dict plus the probe
/// kernel, which `MinkUNet.load` (and so `ov3d segment --head final_seg_lseg`) reads.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Train a CUA-O3D linear probe (final_seg*) on a frozen MinkUNet and score it on held-out scenes.",
        discussion: """
        A scene is POINTS.npy,LABELS.npy (P×3 float metres, P integer labels, 255 = ignore) or a folder \
        holding points.npy and labels.npy (as `ov3d synth` writes). Defaults are the released recipe \
        (Adam lr 1e-4, weight decay 1e-4, poly 0.9, 20 epochs, batch 4, loop 5, seed 1463). The backbone \
        and the feature heads are frozen in evaluation mode (docs/recipes.md says why). --json prints \
        one object per epoch and a summary with the probe mIoU on the --eval-scene scenes.
        """)

    @Option(help: "The frozen model (.safetensors / .pth).") var checkpoint: String
    @Option(name: .customLong("scene"), help: "A training scene (repeatable).") var scenes: [String] = []
    @Option(name: .customLong("eval-scene"), help: "A held-out scene to score the probe on (repeatable).") var evalScenes: [String] = []
    @Option(help: "The probe: final_seg_lseg (on final), final_seg (on the concatenated heads), final_seg_dinov2, final_seg_stablediffusion.")
    var probe = "final_seg_lseg"
    @Option(help: "Classes.") var classes = 20
    @Option(name: .customLong("voxel-size"), help: "Voxel size (m); default: the checkpoint's, else 0.02.") var voxelSize: Double?
    @Option(help: "Epochs.") var epochs = 20
    @Option(name: .customLong("batch-size"), help: "Scenes per step.") var batchSize = 4
    @Option(help: "Each scene seen this many times per epoch (OpenScene's loop).") var loop = 5
    @Option(help: "Learning rate.") var lr = 1e-4
    @Option(name: .customLong("weight-decay"), help: "Adam weight decay (L2).") var weightDecay = 1e-4
    @Option(help: "Seed.") var seed: UInt64 = 1463
    @Option(help: "Threads (0 = all cores).") var threads = 1
    @Option(help: "Output state dict (.safetensors).") var out: String?
    @Flag(help: "Print JSON objects on stdout.") var json = false
    @OptionGroup var memory: MemoryOption

    func validate() throws {
        guard !scenes.isEmpty else { throw ValidationError("give at least one --scene") }
        guard (2...65536).contains(classes) else { throw ValidationError("--classes must be 2...65536") }
        guard (1...100_000).contains(epochs), (1...4096).contains(batchSize), (1...10_000).contains(loop) else {
            throw ValidationError("--epochs, --batch-size and --loop must be positive (≤ 100000, 4096, 10000)")
        }
        guard lr.isFinite, lr > 0, weightDecay.isFinite, weightDecay >= 0 else { throw ValidationError("--lr must be > 0 and --weight-decay ≥ 0") }
        if let v = voxelSize, !(v.isFinite && v > 0) { throw ValidationError("--voxel-size must be a positive length") }
        guard (0...256).contains(threads) else { throw ValidationError("--threads must be 0...256") }
    }

    static func scene(_ spec: String) throws -> ProbeTraining.Scene {
        var pts = spec, lab = ""
        if let comma = spec.firstIndex(of: ",") {
            pts = String(spec[..<comma]); lab = String(spec[spec.index(after: comma)...])
        } else {
            pts = FileIO.join(spec, "points.npy"); lab = FileIO.join(spec, "labels.npy")
        }
        let p = try NPY.read(path: pts)
        try require(p.dtype.isFloatingPoint && p.rank == 2 && p.shape[1] == 3 && p.shape[0] > 0, "\(pts): expected P×3 floats")
        let l = try NPY.read(path: lab)
        try require(!l.dtype.isFloatingPoint && l.count == p.shape[0], "\(lab): expected \(p.shape[0]) integer labels")
        let labels = try l.int64s().map { v -> Int32 in
            guard let x = Int32(exactly: v) else { throw OV3DError.invalidArgument("\(lab): label \(v) out of range") }
            return x
        }
        return ProbeTraining.Scene(name: spec, points: p.floats(), labels: labels)
    }

    func run() throws {
        do { try execute() } catch let e as OV3DError {
            FileHandle.standardError.write(Data("ov3d probe: \(e.message)\n".utf8))
            throw ExitCode(Int32(-e.status.rawValue))
        }
    }

    func execute() throws {
        let t0 = Date()
        let sd = try MinkUNet.readStateDict(path: checkpoint)
        let model: MinkUNet
        do { model = try MinkUNet(stateDict: sd) } catch let e as OV3DError { throw e.context(checkpoint) }
        let vs = try voxelSize ?? ModelMetadata(stateDict: sd).voxelSize ?? 0.02
        var c = ProbeTraining.Config()
        c.probe = probe; c.classes = classes; c.voxelSize = vs; c.epochs = epochs; c.batchSize = batchSize
        c.loop = loop; c.lr = lr; c.weightDecay = weightDecay; c.seed = seed; c.threads = Threads.resolve(threads)
        c.memoryLimit = memory.limit
        Threads.setBLASThreads(c.threads)
        let train = try scenes.map(Self.scene)
        let held = try evalScenes.map(Self.scene)
        let r = try ProbeTraining.train(model: model, stateDict: sd, scenes: train, config: c)
        for (e, l) in r.epochLosses.enumerated() {
            if json { print(JSON.object([("epoch", .number(Double(e + 1))), ("loss", .number(l))]).description) }
        }
        if let out { try Safetensors.write(r.stateDict, path: out) }
        var summary: [(String, JSON)] = [("done", .bool(true)), ("probe", .string(probe)), ("steps", .number(Double(r.steps))),
                                         ("final_loss", .number(r.epochLosses.last ?? 0))]
        var line = "ov3d probe: \(probe) \(r.steps) steps, loss \(String(format: "%.4f", r.epochLosses.first ?? 0)) → \(String(format: "%.4f", r.epochLosses.last ?? 0))"
        if !held.isEmpty {
            // Scored through the loader: the written state dict, read back as a MinkUNet.
            let probed = try MinkUNet(stateDict: r.stateDict)
            let m = try ProbeTraining.evaluate(model: probed, probe: probe, scenes: held, voxelSize: vs, threads: c.threads,
                                               memoryLimit: memory.limit)
            summary += [("miou", .number(m.meanIoU)), ("macc", .number(m.meanAccuracy))]
            line += String(format: "; held-out mIoU %.1f%%, mAcc %.1f%%", 100 * m.meanIoU, 100 * m.meanAccuracy)
        }
        let seconds = Date().timeIntervalSince(t0)
        summary += [("seconds", .number(seconds)), ("peak_rss_bytes", .number(Double(TrainCommand.peakRSSBytes())))]
        if json { print(JSON.object(summary).description) }
        FileHandle.standardError.write(Data((line + String(format: " (%.1f s)", seconds) + (out.map { "; wrote \($0)" } ?? "") + "\n").utf8))
    }
}
