import ArgumentParser
import Foundation
import OV3DCore

/// `ov3d agglomerate --teacher A.npy --teacher B.npy --vocabulary E.npy --method capability
/// --capabilities table.npy --out F.npy`: multi-teacher agglomeration of fused per-point
/// features (`TeacherFusion` in the library: SAS capability-guided, mean, max similarity) — the
/// distillation target of SAS's stage 1 and of its mean-fused ablation.
struct AgglomerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agglomerate",
        abstract: "Fuse several teachers' per-point features into one (SAS capability-guided, mean, max similarity).",
        discussion: """
        Teachers: N×D float .npy each (same points, same D; an all-zero row = unseen, it takes no part). \
        --vocabulary: K×D class embeddings. --capabilities: one K-vector .npy per teacher or a T×K matrix \
        (SAS's capability/{lseg,seem}_miou.npy; `ov3d synth` writes capabilities/table.npy).
        """)

    @Option(name: .customLong("teacher"), help: "A teacher's N×D features (repeatable, in capability order).") var teachers: [String] = []
    @Option(help: "K×D class embeddings (.npy).") var vocabulary: String
    @Option(help: "capability, mean or max-similarity.") var method = "capability"
    @Option(name: .customLong("capabilities"), help: "Capability files (capability method; repeatable).") var capabilities: [String] = []
    @Option(help: "Softmax temperature of the capability method.") var temperature: Float = 0.05
    @Flag(help: "Centre the output on the vocabulary's mean embedding (t/|t| - mean; zero rows stay zero): the demo model's training targets (TextSpaceCentering).")
    var centre = false
    @Option(help: "Output N×D float32 .npy.") var out: String
    @Option(help: "Threads (0 = all cores).") var threads = 0
    @OptionGroup var memory: MemoryOption

    func run() throws {
        do {
            guard !teachers.isEmpty else { throw OV3DError.invalidArgument("give at least one --teacher") }
            let v = try TextSource.readEmbeddings(vocabulary)
            let vocab: Vocabulary
            do { vocab = try Vocabulary(names: (0..<v.rows).map { "class \($0)" }, embeddings: v.values, dimension: v.dim) } catch let e as OV3DError {
                throw e.context(vocabulary)
            }
            var feats: [[Float]] = []
            var n = -1
            for t in teachers {
                let x = try NPY.read(path: t)
                try require(x.dtype.isFloatingPoint && x.rank == 2 && x.shape[1] == vocab.dimension,
                            "\(t): expected N×\(vocab.dimension) float features, got \(x.shape)")
                try require(n < 0 || x.shape[0] == n, "\(t): \(x.shape[0]) rows, the first teacher has \(n)")
                n = x.shape[0]
                feats.append(x.floats())
            }
            let m: TeacherFusion.Method
            switch method {
            case "capability":
                guard !capabilities.isEmpty else { throw OV3DError.invalidArgument("--method capability needs --capabilities") }
                let table = try CapabilityTable.load(paths: capabilities)
                try require(table.teachers == teachers.count && table.classes == vocab.count,
                            "capabilities are \(table.teachers)×\(table.classes), expected \(teachers.count) teachers × \(vocab.count) classes")
                m = .capability(table, temperature: temperature)
            case "mean": m = .mean
            case "max-similarity": m = .maxSimilarity
            default: throw OV3DError.invalidArgument("--method '\(method)' is not capability, mean or max-similarity")
            }
            let r = try TeacherFusion.fuse(teachers: feats, vocabulary: vocab, method: m, threads: threads, memoryLimit: memory.limit,
                                           teacherNames: teachers)
            let f = centre ? try TextSpaceCentering.centred(r.features, vocabulary: vocab) : r.features
            try NPY.write(f, shape: [n, vocab.dimension], path: out)
        } catch let e as OV3DError {
            FileHandle.standardError.write(Data("ov3d agglomerate: \(e.message)\n".utf8))
            throw ExitCode(Int32(-e.status.rawValue))
        }
    }
}
