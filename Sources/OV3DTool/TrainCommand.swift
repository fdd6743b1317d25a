import ArgumentParser
import Foundation
import OV3DCore

/// `ov3d train --config RUN.json [--json]`: trains a MinkUNet as the config describes
/// (docs/training.md), with a paper's recipe when the config has a `recipe` section
/// (docs/recipes.md: CUA-O3D, SAS stage 1 / stage 2). The runs themselves are `TrainingRun` and
/// `RecipeRun` in the library.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train or fine-tune a MinkUNet from a JSON run description (engine keys, optional recipe).",
        discussion: """
        Keys: model {architecture, in_channels, heads, final_bias, init}, data {scenes [{coords | points + \
        voxel_size, features, targets {head: file}, mask}], batch_size, shuffle, augment}, loss {head: {type, \
        weight}}, optimizer {type adam|adamw|sgd, lr, betas, eps, weight_decay, momentum, dampening, nesterov, \
        amsgrad, param_groups}, schedule {type constant|step|poly|cosine, ...}, clip_grad_norm, steps, seed, \
        threads, out, export_pth, export_pth_prefix, save_state, save_every, resume; recipe {type cua_o3d|\
        sas_stage1|sas_stage2, epochs, loop, uncertainty, fixed_weights, sigma_*, superpoints, max_rows, text, \
        ema_momentum, ema_half, eval {...}} (docs/recipes.md). Relative paths resolve against the config's \
        folder. Progress goes to stderr; --json prints one JSON object per step on stdout; --summary FILE \
        writes one JSON object at the end (steps, seconds, peak_rss_bytes; recipes: best_miou, best_epoch, sigma).
        """)

    @Option(help: "The run description (JSON).")
    var config: String
    @Flag(help: "Print one JSON object per step on stdout.")
    var json = false
    @Flag(help: "No progress bar on stderr.")
    var quiet = false
    @OptionGroup var memory: MemoryOption
    @Option(help: "Write a JSON summary of the run (steps, seconds, peak RSS, best mIoU, σ) to this file.")
    var summary: String?

    func run() throws {
        do { try execute() } catch let e as OV3DError {
            FileHandle.standardError.write(Data("\nov3d train: \(e.message)\n".utf8))
            throw ExitCode(Int32(-e.status.rawValue))
        }
    }

    func execute() throws {
        if let recipe = try RecipeRun.load(path: config) {
            try execute(recipe)
            return
        }
        let cfg = try TrainingConfig.load(path: config)
        for w in cfg.warnings { FileHandle.standardError.write(Data("ov3d train: warning: \(w)\n".utf8)) }
        let run = try TrainingRun(config: cfg)
        try run.limitMemory(memory.limit)
        let first = run.trainer.step
        let start = Date()
        try run.run { rec in
            if json { FileHandle.standardOutput.write(Data((rec.json.description + "\n").utf8)) }
            if !quiet { progress(rec, first: first, total: cfg.steps, start: start, extra: "") }
        }
        finish(cfg, first: first, start: start, extra: [])
    }

    func execute(_ r: RecipeRun) throws {
        let cfg = r.config
        for w in cfg.warnings { FileHandle.standardError.write(Data("ov3d train: warning: \(w)\n".utf8)) }
        try r.run.limitMemory(memory.limit)
        let first = r.run.trainer.step
        let start = Date()
        var lastEval = ""
        try r.run { rep in
            if json { FileHandle.standardOutput.write(Data((rep.json.description + "\n").utf8)) }
            if let e = rep.evaluation {
                lastEval = e.map { "\($0.mode) \(String(format: "%.1f", 100 * $0.metrics.meanIoU))%" }.joined(separator: " ")
            }
            guard !quiet else { return }
            var extra = " | epoch \(rep.epoch)"
            if !rep.sigma.isEmpty { extra += " | σ " + rep.sigma.map { "\($0.head) \(String(format: "%.3f", $0.sigma))" }.joined(separator: " ") }
            if !lastEval.isEmpty { extra += " | mIoU " + lastEval }
            progress(rep.record, first: first, total: cfg.steps, start: start, extra: extra)
            if rep.evaluation != nil, isatty(2) == 0 {
                FileHandle.standardError.write(Data("ov3d train: epoch \(rep.epoch) evaluation: \(lastEval)\n".utf8))
            }
        }
        var extra: [(String, JSON)] = [("recipe", .string(r.recipe.kind.rawValue)), ("epochs", .number(Double(cfg.steps / max(r.stepsPerEpoch, 1))))]
        if r.evaluator != nil {
            extra.append(("best_miou", .number(r.best.bestMetric)))
            extra.append(("best_epoch", .number(Double(r.best.bestEpoch))))
        }
        if let o = r.objective as? CUAObjective {
            extra.append(("sigma", .object(zip(o.heads, o.weighting.sigma).map { ($0, .number(Double($1))) })))
        }
        finish(cfg, first: first, start: start, extra: extra)
    }

    func progress(_ rec: Trainer.StepRecord, first: Int, total: Int, start: Date, extra: String) {
        let err = FileHandle.standardError
        let tty = isatty(2) != 0
        let done = rec.step - first, left = total - rec.step
        let el = Date().timeIntervalSince(start)
        let eta = done > 0 ? el / Double(done) * Double(left) : 0
        let losses = rec.losses.map { "\($0.head) \(String(format: "%.5f", $0.loss))" }.joined(separator: " ")
        let width = 20, filled = total > 0 ? width * rec.step / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = "[\(bar)] step \(rec.step)/\(total) | \(losses) | lr \(String(format: "%.3e", rec.lrs.last ?? 0))"
            + extra + " | \(Int(rec.voxelsPerSecond)) vox/s | ETA \(Self.clock(eta))"
        err.write(Data((tty ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    /// The closing line on stderr and the --summary file (steps, wall time, peak RSS).
    func finish(_ cfg: TrainingConfig, first: Int, start: Date, extra: [(String, JSON)]) {
        let seconds = Date().timeIntervalSince(start)
        let peak = Self.peakRSSBytes()
        if let summary {
            let o = JSON.object([("done", .bool(true)), ("steps", .number(Double(cfg.steps - first))), ("seconds", .number(seconds)),
                                 ("peak_rss_bytes", .number(Double(peak)))] + extra)
            do { try FileIO.write(summary, text: o.description + "\n") } catch {
                FileHandle.standardError.write(Data("ov3d train: --summary: \(error)\n".utf8))
            }
        }
        guard !quiet else { return }
        let err = FileHandle.standardError
        if isatty(2) != 0 { err.write(Data("\n".utf8)) }
        var outs: [String] = []
        if let o = cfg.out { outs.append(o) }
        if let p = cfg.exportPth { outs.append(p) }
        if let s = cfg.saveState { outs.append(s) }
        err.write(Data("ov3d train: \(cfg.steps - first) steps in \(String(format: "%.1f", seconds)) s, peak RSS \(peak >> 20) MiB; wrote \(outs.joined(separator: ", "))\n".utf8))
    }

    /// Peak resident set size of the process (getrusage ru_maxrss, KiB on Linux).
    static func peakRSSBytes() -> Int {
        var u = rusage()
        guard getrusage(Int32(RUSAGE_SELF.rawValue), &u) == 0 else { return 0 }
        return Int(u.ru_maxrss) * 1024
    }

    static func clock(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
