/// A batch for training: the voxels of one or more scenes, each row `(batch, x, y, z)` with
/// unique `(batch, x, y, z)`, and `inChannels` input features per row. Kernel maps never join
/// voxels of different scenes; BatchNorm statistics run over every row of the batch (as
/// MinkowskiEngine's batched sparse tensors do).
public struct TrainingBatch: Sendable {
    /// Rows × 4 Int32: batch index (0 ..< sceneCount), then x, y, z in voxel units.
    public var coords: [Int32]
    /// Rows × inChannels.
    public var features: [Float]
    public var inChannels: Int
    public var rows: Int { coords.count / 4 }

    public init(coords: [Int32], features: [Float], inChannels: Int) {
        self.coords = coords; self.features = features; self.inChannels = inChannels
    }
}

/// A network the trainer can run: forward in training mode (keeping what backward needs),
/// backward from the gradients of its head outputs into `parameters.grads`, and its state dict.
///
/// The MinkUNet family implements it (`TrainableMinkUNet`, built from the same `MinkUNetSpec`
/// as inference); tests use small networks.
public protocol TrainableNetwork: AnyObject {
    /// Trainable parameters (weights, BN γ/β, head biases) and their gradients.
    var parameters: ParameterSet { get }
    /// Output heads in order: name (`final`, `final_dinov2`, ...) and width.
    var heads: [(name: String, dim: Int)] { get }
    /// Training mode (BatchNorm on batch statistics, running statistics updated by `forward`)
    /// or evaluation mode (running statistics).
    var training: Bool { get set }

    /// Runs the network on a batch; returns per head a `rows × dim` row-major matrix, rows in the
    /// batch's row order. In training mode it keeps the activations `backward` needs.
    func forward(_ batch: TrainingBatch, threads: Int) throws -> [[Float]]

    /// Back-propagates `dL/d(output)` of every head (same shapes as `forward` returned; an empty
    /// array for a head with no loss) through the last `forward`, **adding** into
    /// `parameters.grads`. Frees the kept activations.
    func backward(_ gradOutputs: [[Float]], threads: Int) throws

    /// Every key of the state dict (no prefix): parameters, BN running_mean / running_var /
    /// num_batches_tracked, in registration order.
    func stateDict() throws -> StateDict

    /// Loads parameters and buffers from a state dict (prefixes `net3d.` / `module.` stripped);
    /// missing, unexpected or mis-shaped keys are an error.
    func load(_ sd: StateDict) throws

    /// Projected peak bytes of the work buffers of one training step on `batch` (activations
    /// kept for backward, backward transients, kernel maps, head outputs); 0 when the network
    /// cannot tell. `Trainer` refuses a step whose projection exceeds the memory limit.
    func projectedStepBytes(_ batch: TrainingBatch) -> Int

    /// Frees pooled work buffers and kept activations (before writing outputs, so that the
    /// state-dict copies do not add to the step's peak).
    func releaseWorkBuffers()
}

extension TrainableNetwork {
    public func projectedStepBytes(_ batch: TrainingBatch) -> Int { 0 }
    public func releaseWorkBuffers() {}
}
