import ArgumentParser
import Foundation
import OV3DCore

/// `ov3d features`: dump MinkUNet features so any reference can be compared from outside.
///
///     ov3d features --checkpoint FILE --points FILE.npy --voxel-size S --out OUT.npy
///     ov3d features --checkpoint FILE --voxel-coords COORDS.npy [--input-features FEATS.npy] --out OUT.npy
struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Run a MinkUNet checkpoint and write its output features as .npy.",
        discussion: """
        With --points (N×3 float, metres) the cloud is voxelised as OpenScene does (float64, no \
        augmentation) and one row per point is written (voxel features through the inverse map). \
        With --voxel-coords (N×3, or N×4 batch-first, unique int32 voxel coordinates) one row per \
        input row is written, in input order; input features default to ones. The architecture \
        (MinkUNet14A...34C, any widths, heads) is read from the checkpoint's keys and shapes.
        """)

    @Option(help: "MinkUNet state dict (safetensors; torch .pth once the checkpoint reader is merged).")
    var checkpoint: String
    @Option(help: "N×3 float32/float64 points (.npy).")
    var points: String?
    @Option(help: "Voxel size in metres for --points (0.02 indoor, 0.05 outdoor; default: the one recorded in a converted checkpoint).")
    var voxelSize: Double?
    @Option(help: "N×3 or N×4 (batch x y z) int32 voxel coordinates (.npy; other integer dtypes are converted when every value fits int32).")
    var voxelCoords: String?
    @Option(help: "N×C input features for --voxel-coords, finite, converted to float32 (default: ones).")
    var inputFeatures: String?
    @Option(help: "Output .npy (float32, rows × head dim).")
    var out: String
    @Option(help: "Output head name or index (default: the first, `final`); CUA-O3D probe heads (`final_seg`, `final_seg_lseg`, ...) give class logits.")
    var head: String?
    @Flag(help: "L2-normalise every output row.")
    var normalize = false
    @Option(help: "Threads (0 = all cores).")
    var threads: Int = 0
    @OptionGroup var memory: MemoryOption
    @Option(help: "Run the forward this many times and print timings as JSON to stderr (benchmarks).")
    var `repeat`: Int = 1

    func validate() throws {
        guard (points == nil) != (voxelCoords == nil) else {
            throw ValidationError("give exactly one of --points or --voxel-coords")
        }
        if voxelCoords != nil && voxelSize != nil { throw ValidationError("--voxel-size applies to --points only") }
        if points != nil && inputFeatures != nil { throw ValidationError("--input-features applies to --voxel-coords only") }
        guard (0...256).contains(threads) else { throw ValidationError("--threads must be 0...256") }
        guard (1...1000).contains(`repeat`) else { throw ValidationError("--repeat must be 1...1000") }
    }

    func run() throws {
        do { try execute() } catch let e as OV3DError {
            FileHandle.standardError.write(Data("ov3d features: \(e.message)\n".utf8))
            throw ExitCode(Int32(-e.status.rawValue))
        }
    }

    func execute() throws {
        let n = Threads.resolve(threads)
        Threads.setBLASThreads(n)
        let t0 = Date()
        let segmenter = try Segmenter.load(path: checkpoint)
        let model = segmenter.model
        let loadMs = Date().timeIntervalSince(t0) * 1000
        let h = try headIndex(model)
        let dim = model.spec.heads[h].dim
        let ws = memory.workspace()
        var times = [Double](), cpu = [Double]()
        var rows: [Float] = []
        var rowCount = 0
        var voxels = 0
        var flops = 0.0
        if let points {
            guard let voxelSize = voxelSize ?? segmenter.recordedVoxelSize else {
                throw OV3DError.invalidArgument("--points needs --voxel-size (\(checkpoint) records none; `ov3d convert --voxel-size` records one)")
            }
            let t = try NPY.read(path: points)
            try require(t.rank == 2 && t.shape[1] == 3 && t.dtype.isFloatingPoint,
                        "\(points): expected an N×3 float array, got \(t.dtype.rawValue) \(t.shape)")
            let pos = t.floats()
            var result: MinkUNet.PointResult?
            for _ in 0..<`repeat` {
                let s = Date(), c = cpuMs()
                // Three per-point copies of the output rows: the features, the tensor, its bytes.
                result = try model.run(points: pos, voxelSize: voxelSize, headSelection: [h], threads: n, workspace: ws,
                                       outputCopies: 3)
                times.append(Date().timeIntervalSince(s) * 1000)
                cpu.append(cpuMs() - c)
            }
            rows = try result!.pointFeatures(head: 0, normalized: normalize, threads: n)
            rowCount = result!.pointCount
            voxels = result!.voxels.voxelCount
            flops = result!.output.flops
        } else if let voxelCoords {
            let t = try NPY.read(path: voxelCoords)
            try require(t.rank == 2 && (t.shape[1] == 3 || t.shape[1] == 4) && !t.dtype.isFloatingPoint,
                        "\(voxelCoords): expected an N×3 or N×4 integer array, got \(t.dtype.rawValue) \(t.shape)")
            let wide = try t.int64s()
            var c = [Int32]()
            c.reserveCapacity(wide.count)
            for v in wide {
                try require(v >= Int64(Int32.min) && v <= Int64(Int32.max), "\(voxelCoords): coordinate \(v) does not fit int32")
                c.append(Int32(v))
            }
            var feats: [Float]? = nil
            if let inputFeatures {
                let f = try NPY.read(path: inputFeatures)
                try require(f.rank == 2 && f.shape[0] == t.shape[0] && f.shape[1] == model.spec.inChannels,
                            "\(inputFeatures): expected \(t.shape[0])×\(model.spec.inChannels) features, got \(f.shape)")
                feats = f.floats()
                if let bad = feats!.firstIndex(where: { !$0.isFinite }) {
                    throw OV3DError.invalidArgument("\(inputFeatures): element \(bad) (row \(bad / model.spec.inChannels)) is NaN or Inf")
                }
            }
            var out: MinkUNet.Output?
            for _ in 0..<`repeat` {
                let s = Date(), c0 = cpuMs()
                out = try model.run(voxelCoords: c, columns: t.shape[1], features: feats, headSelection: [h],
                                    threads: n, workspace: ws)
                times.append(Date().timeIntervalSince(s) * 1000)
                cpu.append(cpuMs() - c0)
            }
            if ProcessInfo.processInfo.environment["OV3D_PROFILE"] != nil {
                for (k, v) in out!.profile { FileHandle.standardError.write(Data(String(format: "%8.1f ms CPU  %@\n", v, k).utf8)) }
            }
            rows = out!.heads[0]
            if normalize { Elementwise.l2NormalizeRows(&rows, cols: dim, threads: n) }
            rowCount = out!.rows
            voxels = out!.rows
            flops = out!.flops
        }
        try NPY.write(try Tensor(rows, shape: [rowCount, dim]), path: out)
        if `repeat` > 1 || ProcessInfo.processInfo.environment["OV3D_FEATURES_STATS"] != nil {
            var ru = rusage()
            getrusage(RUSAGE_SELF.rawValue, &ru)
            let ms = times.map { String(format: "%.3f", $0) }.joined(separator: ",")
            let cms = cpu.map { String(format: "%.3f", $0) }.joined(separator: ",")
            let stats = "{\"variant\":\"\(model.spec.variantName)\",\"threads\":\(n),\"voxels\":\(voxels),\"rows\":\(rowCount),\"flops\":\(Int(flops)),\"load_ms\":\(String(format: "%.1f", loadMs)),\"ms\":[\(ms)],\"cpu_ms\":[\(cms)],\"peak_rss_mb\":\(ru.ru_maxrss / 1024),\"workspace_peak_mb\":\(ws.peakBytes >> 20),\"projected_peak_mb\":\(model.projectedPeak(points: points == nil ? 0 : rowCount, voxels: voxels, headSelection: [h], outputCopies: points == nil ? 1 : 3).bytes >> 20)}\n"
            FileHandle.standardError.write(Data(stats.utf8))
        }
    }

    /// CPU time of the process (all threads) in milliseconds.
    func cpuMs() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) * 1000 + Double(t.tv_nsec) / 1e6
    }

    func headIndex(_ model: MinkUNet) throws -> Int {
        guard let head else { return 0 }
        if let i = model.spec.heads.firstIndex(where: { $0.name == head }) { return i }
        if let i = Int(head), i >= 0, i < model.spec.heads.count { return i }
        throw OV3DError.invalidArgument("no head '\(head)'; the checkpoint has \(model.spec.heads.map(\.name).joined(separator: ", "))")
    }
}
