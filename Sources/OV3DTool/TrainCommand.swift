import ArgumentParser
import Foundation
import OV3DCore

/// `ov3d train --config RUN.json [--json]`: trains a MinkUNet as the config describes
/// (docs/training.md). The run itself is `TrainingRun` in the library.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train or fine-tune a MinkUNet from a JSON run description.",
        discussion: """
        Keys: model {architecture, in_channels, heads, final_bias, init}, data {scenes [{coords | points + \
        voxel_size, features, targets {head: file}, mask}], batch_size, shuffle, augment}, loss {head: {type, \
        weight}}, optimizer {type adam|adamw|sgd, lr, betas, eps, weight_decay, momentum, dampening, nesterov, \
        amsgrad, param_groups}, schedule {type constant|step|poly|cosine, ...}, clip_grad_norm, steps, seed, \
        threads, out, export_pth, export_pth_prefix, save_state, save_every, resume. Relative paths resolve \
        against the config's folder. Progress goes to stderr; --json prints one JSON object per step on stdout.
        """)

    @Option(help: "The run description (JSON).")
    var config: String
    @Flag(help: "Print one JSON object per step on stdout.")
    var json = false
    @Flag(help: "No progress bar on stderr.")
    var quiet = false
    @Option(name: .customLong("max-memory"),
            help: "Refuse a step whose projected peak memory exceeds this (bytes, or a number with K, M, G or T); default OV3D_MAX_MEMORY. Exit status 5 (OV3D_ERR_OUT_OF_MEMORY).")
    var maxMemory: String?

    func run() throws {
        do { try execute() } catch let e as OV3DError {
            FileHandle.standardError.write(Data("\nov3d train: \(e.message)\n".utf8))
            throw ExitCode(Int32(-e.status.rawValue))
        }
    }

    func execute() throws {
        if let maxMemory, Memory.parse(maxMemory) == nil {
            throw OV3DError.invalidArgument("--max-memory \(maxMemory) is not a size (bytes, or a number with K, M, G or T)")
        }
        let cfg = try TrainingConfig.load(path: config)
        for w in cfg.warnings { FileHandle.standardError.write(Data("ov3d train: warning: \(w)\n".utf8)) }
        let run = try TrainingRun(config: cfg)
        run.trainer.memoryLimit = maxMemory.flatMap(Memory.parse)
        let first = run.trainer.step
        let start = Date()
        let err = FileHandle.standardError
        let tty = isatty(2) != 0
        try run.run { rec in
            if json {
                FileHandle.standardOutput.write(Data((rec.json.description + "\n").utf8))
            }
            if !quiet {
                let done = rec.step - first, left = cfg.steps - rec.step
                let el = Date().timeIntervalSince(start)
                let eta = done > 0 ? el / Double(done) * Double(left) : 0
                let losses = rec.losses.map { "\($0.head) \(String(format: "%.5f", $0.loss))" }.joined(separator: " ")
                let width = 20, filled = cfg.steps > 0 ? width * rec.step / cfg.steps : width
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                let line = "[\(bar)] step \(rec.step)/\(cfg.steps) | \(losses) | lr \(String(format: "%.3e", rec.lrs.last ?? 0))"
                    + " | \(Int(rec.voxelsPerSecond)) vox/s | ETA \(Self.clock(eta))"
                err.write(Data((tty ? "\r\u{1B}[K" + line : line + "\n").utf8))
            }
        }
        if !quiet {
            if tty { err.write(Data("\n".utf8)) }
            var outs: [String] = []
            if let o = cfg.out { outs.append(o) }
            if let p = cfg.exportPth { outs.append(p) }
            if let s = cfg.saveState { outs.append(s) }
            err.write(Data("ov3d train: \(cfg.steps - first) steps in \(String(format: "%.1f", Date().timeIntervalSince(start))) s; wrote \(outs.joined(separator: ", "))\n".utf8))
        }
    }

    static func clock(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
