import Testing
@testable import OV3DCore

/// The backward of every training op: the float64 references against central finite
/// differences (h = 1e-6, max error ≤ 1e-6 of the largest gradient), then the fast Float ops
/// (AVX-512 and OpenBLAS paths) against the references (≤ 1e-5 of the largest value).
@Suite struct TrainingOpsTests {
    /// Unique voxels (batch, x, y, z) of `scenes` random scenes in a `side`³ box.
    static func cloud(_ rng: inout SplitMix64, scenes: Int, side: Int32, fill: Float) -> [[Int32]] {
        var out = [[Int32]]()
        for b in 0..<scenes {
            for z in 0..<side { for y in 0..<side { for x in 0..<side where rng.uniform(0...1) < fill {
                out.append([Int32(b), x - side / 2, y - 3, z + 1])
            } } }
        }
        return out
    }

    static func randoms(_ rng: inout SplitMix64, _ n: Int) -> [Double] { (0..<n).map { _ in Double(rng.uniform(-1...1)) } }

    static func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    @Test func referenceConvolutionGradientsMatchFiniteDifferences() {
        var rng = SplitMix64(seed: 3)
        let coords = Self.cloud(&rng, scenes: 2, side: 5, fill: 0.35)
        let m1 = RefMap(coords), m2 = m1.strided(2)
        let cases: [(String, RefPairs)] = [
            ("submanifold 3", refSubmanifoldPairs(m1, ks: 3, ts: 1)),
            ("submanifold 5", refSubmanifoldPairs(m1, ks: 5, ts: 1)),
            ("down 2", refDownPairs(fine: m1, coarse: m2, ts: 1)),
            ("up 2", refSwap(refDownPairs(fine: m1, coarse: m2, ts: 1))),
        ]
        let cin = 2, cout = 3
        for (name, p) in cases {
            let x = Self.randoms(&rng, p.inCount * cin), w = Self.randoms(&rng, p.volume * cin * cout)
            let g = Self.randoms(&rng, p.outCount * cout)
            let (dx, dw) = refConvBackward(x, cin: cin, w, cout: cout, p, dy: g)
            let fdX = centralDifferences(x, indices: Array(x.indices)) { Self.dot(refConv($0, cin: cin, w, cout: cout, p), g) }
            let wIdx = Array(stride(from: 0, to: w.count, by: max(1, w.count / 60)))
            let fdW = centralDifferences(w, indices: wIdx) { Self.dot(refConv(x, cin: cin, $0, cout: cout, p), g) }
            #expect(maxRelativeError(dx, fdX) < 1e-6, "\(name) dX")
            #expect(maxRelativeError(wIdx.map { dw[$0] }, fdW) < 1e-6, "\(name) dW")
        }
    }

    @Test func referenceBatchNormGradientsMatchFiniteDifferences() {
        var rng = SplitMix64(seed: 4)
        let rows = 17, c = 3
        let x = Self.randoms(&rng, rows * c).map { $0 * 2 + 0.5 }, gamma = Self.randoms(&rng, c), beta = Self.randoms(&rng, c)
        let g = Self.randoms(&rng, rows * c)
        let zeros = [Double](repeating: 0, count: c), ones = [Double](repeating: 1, count: c)
        func loss(_ x: [Double], _ gm: [Double]) -> Double {
            Self.dot(refBatchNorm(x, rows: rows, c: c, gamma: gm, beta: beta, training: true, runningMean: zeros, runningVar: ones), g)
        }
        let (dx, dg, db) = refBatchNormBackward(x, rows: rows, c: c, gamma: gamma, dy: g)
        #expect(maxRelativeError(dx, centralDifferences(x, indices: Array(x.indices)) { loss($0, gamma) }) < 1e-6)
        #expect(maxRelativeError(dg, centralDifferences(gamma, indices: Array(gamma.indices)) { loss(x, $0) }) < 1e-6)
        let fdB = (0..<c).map { j in (0..<rows).reduce(0.0) { $0 + g[$1 * c + j] } }
        #expect(maxRelativeError(db, fdB) < 1e-12)
    }

    /// A CoordinateManager over single-scene coordinates and the reference map of the same rows.
    static func maps(_ coords: [[Int32]]) throws -> (CoordinateManager, RefMap) {
        let flat = coords.flatMap { $0[1...3] }
        return (CoordinateManager(input: try CoordinateMap(unique: Array(flat)), threads: 1), RefMap(coords))
    }

    static func matrix(_ ws: Workspace, _ v: [Double], cols: Int) throws -> FeatureMatrix {
        let m = try ws.matrix(rows: v.count / cols, cols: cols)
        for i in v.indices { m.data[i] = Float(v[i]) }
        return m
    }

    static func doubles(_ m: FeatureMatrix) -> [Double] { (0..<m.count).map { Double(m.data[$0]) } }

    /// Reference pairs in the row order of the engine's maps (matched by coordinates).
    static func refPairs(_ km: KernelMap) -> RefPairs {
        var pairs = [[(i: Int, o: Int)]](repeating: [], count: km.volume)
        for k in 0..<km.volume { for p in km.start[k]..<km.start[k + 1] { pairs[k].append((Int(km.inRows[p]), Int(km.outRows[p]))) } }
        return RefPairs(volume: km.volume, inCount: km.inCount, outCount: km.outCount, pairs: pairs)
    }

    @Test(arguments: [ComputeKernels.automatic, .blas])
    func fastConvolutionGradientsMatchReference(kernels: ComputeKernels) throws {
        var rng = SplitMix64(seed: 5)
        let coords = Self.cloud(&rng, scenes: 1, side: 9, fill: 0.3)
        let (cm, m1) = try Self.maps(coords)
        let ws = Workspace()
        ws.kernels = kernels
        for (cin, cout) in [(19, 37), (64, 48), (3, 16)] {
            let kinds: [(String, KernelMap, KernelMap, Bool, RefPairs)] = [
                ("subm3", try cm.kernelMap(kernelSize: 3, inStride: 1, stride: 1), try cm.kernelMap(kernelSize: 3, inStride: 1, stride: 1), true,
                 refSubmanifoldPairs(m1, ks: 3, ts: 1)),
                ("subm5", try cm.kernelMap(kernelSize: 5, inStride: 1, stride: 1), try cm.kernelMap(kernelSize: 5, inStride: 1, stride: 1), true,
                 refSubmanifoldPairs(m1, ks: 5, ts: 1)),
                ("down", try cm.kernelMap(kernelSize: 2, inStride: 1, stride: 2), try cm.transposedKernelMap(kernelSize: 2, inStride: 2, stride: 2), false,
                 Self.refPairs(try cm.kernelMap(kernelSize: 2, inStride: 1, stride: 2))),
                ("up", try cm.transposedKernelMap(kernelSize: 2, inStride: 2, stride: 2), try cm.kernelMap(kernelSize: 2, inStride: 1, stride: 2), false,
                 Self.refPairs(try cm.transposedKernelMap(kernelSize: 2, inStride: 2, stride: 2))),
            ]
            for (name, km, gradMap, mirrored, rp) in kinds {
                // The engine's submanifold pairs equal the independent reference's.
                if name.hasPrefix("subm") {
                    let mine = Self.refPairs(km)
                    for k in 0..<km.volume {
                        #expect(Set(mine.pairs[k].map { [$0.i, $0.o] }) == Set(rp.pairs[k].map { [$0.i, $0.o] }), "\(name) offset \(k) pairs")
                    }
                }
                let x = Self.randoms(&rng, km.inCount * cin), w = Self.randoms(&rng, km.volume * cin * cout)
                let g = Self.randoms(&rng, km.outCount * cout)
                let (dx, dw) = refConvBackward(x, cin: cin, w, cout: cout, rp, dy: g)
                let xm = try Self.matrix(ws, x, cols: cin), gm = try Self.matrix(ws, g, cols: cout)
                let wf = w.map { Float($0) }
                let dX = try ws.matrix(rows: km.inCount, cols: cin)
                try wf.withUnsafeBufferPointer { wp in
                    try SparseConvolutionBackward.inputGradient(gm, weights: wp.baseAddress!, volume: km.volume, cin: cin, cout: cout,
                                                                gradMap: gradMap, mirrored: mirrored, into: dX, workspace: ws, threads: 1)
                }
                #expect(maxRelativeError(Self.doubles(dX), dx) < 1e-5, "\(name) \(cin)->\(cout) dX \(kernels)")
                var dW1 = [Float](repeating: 0.25, count: w.count), dW2 = dW1
                try SparseConvolutionBackward.weightGradient(xm, gm, map: km, into: &dW1, kernels: kernels, threads: 1)
                try SparseConvolutionBackward.weightGradient(xm, gm, map: km, into: &dW2, kernels: kernels, threads: 2)
                #expect(maxRelativeError(dW1.map { Double($0) - 0.25 }, dw) < 1e-5, "\(name) \(cin)->\(cout) dW \(kernels)")
                #expect(maxRelativeError(dW2.map { Double($0) - 0.25 }, dw) < 1e-5, "\(name) \(cin)->\(cout) dW, 2 threads")
                #expect(dW1 == dW2, "\(name) dW differs between 1 and 2 threads (the split is by offsets and columns only)")
                // The forward of the engine equals the reference too (the kernel maps agree).
                let y = try ws.matrix(rows: km.outCount, cols: cout)
                try wf.withUnsafeBufferPointer { wp in
                    try SparseConvolution.forward(xm, volume: km.volume, cin: cin, cout: cout, weights: wp.baseAddress!,
                                                  bias: UnsafeBufferPointer(start: nil, count: 0), map: km, into: y, workspace: ws, threads: 1)
                }
                #expect(maxRelativeError(Self.doubles(y), refConv(x, cin: cin, w, cout: cout, rp)) < 1e-5, "\(name) forward")
            }
            // Dense 1×1.
            let n = m1.coords.count
            let x = Self.randoms(&rng, n * cin), g = Self.randoms(&rng, n * cout)
            var dW = [Float](repeating: 0, count: cin * cout)
            try SparseConvolutionBackward.denseWeightGradient(try Self.matrix(ws, x, cols: cin), try Self.matrix(ws, g, cols: cout),
                                                              into: &dW, kernels: kernels, threads: 2)
            var ref = [Double](repeating: 0, count: cin * cout)
            for r in 0..<n { for a in 0..<cin { for b in 0..<cout { ref[a * cout + b] += x[r * cin + a] * g[r * cout + b] } } }
            #expect(maxRelativeError(dW.map { Double($0) }, ref) < 1e-5, "dense dW \(kernels)")
        }
    }

    @Test func fastBatchNormMatchesReference() throws {
        var rng = SplitMix64(seed: 6)
        let ws = Workspace()
        for (rows, c) in [(300, 7), (1000, 32)] {
            let x = Self.randoms(&rng, rows * c).map { $0 * 3 + 1 }, gamma = Self.randoms(&rng, c), beta = Self.randoms(&rng, c)
            let g = Self.randoms(&rng, rows * c)
            let xm = try Self.matrix(ws, x, cols: c)
            let st = BatchNormTraining.statistics(xm, threads: 2)
            let mean = st.mean.map { Float($0) }, inv = st.variance.map { Float(1 / ($0 + 1e-5).squareRoot()) }
            let scale = (0..<c).map { Float(gamma[$0]) * inv[$0] }, shift = (0..<c).map { Float(beta[$0]) - mean[$0] * scale[$0] }
            let y = try ws.matrix(rows: rows, cols: c)
            BatchNormTraining.apply(xm, scale: scale, shift: shift, residual: nil, relu: false, into: y, threads: 2)
            let zeros = [Double](repeating: 0, count: c), ones = [Double](repeating: 1, count: c)
            let yr = refBatchNorm(x, rows: rows, c: c, gamma: gamma, beta: beta, training: true, runningMean: zeros, runningVar: ones)
            #expect(maxRelativeError(Self.doubles(y), yr) < 1e-5)
            let (dxr, dgr, dbr) = refBatchNormBackward(x, rows: rows, c: c, gamma: gamma, dy: g)
            let gm = try Self.matrix(ws, g, cols: c), dz = try ws.matrix(rows: rows, cols: c)
            var dg = [Float](repeating: 0, count: c), db = [Float](repeating: 0, count: c)
            let gf = gamma.map { Float($0) }
            gf.withUnsafeBufferPointer { gp in
                BatchNormTraining.backward(gm, input: xm, mean: mean, invStd: inv, gamma: gp.baseAddress!, training: true,
                                           dGamma: &dg, dBeta: &db, into: dz, threads: 2)
            }
            #expect(maxRelativeError(Self.doubles(dz), dxr) < 1e-5)
            #expect(maxRelativeError(dg.map { Double($0) }, dgr) < 1e-5)
            #expect(maxRelativeError(db.map { Double($0) }, dbr) < 1e-5)
        }
    }
}
