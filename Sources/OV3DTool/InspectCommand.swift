import ArgumentParser
import Foundation
import OV3DCore

/// `ov3d inspect FILE`: format, metadata, inferred architecture, and every tensor's key, dtype and shape.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List a checkpoint's tensors (key, dtype, shape), metadata and inferred architecture.")

    @Argument(help: "Checkpoint (.pth, .pth.tar, legacy torch, or .safetensors).") var file: String
    @Option(help: "Print at most this many tensors (0 = all).") var limit = 0
    @Flag(help: "Skip CRC-32 checks of the zip entries.") var noVerifyCrc = false

    func run() throws {
        var o = TorchCheckpoint.Options()
        o.verifyCRC = !noVerifyCrc
        let sd: StateDict
        do { sd = try CheckpointReader.load(path: file, options: o) } catch let e as OV3DError {
            FileHandle.standardError.write(Data("ov3d inspect: \(e.message)\n".utf8))
            throw ExitCode(Int32(-e.status.rawValue))
        }
        let bytes = sd.keys.reduce(0) { $0 + (sd[$1]?.byteCount ?? 0) }
        let elements = sd.keys.reduce(0) { $0 + (sd[$1]?.count ?? 0) }
        print("file: \(file)")
        print("tensors: \(sd.count), elements: \(elements), bytes: \(bytes)")
        print("metadata:")
        for (k, v) in sd.metadata { print("  \(k) = \(v)") }
        do {
            let spec = try MinkUNetSpec.infer(from: sd)
            let prefix = MinkUNetSpec.prefix(of: sd)
            print("architecture: \(spec.variantName) (prefix '\(prefix)', in_channels \(spec.inChannels), init_dim \(spec.initDim), layers \(spec.layers), planes \(spec.planes))")
            print("heads: " + spec.heads.map { "\($0.name)=\($0.dim)" }.joined(separator: ", "))
            do { try spec.validate(sd); print("validation: all \(spec.expectedTensors.count) expected tensors present with the expected shapes") } catch let e as OV3DError {
                print("validation: \(e.message)")
            }
        } catch let e as OV3DError {
            if let w = try? UncertaintyWeights(stateDict: sd) {
                print("architecture: CUA-O3D uncertainty weights (AutomaticWeightedLoss)")
                for (t, (s, n)) in zip(w.teachers, zip(w.sigmas, w.normalizedWeights)) { print("  \(t): sigma \(s), normalised weight \(n)") }
            } else {
                print("architecture: not a MinkUNet (\(e.message))")
            }
        }
        print("tensors:")
        for (i, k) in sd.keys.enumerated() {
            if limit > 0 && i >= limit { print("  ... \(sd.count - limit) more"); break }
            let t = sd[k]!
            print("  \(k)  \(t.dtype.rawValue)  \(t.shape)")
        }
    }
}
