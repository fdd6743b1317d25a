import ArgumentParser
import Foundation
import OV3DCore

/// `ov3d synth --preset small --seed 3 --out DIR [--stats]`: a synthetic scene folder (the
/// generator lives in OV3DCore/Synthetic; this command only parses and prints).
struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Generate a synthetic room with SIMULATED 2D teachers (mesh, points, RGB-D frames, teacher features, capabilities, labels).",
        discussion: """
        Presets: tiny (unit tests), small (demo, training tests), scannet (ScanNet-scale). Deterministic
        from --seed. The folder layout is in docs/synthetic.md; `ov3d fuse --frames DIR/frames/lseg.json`,
        `ov3d eval --gt DIR/labels_seen.npy` and `ov3d train --config DIR/train.json` read it as it is.
        The teachers are simulated stand-ins for LSeg, SEEM, DINOv2 and Stable Diffusion: their
        numbers say nothing of real-world accuracy. --stats alone prints the scene's statistics
        without writing anything. --scannet-scene S --out DIR writes a real labelled ScanNet scene of
        scannet_votenet50k with the four teachers SIMULATED at point level (no frames, no mesh) in the
        same folder layout (teachers/lseg.npy, seem.npy, dinov2.npy, diffusion.npy).
        """)

    @Option(help: "tiny, small or scannet.") var preset = "small"
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Output folder.") var out: String?
    @Flag(help: "Print points, voxels at 2 cm, classes, instances, frames and coverage.") var stats = false
    @Flag(name: .customLong("no-frame-features"), help: "Do not write per-frame teacher feature maps (saves most of the disk).")
    var noFrameFeatures = false
    @Option(help: "Folder with clip_scannet_labels_512.npy (default: data/clip of the checkout).") var embeddings: String?
    @Option(help: "Threads (0 = all cores).") var threads = 0
    @Option(name: .customLong("scannet-scene"),
            help: "Real geometry, SIMULATED teachers: a scannet_votenet50k scene (S_vert.npy or the prefix DIR/S) written to --out, or a folder of them (each to --out/S).")
    var scanNetScene: String?
    @Option(name: .customLong("capability-images"), help: "--scannet-scene: generated images per class for the annotation-free capabilities (1...64).")
    var capabilityImages = 2

    static func embeddingCandidates(_ explicit: String?) -> [String] {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        return [explicit, "data/clip", exe.appendingPathComponent("../data/clip").path,
                exe.appendingPathComponent("../../data/clip").path, "../shared/data/clip/text_embeddings"].compactMap { $0 }
    }

    /// `--scannet-scene`: `ScanNetSceneExport` for one scene or each scene of a folder.
    func runScanNet(_ source: String, out: String, t0: Date) throws {
        let prefixes = try ScanNetSceneExport.scenes(at: source)
        let space = try TeacherTextSpace.find(candidates: SynthCommand.embeddingCandidates(embeddings))
        var options = ScanNetSceneExport.Options()
        options.threads = threads
        guard (1...64).contains(capabilityImages) else { throw ValidationError("--capability-images must be 1...64") }
        options.capabilityImagesPerClass = capabilityImages
        print("text space: \(space.source)")
        for p in prefixes {
            let dir = prefixes.count == 1 && !FileIO.isDirectory(source) ? out : FileIO.join(out, ScanNetSceneExport.name(p))
            let s = try ScanNetSceneExport.run(scene: p, seed: seed, space: space, out: dir, options: options)
            print("\(s.scene): \(s.points) points, \(s.classesPresent) ScanNet-20 classes, \(s.instances) instances -> \(dir)")
            print("  teachers (SIMULATED, point level): \(s.teacherNames.joined(separator: ", "))")
            print("  method (point-level SIMULATED teachers)       mIoU    mAcc")
            SynthCommand.printRows(s.rows, errorPatterns: s.errorPatterns)
        }
        print(String(format: "wrote %@ in %.1f s", out, Date().timeIntervalSince(t0)))
    }

    /// The mIoU/mAcc table and each teacher's commonest confusions, as both exports print them.
    static func printRows(_ rows: [(name: String, miou: Double, macc: Double)],
                          errorPatterns: [(teacher: String, pattern: [(String, String, Double)])]) {
        for r in rows {
            print("  " + r.name.padding(toLength: 42, withPad: " ", startingAt: 0) + String(format: " %5.1f%%  %5.1f%%", 100 * r.miou, 100 * r.macc))
        }
        for (t, pattern) in errorPatterns {
            print("  \(t) errors: " + pattern.map { "\($0.0) → \($0.1) \(Int(($0.2 * 100).rounded()))%" }.joined(separator: ", "))
        }
    }

    func run() throws {
        do {
            guard let p = SyntheticPreset.named(preset) else {
                throw ValidationError("unknown preset '\(preset)' (tiny, small, scannet)")
            }
            guard out != nil || stats || scanNetScene != nil else { throw ValidationError("give --out DIR, --stats, or both") }
            Threads.setBLASThreads(threads)
            let t0 = Date()
            if let scanNetScene {
                guard let out else { throw ValidationError("--scannet-scene needs --out DIR") }
                try runScanNet(scanNetScene, out: out, t0: t0)
                return
            }
            guard let out else {
                let scene = try SyntheticScene.generate(preset: p, seed: seed, threads: threads)
                print(try SyntheticStats(scene: scene, params: FusionParams(threads: threads)).text, terminator: "")
                return
            }
            let space = try TeacherTextSpace.find(candidates: SynthCommand.embeddingCandidates(embeddings))
            var options = SyntheticSceneExport.Options()
            options.frameFeatures = !noFrameFeatures
            options.threads = threads
            let s = try SyntheticSceneExport.run(preset: p, seed: seed, space: space, out: out, options: options)
            if stats { print(s.stats.text, terminator: "") }
            print("text space: \(space.source)")
            print("teachers (SIMULATED): \(s.teacherNames.joined(separator: ", "))")
            print("\n  method (fused over \(s.stats.frames) frames)          mIoU    mAcc")
            SynthCommand.printRows(s.rows, errorPatterns: s.errorPatterns)
            print(String(format: "wrote %@ in %.1f s", out, Date().timeIntervalSince(t0)))
        } catch let e as OV3DError {
            FileHandle.standardError.write("ov3d synth: \(e.message)\n".data(using: .utf8)!)
            throw ExitCode(e.status == .invalidArgument ? 2 : 1)
        }
    }
}
