/// Sizes of a generated scene: tiny (unit tests, seconds), small (demo and training tests),
/// scannet (ScanNet-scale rooms for benchmarks: 100k–250k voxels at 2 cm, ScanNet-like point
/// density and frame count). Everything generated from a preset is deterministic for a seed.
public struct SyntheticPreset: Sendable, Equatable {
    public var name: String
    public var roomX: ClosedRange<Float>
    public var roomY: ClosedRange<Float>
    public var roomHeight: ClosedRange<Float>
    /// Furniture recipes to place (a counter or a bathtub brings a second object).
    public var furniture: ClosedRange<Int>
    public var doors: ClosedRange<Int>
    public var windows: ClosedRange<Int>
    public var pictures: ClosedRange<Int>
    /// Surface points per square metre (ScanNet's vh_clean_2 meshes: roughly 1500–3000).
    public var pointDensity: Float
    /// RGB-D frames along the walking path (OpenScene fuses every 20th ScanNet frame).
    public var frames: Int
    public var imageWidth: Int
    public var imageHeight: Int
    /// Resolution of the text-aligned teachers' feature maps (width, height).
    public var textFeatureSize: SIMD2<Int32>
    /// Feature dimensions of the geometric (DINOv2-like) and diffusion-like teachers.
    public var geometricDim: Int
    public var diffusionDim: Int
    /// Generated single-object images per class for the annotation-free capabilities.
    public var capabilityImagesPerClass: Int

    public static let tiny = SyntheticPreset(
        name: "tiny", roomX: 3.2...3.8, roomY: 2.8...3.3, roomHeight: 2.4...2.5, furniture: 4...5, doors: 1...1,
        windows: 1...1, pictures: 1...1, pointDensity: 500, frames: 8, imageWidth: 160, imageHeight: 120,
        textFeatureSize: [40, 30], geometricDim: 32, diffusionDim: 64, capabilityImagesPerClass: 2)
    public static let small = SyntheticPreset(
        name: "small", roomX: 4.5...6.0, roomY: 3.8...5.0, roomHeight: 2.5...2.8, furniture: 11...14, doors: 1...2,
        windows: 1...3, pictures: 2...4, pointDensity: 1000, frames: 40, imageWidth: 320, imageHeight: 240,
        textFeatureSize: [80, 60], geometricDim: 64, diffusionDim: 256, capabilityImagesPerClass: 6)
    public static let scannet = SyntheticPreset(
        name: "scannet", roomX: 4.5...6.5, roomY: 4.0...5.5, roomHeight: 2.5...2.9, furniture: 12...17, doors: 1...2,
        windows: 1...3, pictures: 2...5, pointDensity: 2000, frames: 120, imageWidth: 320, imageHeight: 240,
        textFeatureSize: [80, 60], geometricDim: 384, diffusionDim: 768, capabilityImagesPerClass: 10)

    public static let all = [tiny, small, scannet]

    public static func named(_ name: String) -> SyntheticPreset? {
        all.first { $0.name == name || ($0.name == "scannet" && name == "scannet-scale") }
    }
}
