/// Loading a MinkUNet from a checkpoint file.
extension MinkUNet {
    /// Reads the state dict of a checkpoint file. The one place that picks the reader, so
    /// switching to the torch/pickle-aware `CheckpointReader` (issue 4) is a one-line change.
    public static func readStateDict(path: String) throws -> StateDict {
        try CheckpointReader.load(path: path)
    }

    /// Loads a checkpoint, infers its architecture and builds the network.
    public static func load(path: String) throws -> MinkUNet {
        let sd = try readStateDict(path: path)
        do { return try MinkUNet(stateDict: sd) } catch let e as OV3DError { throw e.context(path) }
    }
}
