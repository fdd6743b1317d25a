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
            EmbedTextCommand.self,
            SuperpointsCommand.self,
            FuseCommand.self,
            EvalCommand.self,
            TrainCommand.self,
        ])
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the library version.")
    func run() throws { print("ov3d \(OV3DVersion.string) (ABI \(OV3DVersion.abi))") }
}

OV3DCommand.main()
