import ArgumentParser
import OV3DCore

/// `--max-memory SIZE`, shared by every command that does heavy work (features, segment, query,
/// fuse, superpoints, train, demo). The value goes to the library's one memory path
/// (`Memory.checkProjected` through `Workspace.memoryLimit`, `FusionParams.memoryLimit`,
/// `Superpoints.compute(memoryLimit:)`, the training workspace); unset, the library reads
/// `OV3D_MAX_MEMORY`. `ulimit -v` is always respected.
struct MemoryOption: ParsableArguments {
    @Option(help: "Refuse a run whose projected peak memory exceeds this size (bytes, or with K/M/G: 512M, 2G), before it allocates (default: $OV3D_MAX_MEMORY, else no limit; `ulimit -v` is always respected).")
    var maxMemory: String?

    func validate() throws {
        if let maxMemory, Memory.parse(maxMemory) == nil {
            throw ValidationError("--max-memory \(maxMemory) is not a size (bytes, or a number with K, M, G or T)")
        }
    }

    /// The explicit limit in bytes (nil: none given; the library then reads OV3D_MAX_MEMORY).
    var limit: Int? { maxMemory.flatMap(Memory.parse) }

    /// A workspace whose runs are checked against the limit.
    func workspace() -> Workspace {
        Workspace(memoryLimit: limit)
    }
}
