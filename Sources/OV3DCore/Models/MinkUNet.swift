#if canImport(Glibc)
import Glibc
#endif

/// A MinkUNet with BatchNorm folded into its convolutions, ready for inference. Immutable after
/// construction and shareable across threads; each forward takes its own `Workspace`.
///
/// Graph (minkunet.md §2): 5³ stem, four 2×2×2 stride-2 encoder stages with BasicBlocks, four
/// transposed 2×2×2 decoder stages each concatenated (decoder first) with the encoder output of
/// the same stride, BasicBlocks, and 1×1 heads on the stride-1 trunk.
public final class MinkUNet: @unchecked Sendable {
    public let spec: MinkUNetSpec

    struct Block {
        var conv1: ConvWeights
        var conv2: ConvWeights
        var downsample: ConvWeights?
    }

    let stem: ConvWeights
    let down: [ConvWeights]   // conv1p1s2 ... conv4p8s2
    let up: [ConvWeights]     // convtr4p16s2 ... convtr7p2s2
    let stages: [[Block]]     // block1 ... block8
    /// Per `spec.heads` entry, a 1×1 map from the trunk (linear probes composed with the feature
    /// heads they read, `MinkUNetProbeHeads.swift`).
    let heads: [ConvWeights]

    /// Builds the network from a state dict: infers the architecture, validates every key and
    /// shape (errors list missing, unexpected and mismatched keys), folds BatchNorm.
    public convenience init(stateDict raw: StateDict) throws {
        try self.init(stateDict: raw, spec: MinkUNetSpec.infer(from: raw))
    }

    /// Builds the network of a given architecture from a state dict.
    public init(stateDict raw: StateDict, spec: MinkUNetSpec) throws {
        try spec.validate(raw)
        let sd = MinkUNetSpec.stripPrefix(raw)
        self.spec = spec
        func floats(_ key: String) throws -> [Float] { try sd.tensor(key).floats() }
        func conv(_ m: String, _ k: Int, _ cin: Int, _ cout: Int, bn: String?) throws -> ConvWeights {
            let w = try ConvWeights(kernelSize: k, cin: cin, cout: cout, weights: floats("\(m).kernel"))
            guard let bn else { return w }
            do {
                return try w.foldingBatchNorm(gamma: floats("\(bn).bn.weight"), beta: floats("\(bn).bn.bias"),
                                              mean: floats("\(bn).bn.running_mean"), variance: floats("\(bn).bn.running_var"))
            } catch let e as OV3DError { throw e.context("folding \(bn) into \(m)") }
        }
        func stage(_ b: Int, _ cin: Int, _ p: Int) throws -> [Block] {
            var inp = cin
            var out = [Block]()
            for i in 0..<spec.layers[b - 1] {
                let m = "block\(b).\(i)"
                let ds = (i == 0 && inp != p) ? try conv("\(m).downsample.0", 1, inp, p, bn: "\(m).downsample.1") : nil
                out.append(Block(conv1: try conv("\(m).conv1", 3, inp, p, bn: "\(m).norm1"),
                                 conv2: try conv("\(m).conv2", 3, p, p, bn: "\(m).norm2"), downsample: ds))
                inp = p
            }
            return out
        }
        let c0 = spec.initDim, p = spec.planes
        stem = try conv("conv0p1s1", 5, spec.inChannels, c0, bn: "bn0")
        down = [try conv("conv1p1s2", 2, c0, c0, bn: "bn1"), try conv("conv2p2s2", 2, p[0], p[0], bn: "bn2"),
                try conv("conv3p4s2", 2, p[1], p[1], bn: "bn3"), try conv("conv4p8s2", 2, p[2], p[2], bn: "bn4")]
        up = [try conv("convtr4p16s2", 2, p[3], p[4], bn: "bntr4"), try conv("convtr5p8s2", 2, p[4], p[5], bn: "bntr5"),
              try conv("convtr6p4s2", 2, p[5], p[6], bn: "bntr6"), try conv("convtr7p2s2", 2, p[6], p[7], bn: "bntr7")]
        let skips = [p[2], p[1], p[0], c0]
        var st = [[Block]]()
        st.append(try stage(1, c0, p[0]))
        for b in 2...4 { st.append(try stage(b, p[b - 2], p[b - 1])) }
        for b in 5...8 { st.append(try stage(b, p[b - 1] + skips[b - 5], p[b - 1])) }
        stages = st
        // Head biases (`<head>.bias`, [1, dim] or [dim]) are added after the product.
        func headWeights(_ h: MinkUNetSpec.Head, cin: Int) throws -> ConvWeights {
            try ConvWeights(kernelSize: 1, cin: cin, cout: h.dim, weights: floats("\(h.name).kernel"),
                            bias: h.bias ? floats("\(h.name).bias") : [])
        }
        let featureHeads = try spec.heads.filter { !$0.isProbe }.map { try headWeights($0, cin: p[7]) }
        var featureIndex = 0
        heads = try spec.heads.map { h in
            guard h.isProbe else { featureIndex += 1; return featureHeads[featureIndex - 1] }
            return try MinkUNet.composeProbe(h, spec: spec, featureHeads: featureHeads, probe: floats("\(h.name).kernel"),
                                             probeBias: h.bias ? floats("\(h.name).bias") : [])
        }
    }

    /// The result of a forward.
    public struct Output {
        /// Per head (in `spec.heads` order, or the selected heads), `rows × dim` row-major.
        public var heads: [[Float]]
        public var headIndices: [Int]
        public var rows: Int
        /// 2 · Σ pairs · cin · cout over every convolution (the FLOP count of the forward).
        public var flops: Double
        /// Pair counts per offset of every kernel map of the forward (`CoordinateManager.pairCounts`).
        public var pairCounts: [String: [Int]]
        /// Process CPU milliseconds per layer kind ("conv k3 96->96 @1", "kernel maps", ...), in
        /// first-use order.
        public var profile: [(String, Double)] = []
    }

    /// Runs the network on unique voxel coordinates (x y z per row) with `inChannels` input
    /// features per row. Output rows follow the input rows. `headSelection` nil = all heads.
    public func forward(coords: [Int32], features: [Float], headSelection: [Int]? = nil, threads: Int,
                        workspace: Workspace, progress: Progress = .none) throws -> Output {
        try Threads.withBLASThreads(threads) {
            try forwardBody(coords: coords, features: features, headSelection: headSelection, threads: threads,
                            workspace: workspace, progress: progress)
        }
    }

    private func forwardBody(coords: [Int32], features: [Float], headSelection: [Int]?, threads: Int,
                             workspace: Workspace, progress: Progress) throws -> Output {
        let n = coords.count / 3
        try require(coords.count == 3 * n && n > 0, "no voxels")
        try require(features.count == n * spec.inChannels,
                    "input features hold \(features.count) values, expected \(n) × \(spec.inChannels)")
        let selected = headSelection ?? Array(heads.indices)
        for h in selected { try require(h >= 0 && h < heads.count, "head index \(h) out of range 0..<\(heads.count)") }
        // Run in Morton order (cache locality of gathers); results are permuted back at the end.
        for r in 0..<n {
            try require(CoordinateKey.inRange(coords[3 * r], coords[3 * r + 1], coords[3 * r + 2]),
                        "voxel coordinate (\(coords[3 * r]), \(coords[3 * r + 1]), \(coords[3 * r + 2])) of row \(r) is beyond ±2^20")
        }
        let order = SpatialOrder.morton(coords)
        var sortedCoords = try Memory.array(repeating: Int32(0), count: 3 * n, what: "voxel coordinates in spatial order")
        for (i, r) in order.enumerated() {
            for a in 0..<3 { sortedCoords[3 * i + a] = coords[3 * Int(r) + a] }
        }
        let input: CoordinateMap
        do { input = try CoordinateMap(unique: sortedCoords) } catch let e as OV3DError {
            throw OV3DError(e.status, e.message + " (rows in spatial order)")
        }
        let cm = CoordinateManager(input: input, threads: threads, workspace: workspace)
        var flops = 0.0
        let blockCount: Int = spec.layers.reduce(0, +)
        let totalSteps = Float(10 + blockCount)
        var step: Float = 0
        func tick(_ stage: String) throws { step += 1; try progress.report(step / totalSteps, stage) }

        var profile = [(String, Double)]()
        func account(_ name: String, _ ms: Double) {
            if let i = profile.firstIndex(where: { $0.0 == name }) { profile[i].1 += ms } else { profile.append((name, ms)) }
        }
        func cpuMs() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
            return Double(t.tv_sec) * 1000 + Double(t.tv_nsec) / 1e6
        }
        func conv(_ x: FeatureMatrix, _ w: ConvWeights, _ kmFn: @autoclosure () throws -> KernelMap,
                  epilogue: SparseConvolution.Epilogue = .none) throws -> FeatureMatrix {
            let c0 = cpuMs()
            let km = try kmFn()
            let c1 = cpuMs()
            account("kernel maps", c1 - c0)
            let out = try workspace.matrix(rows: km.outCount, cols: w.cout)
            try SparseConvolution.forward(x, weights: w, map: km, into: out, workspace: workspace, threads: threads,
                                          epilogue: epilogue)
            account("conv k\(w.kernelSize) \(w.cin)->\(w.cout) (\(km.outCount) rows)", cpuMs() - c1)
            flops += 2 * Double(km.totalPairs) * Double(w.cin) * Double(w.cout)
            return out
        }
        func block(_ x: FeatureMatrix, _ b: Block, ts: Int32) throws -> FeatureMatrix {
            let c0 = cpuMs()
            let km = try cm.kernelMap(kernelSize: 3, inStride: ts, stride: 1)
            account("kernel maps", cpuMs() - c0)
            let y = try conv(x, b.conv1, km, epilogue: .relu)
            if let ds = b.downsample {
                let r = try conv(x, ds, try cm.kernelMap(kernelSize: 1, inStride: ts, stride: 1))
                let z = try conv(y, b.conv2, km, epilogue: .addRelu(r))
                workspace.recycle(r)
                workspace.recycle(y)
                return z
            }
            let z = try conv(y, b.conv2, km, epilogue: .addRelu(x))
            workspace.recycle(y)
            return z
        }
        /// Runs a stage; recycles its input unless `keepInput`.
        func stage(_ x: FeatureMatrix, _ s: Int, ts: Int32, keepInput: Bool) throws -> FeatureMatrix {
            var cur = x
            for (i, b) in stages[s].enumerated() {
                let next = try block(cur, b, ts: ts)
                if i > 0 || !keepInput { workspace.recycle(cur) }
                cur = next
                try tick("block\(s + 1)")
            }
            return cur
        }

        // Encoder.
        let x0 = try workspace.matrix(rows: n, cols: spec.inChannels)
        let cin = spec.inChannels
        features.withUnsafeBufferPointer { f in
            for (i, r) in order.enumerated() { (x0.data + i * cin).update(from: f.baseAddress! + Int(r) * cin, count: cin) }
        }
        let p1 = try conv(x0, stem, try cm.kernelMap(kernelSize: 5, inStride: 1, stride: 1), epilogue: .relu)
        workspace.recycle(x0)
        try tick("conv0p1s1")
        var skips = [p1]
        var x = p1
        var ts: Int32 = 1
        for l in 0..<4 {
            let d = try conv(x, down[l], try cm.kernelMap(kernelSize: 2, inStride: ts, stride: 2), epilogue: .relu)
            ts *= 2
            try tick("down\(l + 1)")
            x = try stage(d, l, ts: ts, keepInput: false)
            if l < 3 { skips.append(x) }
        }
        // Decoder.
        for l in 0..<4 {
            let u = try conv(x, up[l], try cm.transposedKernelMap(kernelSize: 2, inStride: ts, stride: 2), epilogue: .relu)
            workspace.recycle(x)
            ts /= 2
            let skip = skips.removeLast()
            let c = try workspace.matrix(rows: u.rows, cols: u.cols + skip.cols)
            try Elementwise.concat(u, skip, into: c, threads: threads)
            workspace.recycle(u); workspace.recycle(skip)
            try tick("up\(l + 1)")
            x = try stage(c, 4 + l, ts: ts, keepInput: false)
        }
        // Heads: 1×1 convolutions (dense GEMMs) on the trunk rows put back in the caller's order,
        // written straight into the output arrays.
        _ = try cm.kernelMap(kernelSize: 1, inStride: 1, stride: 1)   // recorded for the pair counts
        let trunk = try workspace.matrix(rows: n, cols: x.cols)
        let c7 = x.cols
        for (i, r) in order.enumerated() { (trunk.data + Int(r) * c7).update(from: x.data + i * c7, count: c7) }
        var outs = [[Float]]()
        for h in selected {
            let w = heads[h]
            try Memory.reserve(Float.self, count: n * w.cout, what: "head \(h) output (\(n) × \(w.cout))")
            var o = [Float](unsafeUninitializedCapacity: n * w.cout) { buf, done in
                w.weights.withUnsafeBufferPointer { wp in
                    GEMM.sgemm(m: n, n: w.cout, k: c7, a: trunk.data, lda: c7, b: wp.baseAddress!, ldb: w.cout,
                               beta: 0, c: buf.baseAddress!, ldc: w.cout, kernels: workspace.kernels)
                }
                done = n * w.cout
            }
            if !w.bias.isEmpty {
                for r in 0..<n { for c in 0..<w.cout { o[r * w.cout + c] += w.bias[c] } }
            }
            flops += 2 * Double(n) * Double(w.cin) * Double(w.cout)
            outs.append(o)
        }
        workspace.recycle(trunk)
        workspace.recycle(x)
        try tick("heads")
        return Output(heads: outs, headIndices: selected, rows: n, flops: flops, pairCounts: cm.pairCounts, profile: profile)
    }
}
