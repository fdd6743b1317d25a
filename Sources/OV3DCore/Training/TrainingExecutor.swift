/// A value of the training graph: one feature matrix in the network's workspace, returned to the
/// workspace when nothing (the walk, or a backward step that needs it) holds it any more.
final class TrainingValue {
    let matrix: FeatureMatrix
    let id: Int
    /// False for the network input (no gradient is computed for it).
    let needsGrad: Bool
    unowned let workspace: Workspace

    init(_ matrix: FeatureMatrix, id: Int, needsGrad: Bool = true, workspace: Workspace) {
        self.matrix = matrix; self.id = id; self.needsGrad = needsGrad; self.workspace = workspace
    }
    deinit { workspace.recycle(matrix) }
}

/// Gradients of values during a backward, keyed by value id; each taken once by the step that
/// produced the value (its last consumer in reverse order) and then freed.
final class GradientStore {
    private var grads: [Int: FeatureMatrix] = [:]
    let workspace: Workspace
    let threads: Int
    init(workspace: Workspace, threads: Int) { self.workspace = workspace; self.threads = threads }

    /// Adds `g` (ownership passes to the store) into the gradient of value `id`.
    func accumulate(_ id: Int, _ g: FeatureMatrix) {
        guard let cur = grads[id] else { grads[id] = g; return }
        let p = UncheckedSendable((cur.data, g.data))
        parallelFor(cur.count, threads: threads, minChunk: 1 << 16) { r in
            let (d, s) = p.value
            for i in r { d[i] += s[i] }
        }
        workspace.recycle(g)
    }

    /// The gradient of value `id` (ownership to the caller), nil when no loss depends on it.
    func take(_ id: Int) -> FeatureMatrix? { grads.removeValue(forKey: id) }

    /// Frees whatever is left (gradients of values nothing consumed).
    func clear() { for (_, g) in grads { workspace.recycle(g) }; grads.removeAll() }
}

/// What a backward step sees: the parameter values and gradients (flat, `ParameterSet` layout)
/// and the gradient store.
struct BackwardContext {
    let values: UnsafePointer<Float>
    let grads: UnsafeMutablePointer<Float>
    let store: GradientStore
}

/// The fast executor of the MinkUNet walk for training: Float feature matrices, the AVX-512 row
/// kernels (or OpenBLAS), BatchNorm unfolded (`BatchNormTraining`), and a tape of backward steps
/// that holds exactly the values each step needs (a convolution's input, BN's input, the ReLU
/// output for its mask, a head's input) and frees them as backward runs.
final class TrainingExecutor: MinkUNetExecutor {
    typealias Value = TrainingValue
    typealias Step = (BackwardContext) throws -> Void

    let network: TrainableMinkUNet
    let cm: CoordinateManager
    let workspace: Workspace
    let threads: Int
    let training: Bool
    /// Parameter values during the forward (borrowed from the ParameterSet).
    let values: UnsafePointer<Float>
    private(set) var tape: [Step] = []
    private var nextID = 0

    init(network: TrainableMinkUNet, cm: CoordinateManager, values: UnsafePointer<Float>, threads: Int) {
        self.network = network; self.cm = cm; self.values = values; self.threads = threads
        self.workspace = network.workspace; self.training = network.training
    }

    func value(rows: Int, cols: Int, needsGrad: Bool = true) throws -> TrainingValue {
        nextID += 1
        return TrainingValue(try workspace.matrix(rows: rows, cols: cols), id: nextID, needsGrad: needsGrad, workspace: workspace)
    }

    func takeTape() -> [Step] { defer { tape = [] }; return tape }

    /// Forward and gradient maps of a convolution.
    func maps(_ conv: MinkUNetConv) throws -> (forward: KernelMap, grad: KernelMap, mirrored: Bool)? {
        let ts = conv.inStride
        switch conv.kind {
        case .submanifold(let k):
            let km = try cm.kernelMap(kernelSize: k, inStride: ts, stride: 1)
            return (km, km, true)
        case .down:
            return (try cm.kernelMap(kernelSize: 2, inStride: ts, stride: 2),
                    try cm.transposedKernelMap(kernelSize: 2, inStride: ts * 2, stride: 2), false)
        case .up:
            return (try cm.transposedKernelMap(kernelSize: 2, inStride: ts, stride: 2),
                    try cm.kernelMap(kernelSize: 2, inStride: ts / 2, stride: 2), false)
        case .dense:
            return nil
        }
    }

    /// `z = conv(x)` (no bias) with the weights at `w`.
    func convolve(_ x: TrainingValue, _ conv: MinkUNetConv, weights w: UnsafePointer<Float>) throws -> TrainingValue {
        if let (km, _, _) = try maps(conv) {
            let z = try value(rows: km.outCount, cols: conv.cout)
            try SparseConvolution.forward(x.matrix, volume: conv.volume, cin: conv.cin, cout: conv.cout, weights: w,
                                          bias: UnsafeBufferPointer(start: nil, count: 0), map: km, into: z.matrix,
                                          workspace: workspace, threads: threads)
            return z
        }
        let rows = x.matrix.rows
        let z = try value(rows: rows, cols: conv.cout)
        GEMM.sgemm(m: rows, n: conv.cout, k: conv.cin, a: x.matrix.data, lda: conv.cin, b: w, ldb: conv.cout,
                   beta: 0, c: z.matrix.data, ldc: conv.cout, kernels: workspace.kernels)
        return z
    }

    /// Backward of `z = conv(x)`: adds dW into `grads`, returns dX (nil when x needs none).
    static func convBackward(_ dZ: FeatureMatrix, x: TrainingValue, conv: MinkUNetConv, maps: (forward: KernelMap, grad: KernelMap, mirrored: Bool)?,
                             weights w: UnsafePointer<Float>, dW: UnsafeMutablePointer<Float>,
                             workspace: Workspace, threads: Int) throws -> FeatureMatrix? {
        let kernels = workspace.kernels
        if let maps {
            try SparseConvolutionBackward.weightGradient(x.matrix, dZ, map: maps.forward, into: dW, kernels: kernels, threads: threads)
            guard x.needsGrad else { return nil }
            let dX = try workspace.matrix(rows: x.matrix.rows, cols: conv.cin)
            try SparseConvolutionBackward.inputGradient(dZ, weights: w, volume: conv.volume, cin: conv.cin, cout: conv.cout,
                                                        gradMap: maps.grad, mirrored: maps.mirrored, into: dX,
                                                        workspace: workspace, threads: threads)
            return dX
        }
        try SparseConvolutionBackward.denseWeightGradient(x.matrix, dZ, into: dW, kernels: kernels, threads: threads)
        guard x.needsGrad else { return nil }
        let rows = dZ.rows, cin = conv.cin, cout = conv.cout
        let t = try workspace.buffer(capacity: cin * cout)
        defer { workspace.recycle(t) }
        for i in 0..<cin { for o in 0..<cout { t.pointer[o * cin + i] = w[i * cout + o] } }
        let dX = try workspace.matrix(rows: rows, cols: cin)
        GEMM.sgemm(m: rows, n: cin, k: cout, a: dZ.data, lda: cout, b: t.pointer, ldb: cin, beta: 0,
                   c: dX.data, ldc: cin, kernels: kernels)
        return dX
    }

    func convBN(_ x: TrainingValue, _ conv: MinkUNetConv, bn: String, relu: Bool, residual: TrainingValue?) throws -> TrainingValue {
        let ps = network.parameters
        let wEntry = try ps.require(conv.name + ".kernel")
        let gEntry = try ps.require(bn + ".bn.weight"), bEntry = try ps.require(bn + ".bn.bias")
        let w = values + wEntry.offset
        let maps = try self.maps(conv)
        let z = try convolve(x, conv, weights: w)
        let c = conv.cout
        // Normalising statistics.
        var mean = [Float](repeating: 0, count: c), invStd = [Float](repeating: 0, count: c)
        guard let buffers = network.batchNorms[bn] else { throw OV3DError.internal("no BatchNorm '\(bn)'") }
        if training {
            let n = z.matrix.rows
            guard n > 1 else {
                throw OV3DError.invalidArgument("BatchNorm '\(bn)' in training mode needs more than 1 row per channel, got \(n) (torch: \"Expected more than 1 value per channel when training\")")
            }
            let st = BatchNormTraining.statistics(z.matrix, threads: threads)
            let m = BatchNormTraining.momentum
            for j in 0..<c {
                mean[j] = Float(st.mean[j])
                invStd[j] = Float(1 / (st.variance[j] + BatchNormTraining.eps).squareRoot())
                let unbiased = Float(st.variance[j] * Double(n) / Double(n - 1))
                buffers.runningMean[j] = (1 - m) * buffers.runningMean[j] + m * mean[j]
                buffers.runningVar[j] = (1 - m) * buffers.runningVar[j] + m * unbiased
            }
            buffers.tracked += 1
        } else {
            for j in 0..<c {
                mean[j] = buffers.runningMean[j]
                invStd[j] = Float(1 / (Double(buffers.runningVar[j]) + BatchNormTraining.eps).squareRoot())
            }
        }
        var scale = [Float](repeating: 0, count: c), shift = [Float](repeating: 0, count: c)
        for j in 0..<c {
            let g = values[gEntry.offset + j], b = values[bEntry.offset + j]
            scale[j] = g * invStd[j]
            shift[j] = b - mean[j] * scale[j]
        }
        let a = try value(rows: z.matrix.rows, cols: c)
        BatchNormTraining.apply(z.matrix, scale: scale, shift: shift, residual: residual?.matrix, relu: relu,
                                into: a.matrix, threads: threads)
        let training = self.training, threads = self.threads, ws = workspace
        let residualID = residual?.id, aID = a.id
        // Backward: ReLU mask (from the output), residual gradient, BN, convolution.
        let aRef: TrainingValue? = relu ? a : nil
        tape.append { ctx in
            guard let dA = ctx.store.take(aID) else { return }
            if let aRef { BatchNormTraining.maskRelu(dA, output: aRef.matrix, threads: threads) }
            let dZ = try ws.matrix(rows: dA.rows, cols: c)
            BatchNormTraining.backward(dA, input: z.matrix, mean: mean, invStd: invStd, gamma: ctx.values + gEntry.offset,
                                       training: training, dGamma: ctx.grads + gEntry.offset, dBeta: ctx.grads + bEntry.offset,
                                       into: dZ, threads: threads)
            if let residualID { ctx.store.accumulate(residualID, dA) } else { ws.recycle(dA) }
            let dX = try TrainingExecutor.convBackward(dZ, x: x, conv: conv, maps: maps, weights: ctx.values + wEntry.offset,
                                                       dW: ctx.grads + wEntry.offset, workspace: ws, threads: threads)
            ws.recycle(dZ)
            if let dX { ctx.store.accumulate(x.id, dX) }
        }
        return a
    }

    func concat(_ parts: [TrainingValue]) throws -> TrainingValue {
        let rows = parts[0].matrix.rows
        for p in parts where p.matrix.rows != rows {
            throw OV3DError.internal("concat rows disagree: \(p.matrix.rows) vs \(rows)")
        }
        let widths = parts.map { $0.matrix.cols }
        let total = widths.reduce(0, +)
        let out = try value(rows: rows, cols: total)
        var col = 0
        for p in parts {
            copyColumns(from: p.matrix, colOffset: 0, into: out.matrix, colOffset: col, cols: p.matrix.cols)
            col += p.matrix.cols
        }
        let ids = parts.map { $0.id }, needs = parts.map { $0.needsGrad }
        let outID = out.id, ws = workspace, threads = self.threads
        tape.append { ctx in
            guard let g = ctx.store.take(outID) else { return }
            var c0 = 0
            for (i, w) in widths.enumerated() {
                if needs[i] {
                    let d = try ws.matrix(rows: rows, cols: w)
                    TrainingExecutor.copyColumnsStatic(from: g, colOffset: c0, into: d, colOffset: 0, cols: w, threads: threads)
                    ctx.store.accumulate(ids[i], d)
                }
                c0 += w
            }
            ws.recycle(g)
        }
        return out
    }

    func copyColumns(from s: FeatureMatrix, colOffset so: Int, into d: FeatureMatrix, colOffset dOff: Int, cols: Int) {
        TrainingExecutor.copyColumnsStatic(from: s, colOffset: so, into: d, colOffset: dOff, cols: cols, threads: threads)
    }

    static func copyColumnsStatic(from s: FeatureMatrix, colOffset so: Int, into d: FeatureMatrix, colOffset dOff: Int, cols: Int, threads: Int) {
        let sc = s.cols, dc = d.cols
        let p = UncheckedSendable((s.data, d.data))
        parallelFor(s.rows, threads: threads, minChunk: 4096) { r in
            let (sp, dp) = p.value
            for i in r { (dp + i * dc + dOff).update(from: sp + i * sc + so, count: cols) }
        }
    }

    func head(_ x: TrainingValue, _ conv: MinkUNetConv) throws -> TrainingValue {
        let ps = network.parameters
        let wEntry = try ps.require(conv.name + ".kernel")
        let bEntry = conv.bias ? try ps.require(conv.name + ".bias") : nil
        let z = try convolve(x, conv, weights: values + wEntry.offset)
        let rows = z.matrix.rows, c = conv.cout
        if let bEntry {
            let b = values + bEntry.offset
            for r in 0..<rows { let o = z.matrix.data + r * c; for j in 0..<c { o[j] += b[j] } }
        }
        let zID = z.id, ws = workspace, threads = self.threads
        tape.append { ctx in
            guard let g = ctx.store.take(zID) else { return }
            if let bEntry {
                let db = ctx.grads + bEntry.offset
                let sums = BatchNormTraining.channelSums(rows: rows, cols: c, threads: threads) { r, acc in
                    for i in r { let row = g.data + i * c; for j in 0..<c { acc[j] += row[j] } }
                }
                for j in 0..<c { db[j] += Float(sums[j]) }
            }
            let dX = try TrainingExecutor.convBackward(g, x: x, conv: conv, maps: nil, weights: ctx.values + wEntry.offset,
                                                       dW: ctx.grads + wEntry.offset, workspace: ws, threads: threads)
            ws.recycle(g)
            if let dX { ctx.store.accumulate(x.id, dX) }
        }
        return z
    }
}
