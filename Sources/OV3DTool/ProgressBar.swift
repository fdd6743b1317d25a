import Foundation
import OV3DCore

/// A progress bar on stderr for the tool's long steps: drawn only once a step has run for a
/// second, only when stderr is a terminal (or OV3D_PROGRESS=1), and erased when the step ends,
/// so that piped output and `--json` on stdout stay clean.
final class ProgressBar: @unchecked Sendable {
    private let title: String
    private let start = Date()
    private var drawn = false
    private let enabled: Bool
    private let lock = NSLock()

    init(_ title: String) {
        self.title = title
        let env = ProcessInfo.processInfo.environment["OV3D_PROGRESS"]
        enabled = env == "1" || (env != "0" && isatty(2) != 0)
    }

    /// A `Progress` for library calls that draws this bar.
    var progress: OV3DCore.Progress {
        OV3DCore.Progress { [self] fraction, stage in
            self.update(fraction, stage)
            return true
        }
    }

    /// Draws `fraction` (0...1) with a stage name, after the first second.
    func update(_ fraction: Float, _ stage: String) {
        lock.lock(); defer { lock.unlock() }
        let t = Date().timeIntervalSince(start)
        guard enabled, t >= 1 else { return }
        let width = 30
        let filled = Int(Float(width) * min(max(fraction, 0), 1))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let line = String(format: "\r%@ [%@] %3d%% %5.1f s  %@", title, bar, Int(100 * fraction), t,
                          String(stage.prefix(28)).padding(toLength: 28, withPad: " ", startingAt: 0))
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }

    /// Erases the bar (if it was drawn).
    func finish() {
        lock.lock(); defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        drawn = false
    }

    /// Runs `body` with a bar titled `title`.
    static func run<T>(_ title: String, _ body: (ProgressBar) throws -> T) rethrows -> T {
        let bar = ProgressBar(title)
        defer { bar.finish() }
        return try body(bar)
    }
}
