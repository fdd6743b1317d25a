import Foundation

/// Locations of test inputs: committed fixtures and the shared (non-redistributable) data.
enum TestPaths {
    /// The package root (derived from this file's path).
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Committed golden fixtures: Tests/Fixtures/<subsystem>/...
    static func fixture(_ relative: String) -> String { root + "/Tests/Fixtures/" + relative }

    /// `../shared/data` next to the package root, or $OV3D_SHARED_DATA. nil when absent.
    static let sharedData: String? = {
        let env = ProcessInfo.processInfo.environment["OV3D_SHARED_DATA"]
        let candidates = [env, root + "/../shared/data"].compactMap { $0 }
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/README.md") }
    }()

    /// A path inside the shared data, or nil (the caller skips with a message) when absent.
    static func shared(_ relative: String) -> String? {
        guard let base = sharedData else {
            print("SKIP: ../shared/data not found (set OV3D_SHARED_DATA); skipping test on \(relative)")
            return nil
        }
        let p = base + "/" + relative
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }
}
