#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import OV3DCore

/// `ov3d embed-text --weights FILE --vocab FILE --out OUT.npy [--template T | --no-template] [--no-normalize] TEXT...`:
/// one float32 embedding row per text, L2-normalised unless --no-normalize, each text through
/// OpenScene's prompt `a {} in a scene` unless another --template (or `--template ""` /
/// --no-template for the bare text) is given: the same default as `ov3d segment` / `ov3d query`.
struct EmbedTextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed-text",
        abstract: "Encode texts with a CLIP text model into an .npy of float32 rows.")

    @Option(name: .long, help: "CLIP text weights: OpenAI CLIP TorchScript .pt (ViT-B-32.pt, ...), open_clip .pt/.bin/.safetensors, a Hugging Face CLIPTextModelWithProjection directory or model.safetensors, or ov3d safetensors.")
    var weights: String

    @Option(name: .long, help: "CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt.gz).")
    var vocab: String

    @Option(name: .long, help: "Output .npy (float32, one row per text).")
    var out: String

    @Option(name: .long, help: "Prompt template with {} for the text (default: OpenScene's 'a {} in a scene'; \"\" = the bare text).")
    var template: String = TextEncodeOptions.openScenePrompt

    @Flag(name: .customLong("no-template"), help: "Encode the bare texts (same as --template \"\").")
    var noTemplate = false

    @Flag(name: .customLong("no-normalize"), help: "Write the raw embeddings (default: L2-normalised).")
    var noNormalize = false

    @Argument(parsing: .remaining, help: "Texts to encode.")
    var texts: [String] = []

    func validate() throws {
        guard !texts.isEmpty else { throw ValidationError("give at least one TEXT") }
    }

    func run() throws {
        do {
            try requireValidUTF8Arguments()
            let enc = try TextEncoder(weightsPath: weights, vocabularyPath: vocab)
            let t: String? = noTemplate || template.isEmpty ? nil : template
            if let t { try require(t.contains("{}"), "--template '\(t)' has no {} for the text") }
            let e = try enc.encode(texts, options: TextEncodeOptions(template: t, normalize: !noNormalize))
            try NPY.write(e, shape: [texts.count, enc.dimension], path: out)
        } catch let e as OV3DError {
            writeStderr("ov3d \(Self.configuration.commandName ?? ""): \(e.message)\n")
            throw ExitCode(e.status == .invalidArgument ? 2 : 1)
        }
    }
}
