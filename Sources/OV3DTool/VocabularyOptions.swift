import ArgumentParser
import Foundation
import OV3DCore

/// The options `ov3d segment` and `ov3d query` share about the network: which checkpoint, how
/// it voxelises, which head is scored, how many threads.
struct ModelOptions: ParsableArguments {
    @Option(help: "MinkUNet checkpoint (.pth / .pth.tar / .safetensors).") var checkpoint: String
    @Option(help: "Metres per voxel (default: the checkpoint's recorded voxel size, else 0.02).") var voxelSize: Double?
    @Option(help: "Head to score, by name or index (default: the first, `final`).") var head: String?
    @Option(help: "Threads (0 = all cores).") var threads = 0

    func validate() throws {
        guard (0...256).contains(threads) else { throw ValidationError("--threads must be 0...256") }
        if let voxelSize, !(voxelSize.isFinite && voxelSize > 0) {
            throw ValidationError("--voxel-size must be a positive number of metres, got \(voxelSize)")
        }
    }
}

/// The options `ov3d segment` and `ov3d query` share about the CLIP text encoder (used when no
/// embeddings file is given).
struct TextEncoderOptions: ParsableArguments {
    @Option(help: "CLIP text encoder weights, to embed the words: OpenAI CLIP TorchScript .pt (ViT-B-32.pt, ...), open_clip .pt/.bin/.safetensors, a Hugging Face CLIPTextModelWithProjection directory or model.safetensors.")
    var textEncoder: String?
    @Option(help: "CLIP BPE vocabulary for --text-encoder (default: bpe_simple_vocab_16e6.txt.gz beside the weights).") var vocab: String?
    @Option(help: "Prompt template for --text-encoder ({} = the word; default OpenScene's 'a {} in a scene'; \"\" = bare words).")
    var template = TextEncodeOptions.openScenePrompt

    /// Checks these against the embeddings file option of the command (`--embeddings` /
    /// `--embedding`): exactly one of the two.
    func validate(embeddingsFile: String?, flag: String) throws {
        guard (embeddingsFile == nil) != (textEncoder == nil) else {
            throw ValidationError("give exactly one of \(flag) E.npy or --text-encoder W")
        }
        if vocab != nil && textEncoder == nil { throw ValidationError("--vocab applies to --text-encoder only") }
        if !template.isEmpty && !template.contains("{}") {
            throw ValidationError("--template '\(template)' has no {} for the word")
        }
    }

    func source(embeddingsFile: String?) -> TextSource {
        TextSource(embeddingsFile: embeddingsFile, textEncoder: textEncoder, bpe: vocab, template: template)
    }
}

/// How `ov3d segment` and `ov3d query` get text embeddings: from a file of embeddings the user
/// has (`--embeddings E.npy`, float16/32/64, one row per word), or by running a CLIP text encoder
/// (`--text-encoder W [--vocab BPE]`), each prompt through `--template`.
struct TextSource {
    var embeddingsFile: String?
    var textEncoder: String?
    var bpe: String?
    var template: String

    /// The template, or nil for bare words (`--template ""`).
    var templateOrNil: String? { template.isEmpty ? nil : template }

    /// The BPE file: `--vocab`, else `bpe_simple_vocab_16e6.txt(.gz)` beside the weights.
    func bpePath() throws -> String {
        if let bpe { return bpe }
        let dir = URL(fileURLWithPath: textEncoder ?? ".").deletingLastPathComponent().path
        for name in ["bpe_simple_vocab_16e6.txt.gz", "bpe_simple_vocab_16e6.txt"] where FileManager.default.fileExists(atPath: dir + "/" + name) {
            return dir + "/" + name
        }
        throw OV3DError.invalidArgument("--text-encoder needs --vocab BPE (CLIP's bpe_simple_vocab_16e6.txt.gz); none found beside \(textEncoder ?? "")")
    }

    func loadEncoder() throws -> TextEncoder {
        guard let textEncoder else { throw OV3DError.invalidArgument("no --text-encoder given") }
        return try TextEncoder(weightsPath: textEncoder, vocabularyPath: try bpePath())
    }

    /// Reads an embeddings file as `rows × dim` floats (a 1-D file is one row).
    static func readEmbeddings(_ path: String) throws -> (values: [Float], rows: Int, dim: Int) {
        let t = try NPY.read(path: path)
        try require(t.dtype.isFloatingPoint && (t.rank == 1 || t.rank == 2),
                    "\(path): expected a float array of shape (words, dim) or (dim,), got \(t.dtype.rawValue) \(t.shape)")
        let rows = t.rank == 1 ? 1 : t.shape[0], dim = t.shape[t.rank - 1]
        try require(rows > 0 && dim > 0, "\(path): empty embeddings \(t.shape)")
        return (t.floats(), rows, dim)
    }
}

/// The words of `ov3d segment`: a built-in label set, a file of names (one per line), or words.
struct WordList {
    var names: [String]
    /// The built-in set, when `--labels` named one (its prompts follow OpenScene's rules).
    var labelSet: LabelSet?

    static func resolve(labels: String?, labelsFile: String?, text: [String]) throws -> WordList {
        let given = [labels != nil, labelsFile != nil, !text.isEmpty].filter { $0 }.count
        guard given == 1 else { throw ValidationError("give exactly one of --labels NAME, --labels-file F.txt or --text WORD ...") }
        if let labels {
            guard let set = LabelSet.named(labels) else {
                throw ValidationError("unknown label set '\(labels)' (known: \(LabelSet.builtinNames.joined(separator: ", ")))")
            }
            return WordList(names: set.encodedNames, labelSet: set)
        }
        if let labelsFile {
            let text = try String(contentsOfFile: labelsFile, encoding: .utf8)
            let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            try require(!names.isEmpty, "\(labelsFile) holds no label names")
            return WordList(names: names, labelSet: nil)
        }
        return WordList(names: text, labelSet: nil)
    }

    /// The vocabulary of these words from `source`.
    func vocabulary(_ source: TextSource) throws -> Vocabulary {
        if let file = source.embeddingsFile {
            let e = try TextSource.readEmbeddings(file)
            try require(e.rows == names.count,
                        "\(file) holds \(e.rows) embeddings but \(names.count) words were given (\(names.prefix(4).joined(separator: ", "))\(names.count > 4 ? ", ..." : ""))")
            return try Vocabulary(names: names, embeddings: e.values, dimension: e.dim)
        }
        let encoder = try source.loadEncoder()
        if let set = labelSet {
            return try encoder.vocabulary(labelSet: set, template: source.templateOrNil)
        }
        let opts = TextEncodeOptions(template: source.templateOrNil)
        return try encoder.vocabulary(names: names, prompts: names.map { opts.prompt($0) })
    }
}

/// Reads the INPUT of `ov3d segment` / `ov3d query`: PLY, PCD (organised clouds keep their NaN
/// points, which are skipped), npy (N×3, N×6 with colours; any numeric dtype) or LiDAR `.bin`.
enum PointInput {
    /// The cloud, its points checked as the segmentation will (`ValidPoints`: no ±Inf or huge
    /// coordinate, not every point NaN) so that a refusal names the file.
    static func load(_ path: String) throws -> LoadedCloud {
        let loaded = try CloudFile.read(path)
        do { _ = try ValidPoints(positions: loaded.cloud.positions) } catch let e as OV3DError { throw e.context(path) }
        return loaded
    }
}

/// Shared by the commands: the failure message and exit status of an `OV3DError`.
func failing(_ command: String, _ body: () throws -> Void) throws {
    do { try body() } catch let e as OV3DError {
        FileHandle.standardError.write(Data("ov3d \(command): \(e.message)\n".utf8))
        throw ExitCode(Int32(-e.status.rawValue))
    }
}
