#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import OV3DCore

/// `ov3d tokenize --vocab FILE --json TEXT...`: one JSON list of 77 CLIP token ids per text (start
/// token, ids, end token, zero padding; truncated keeping the end token), one list per line.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print CLIP token ids (77 per text, as open_clip.tokenize pads and truncates).")

    @Option(name: .long, help: "CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt.gz).")
    var vocab: String

    @Flag(name: .long, help: "Print one JSON list per text (the only output format).")
    var json = false

    @Argument(parsing: .remaining, help: "Texts to tokenize.")
    var texts: [String] = []

    func validate() throws {
        guard json else { throw ValidationError("--json is required (the output is one JSON list of 77 ids per text)") }
        guard !texts.isEmpty else { throw ValidationError("give at least one TEXT") }
    }

    func run() throws {
        do {
            try requireValidUTF8Arguments()
            let tok = try CLIPTokenizer(vocabularyPath: vocab)
            var out = ""
            for t in texts {
                let ids = try tok.tokenize(t)
                out += "[" + ids.map { String($0) }.joined(separator: ", ") + "]\n"
            }
            print(out, terminator: "")
        } catch let e as OV3DError {
            writeStderr("ov3d \(Self.configuration.commandName ?? ""): \(e.message)\n")
            throw ExitCode(e.status == .invalidArgument ? 2 : 1)
        }
    }
}

/// Writes a message to standard error (no Foundation needed).
func writeStderr(_ message: String) {
    var m = message
    m.withUTF8 { b in _ = write(2, b.baseAddress, b.count) }
}

/// The shell hands bytes; Swift repairs invalid UTF-8 silently. Text commands refuse it instead.
func requireValidUTF8Arguments() throws {
    for i in 0..<Int(CommandLine.argc) {
        guard let p = CommandLine.unsafeArgv[i] else { continue }
        let n = strlen(p)
        let bytes = UnsafeRawBufferPointer(start: p, count: n).bindMemory(to: UInt8.self)
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw OV3DError.invalidArgument("argument \(i) is not valid UTF-8")
        }
    }
}
