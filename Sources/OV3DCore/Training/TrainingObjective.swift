/// A training objective that replaces `Trainer`'s per-head losses for one step: the recipes
/// (CUA-O3D's uncertainty-weighted multi-teacher sum, SAS's superpoint and self-distillation
/// losses). It reads the predictions of its heads at the batch's loss rows (points for point
/// scenes, after the voxel → point broadcast) and returns the gradients there; the trainer
/// scatters them to voxels and runs backward, clipping and the optimizer step as usual.
public protocol TrainingObjective: AnyObject {
    /// Heads the objective reads.
    var heads: [String] { get }
    /// The total loss, the per-head record and `∂total/∂prediction` per head (loss rows × dim).
    /// `step` is the 0-based index of the step being taken.
    func evaluate(predictions: [String: [Float]], batch: PreparedBatch, step: Int) throws
        -> (total: Double, losses: [(head: String, loss: Double)], gradients: [String: [Float]])
    /// After the network's optimizer step, with the learning rates it used (per group).
    func afterStep(lrs: [Double]) throws
}
