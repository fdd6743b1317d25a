import ArgumentParser
import Foundation
import OV3DCore

/// `ov3d render INPUT [--labels L.npy --names ...] [--scores S.npy] --png P.png [--view auto|top|x,y,z]`:
/// a picture of a point cloud through the library's `SceneRenderer`.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render a point cloud (its colours, labels with a legend, or scores as a heat-map) to a PNG.",
        discussion: """
        INPUT is any point file ov3d reads (PLY, PCD, npy N×3/N×6, .bin LiDAR). Points with NaN \
        coordinates are skipped; --labels and --scores hold one value per point of the file \
        (as `ov3d segment` writes them, −1 for skipped points). Without either, the file's RGB \
        is drawn (grey when it has none). --names gives the label names: several words, one \
        comma-separated word, a built-in label set (\(LabelSet.builtinNames.joined(separator: ", "))) \
        or a .txt file with one name per line. --view auto frames the scene from above one \
        corner (z up); top looks straight down; x,y,z is the direction from the scene centre \
        to the camera (the distance is always chosen to frame the scene).
        """)

    @Argument(help: "Point cloud: PLY, PCD, npy or .bin.") var input: String
    @Option(help: "int32 (any integer dtype) label per point (.npy); −1 = unlabelled.") var labels: String?
    @Option(parsing: .upToNextOption, help: "Label names (index = label): words, a comma list, a label set name or a .txt file.")
    var names: [String] = []
    @Option(help: "float score per point (.npy, float16/32/64); NaN = skipped.") var scores: String?
    @Option(help: "Title of the colour bar in --scores mode (e.g. the query).") var scoreTitle: String?
    @Option(help: "Output PNG.") var png: String
    @Option(help: "auto | top | x,y,z (direction from the scene centre to the camera).") var view: String = "auto"
    @Option(help: "Picture width in pixels.") var width: Int = 1280
    @Option(help: "Picture height in pixels.") var height: Int = 960
    @Option(help: "Text at the top left of the picture.") var title: String?
    @Option(help: "Multiplies the density-derived splat sizes.") var splatScale: Float = 1

    func validate() throws {
        if labels != nil && scores != nil { throw ValidationError("give --labels or --scores, not both") }
        if !names.isEmpty && labels == nil { throw ValidationError("--names needs --labels") }
        guard (16...8192).contains(width), (16...8192).contains(height) else {
            throw ValidationError("--width and --height must be 16...8192")
        }
    }

    func run() throws {
        do { try execute() } catch let e as OV3DError {
            writeStderr("ov3d render: \(e.message)\n")
            throw ExitCode(e.status == .invalidArgument ? 2 : 1)
        }
    }

    func execute() throws {
        try requireValidUTF8Arguments()
        var readOptions = CloudReadOptions()
        readOptions.nanPolicy = .drop
        let loaded = try CloudFile.read(input, options: readOptions)
        let fileCount = loaded.indexMap.isEmpty ? loaded.cloud.count : nil
        var options = RenderOptions()
        options.width = width
        options.height = height
        options.viewpoint = try Viewpoint(parsing: view)
        options.title = title
        options.splatScale = splatScale

        /// Values given per point of the file, restricted to the points kept.
        func perKeptPoint<T>(_ values: [T], _ what: String) throws -> [T] {
            if let fileCount {
                try require(values.count == fileCount, "\(what): \(values.count) values for \(fileCount) points in \(input)")
                return values
            }
            let kept = loaded.indexMap.map { Int($0) }
            let total = (kept.last ?? -1) + 1
            try require(values.count >= total, "\(what): \(values.count) values, but \(input) has at least \(total) points")
            return kept.map { values[$0] }
        }

        let coloring: PointColoring
        if let labels {
            let t = try NPY.read(path: labels)
            try require(t.rank == 1 || (t.rank == 2 && t.shape[1] == 1), "--labels: expected one label per point, shape \(t.shape)")
            let raw = try t.int64s()
            var l = [Int32](repeating: -1, count: raw.count)
            for (i, v) in raw.enumerated() {
                try require(v >= -1 && v < Int64(Int32.max), "--labels: value \(v) at \(i) is not a label (−1 or 0...)")
                l[i] = Int32(v)
            }
            coloring = .labels(try perKeptPoint(l, "--labels"), names: try resolveNames())
        } else if let scores {
            let t = try NPY.read(path: scores)
            try require(t.dtype.isFloatingPoint, "--scores: expected floats, got \(t.dtype.rawValue)")
            try require(t.rank == 1 || (t.rank == 2 && t.shape[1] == 1), "--scores: expected one score per point, shape \(t.shape)")
            coloring = .scores(try perKeptPoint(t.floats(), "--scores"), title: scoreTitle)
        } else {
            coloring = .rgb
        }
        do { try SceneRenderer.writePNG(loaded.cloud, coloring: coloring, options: options, to: png) } catch let e as OV3DError {
            throw e.status == .io ? e : e.context(input)
        }
    }

    /// --names as words, a comma list, a label set or a .txt file.
    func resolveNames() throws -> [String] {
        guard names.count == 1, let one = names.first else { return names }
        if let set = LabelSet.named(one) { return set.classNames }
        if one.lowercased().hasSuffix(".txt") {
            let text = try String(decoding: FileIO.read(one, maxBytes: 1 << 24), as: UTF8.self)
            return text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { String($0).trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        }
        return one.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
    }
}
