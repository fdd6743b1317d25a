/// Shape and variant of a CLIP text tower. Widths, layers, vocabulary and context length are
/// read from the weights; the head count and activation are not stored in open_clip state dicts
/// (OpenAI's rule `heads = width / 64` and QuickGELU are the defaults).
public struct CLIPTextConfig: Sendable, Equatable {
    public enum Activation: String, Sendable { case quickGELU = "quick_gelu", gelu }

    public var vocabularySize: Int
    public var contextLength: Int
    public var width: Int
    public var heads: Int
    public var layers: Int
    public var mlpWidth: Int
    /// Output dimension (the text projection's columns; `width` without projection).
    public var embedDimension: Int
    public var activation: Activation
    public var layerNormEpsilon: Float

    public init(vocabularySize: Int, contextLength: Int, width: Int, heads: Int, layers: Int, mlpWidth: Int,
                embedDimension: Int, activation: Activation = .quickGELU, layerNormEpsilon: Float = 1e-5) {
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.width = width
        self.heads = heads
        self.layers = layers
        self.mlpWidth = mlpWidth
        self.embedDimension = embedDimension
        self.activation = activation
        self.layerNormEpsilon = layerNormEpsilon
    }
}

/// Options for loading a CLIP text tower whose file does not say everything.
public struct CLIPTextLoadOptions: Sendable {
    /// Attention heads; nil = from the file's metadata/config, else `width / 64`.
    public var heads: Int?
    /// Activation; nil = from the file's metadata/config, else QuickGELU (OpenAI CLIP).
    public var activation: CLIPTextConfig.Activation?

    public init(heads: Int? = nil, activation: CLIPTextConfig.Activation? = nil) {
        self.heads = heads
        self.activation = activation
    }
}
