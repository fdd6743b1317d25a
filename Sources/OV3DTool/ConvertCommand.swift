import ArgumentParser
import Foundation
import OV3DCore

/// `ov3d convert IN OUT`: a PyTorch checkpoint (.pth / .pth.tar, zip or legacy) or safetensors file
/// to ov3d's safetensors with metadata (format version, inferred architecture and heads, ...).
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a PyTorch checkpoint (.pth, .pth.tar) to safetensors with ov3d metadata.",
        discussion: "Reads torch.save files without PyTorch (nothing in the file is executed). Tensors are copied bit for bit.")

    @Argument(help: "Input checkpoint (.pth, .pth.tar, legacy torch, or .safetensors).") var input: String
    @Argument(help: "Output .safetensors file.") var output: String
    @Option(help: "Architecture name to record (default: inferred from the keys and shapes).") var architecture: String?
    @Option(help: "Voxel size in metres to record (e.g. 0.02).") var voxelSize: Double?
    @Option(help: "Label set to record: comma-separated names, or @file with one name per line.") var labels: String?
    @Flag(help: "Strip the module./net3d. key prefixes.") var stripPrefixes = false
    @Flag(help: "Skip CRC-32 checks of the zip entries.") var noVerifyCrc = false

    func run() throws {
        var o = CheckpointConverter.Options()
        o.architecture = architecture
        o.voxelSize = voxelSize
        o.stripPrefixes = stripPrefixes
        o.reader.verifyCRC = !noVerifyCrc
        if let labels {
            if labels.hasPrefix("@") {
                let text = try String(contentsOfFile: String(labels.dropFirst()), encoding: .utf8)
                o.labelSet = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            } else {
                o.labelSet = labels.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            }
        }
        do {
            let sd = try CheckpointConverter.convert(input: input, output: output, options: o)
            let bytes = sd.keys.reduce(0) { $0 + (sd[$1]?.byteCount ?? 0) }
            print("wrote \(output): \(sd.count) tensors, \(bytes) bytes of data")
            for (k, v) in sd.metadata where k.hasPrefix("ov3d.") { print("  \(k) = \(v)") }
        } catch let e as OV3DError {
            FileHandle.standardError.write(Data("ov3d convert: \(e.message)\n".utf8))
            throw ExitCode(Int32(-e.status.rawValue))
        }
    }
}
