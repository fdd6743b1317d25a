import ArgumentParser
import OV3DCore

/// The `ov3d` command-line tool. Each subcommand lives in its own file.
struct OV3DCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ov3d",
        abstract: "Open-vocabulary 3D scene understanding for robots.",
        version: OV3DVersion.string,
        subcommands: [
            VersionCommand.self,
            DemoCommand.self,
            FeaturesCommand.self,
            SegmentCommand.self,
            QueryCommand.self,
            ConvertCommand.self,
            InspectCommand.self,
            TokenizeCommand.self,
            RenderCommand.self,
            EmbedTextCommand.self,
            SuperpointsCommand.self,
            FuseCommand.self,
            EvalCommand.self,
            SynthCommand.self,
            TrainCommand.self,
            ProbeCommand.self,
            AgglomerateCommand.self,
        ])
}

/// `ov3d version`: the library version, which kernels run and the build's features. An unknown
/// `OV3D_KERNELS` value is an error (exit status 2), as it is for every command that computes.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version",
                                                    abstract: "Print the library version, the kernels that run and the build's features.")
    func run() throws {
        do { try ComputeKernels.checkEnvironment() } catch let e as OV3DError {
            writeStderr("ov3d version: \(e.message)\n")
            throw ExitCode(2)
        }
        print("ov3d \(OV3DVersion.string) (ABI \(OV3DVersion.abi))")
        for f in BuildInfo.features { print("  \(f.name): \(f.detail)") }
    }
}

OV3DCommand.main()
