@testable import OV3DCore

// Float64 reference implementations of the training ops and of the whole MinkUNet graph, written
// independently of the engine (kernel maps built naively from (batch, x, y, z) coordinates with a
// dictionary): the fast Float ops are tested against them, and they against central finite
// differences.

/// Pairs (input row, output row) per kernel offset.
struct RefPairs {
    var volume: Int
    var inCount: Int
    var outCount: Int
    var pairs: [[(i: Int, o: Int)]]
}

/// ME offset `k` of a kernel of size `ks` (x fastest; odd sizes centred), in lattice units.
func refOffset(_ k: Int, _ ks: Int) -> (Int32, Int32, Int32) {
    let c = ks % 2 == 1 ? ks / 2 : 0
    return (Int32(k % ks - c), Int32((k / ks) % ks - c), Int32(k / (ks * ks) - c))
}

func refFloor(_ v: Int32, _ t: Int32) -> Int32 { Int32((Double(v) / Double(t)).rounded(.down)) * t }

/// Coordinates (batch, x, y, z) of one tensor stride, with a row index.
struct RefMap {
    var coords: [[Int32]]
    var index: [[Int32]: Int]
    init(_ coords: [[Int32]]) {
        self.coords = coords
        index = [:]
        for (r, c) in coords.enumerated() { index[c] = r }
    }
    /// Floors per scene to multiples of `t`, first occurrence order.
    func strided(_ t: Int32) -> RefMap {
        var out = [[Int32]](), seen = Set<[Int32]>()
        for c in coords {
            let s = [c[0], refFloor(c[1], t), refFloor(c[2], t), refFloor(c[3], t)]
            if seen.insert(s).inserted { out.append(s) }
        }
        return RefMap(out)
    }
}

/// Submanifold pairs: output o receives input o + offset·ts (same map).
func refSubmanifoldPairs(_ m: RefMap, ks: Int, ts: Int32) -> RefPairs {
    let v = ks * ks * ks
    var pairs = [[(i: Int, o: Int)]](repeating: [], count: v)
    for (o, c) in m.coords.enumerated() {
        for k in 0..<v {
            let d = refOffset(k, ks)
            if let i = m.index[[c[0], c[1] + d.0 * ts, c[2] + d.1 * ts, c[3] + d.2 * ts]] { pairs[k].append((i, o)) }
        }
    }
    return RefPairs(volume: v, inCount: m.coords.count, outCount: m.coords.count, pairs: pairs)
}

/// Strided 2×2×2 pairs fine (stride ts) → coarse (2ts).
func refDownPairs(fine: RefMap, coarse: RefMap, ts: Int32) -> RefPairs {
    var pairs = [[(i: Int, o: Int)]](repeating: [], count: 8)
    for (i, c) in fine.coords.enumerated() {
        let t2 = 2 * ts
        let o = [c[0], refFloor(c[1], t2), refFloor(c[2], t2), refFloor(c[3], t2)]
        let k = Int((c[1] - o[1]) / ts + 2 * ((c[2] - o[2]) / ts) + 4 * ((c[3] - o[3]) / ts))
        pairs[k].append((i, coarse.index[o]!))
    }
    return RefPairs(volume: 8, inCount: fine.coords.count, outCount: coarse.coords.count, pairs: pairs)
}

func refSwap(_ p: RefPairs) -> RefPairs {
    RefPairs(volume: p.volume, inCount: p.outCount, outCount: p.inCount, pairs: p.pairs.map { $0.map { (i: $0.o, o: $0.i) } })
}

// MARK: - Ops (row-major Double matrices)

func refConv(_ x: [Double], cin: Int, _ w: [Double], cout: Int, _ p: RefPairs) -> [Double] {
    var y = [Double](repeating: 0, count: p.outCount * cout)
    for k in 0..<p.volume {
        for (i, o) in p.pairs[k] {
            for a in 0..<cin {
                let xv = x[i * cin + a]
                if xv == 0 { continue }
                for b in 0..<cout { y[o * cout + b] += xv * w[(k * cin + a) * cout + b] }
            }
        }
    }
    return y
}

/// (dX, dW) of `refConv` for output gradient `dy`.
func refConvBackward(_ x: [Double], cin: Int, _ w: [Double], cout: Int, _ p: RefPairs, dy: [Double]) -> ([Double], [Double]) {
    var dx = [Double](repeating: 0, count: p.inCount * cin), dw = [Double](repeating: 0, count: p.volume * cin * cout)
    for k in 0..<p.volume {
        for (i, o) in p.pairs[k] {
            for a in 0..<cin {
                var s = 0.0
                for b in 0..<cout {
                    s += dy[o * cout + b] * w[(k * cin + a) * cout + b]
                    dw[(k * cin + a) * cout + b] += x[i * cin + a] * dy[o * cout + b]
                }
                dx[i * cin + a] += s
            }
        }
    }
    return (dx, dw)
}

func refDense(_ x: [Double], rows: Int, cin: Int, _ w: [Double], cout: Int, bias: [Double]?) -> [Double] {
    var y = [Double](repeating: 0, count: rows * cout)
    for r in 0..<rows { for b in 0..<cout {
        var s = bias?[b] ?? 0
        for a in 0..<cin { s += x[r * cin + a] * w[a * cout + b] }
        y[r * cout + b] = s
    } }
    return y
}

/// torch BatchNorm1d forward (training: batch statistics, biased variance; else running ones).
func refBatchNorm(_ x: [Double], rows: Int, c: Int, gamma: [Double], beta: [Double], training: Bool,
                  runningMean: [Double], runningVar: [Double]) -> [Double] {
    var y = x
    for j in 0..<c {
        var m = runningMean[j], v = runningVar[j]
        if training {
            m = 0; for r in 0..<rows { m += x[r * c + j] }; m /= Double(rows)
            v = 0; for r in 0..<rows { let d = x[r * c + j] - m; v += d * d }; v /= Double(rows)
        }
        let s = 1 / (v + 1e-5).squareRoot()
        for r in 0..<rows { y[r * c + j] = (x[r * c + j] - m) * s * gamma[j] + beta[j] }
    }
    return y
}

/// Training-mode BN backward: (dx, dγ, dβ).
func refBatchNormBackward(_ x: [Double], rows: Int, c: Int, gamma: [Double], dy: [Double]) -> ([Double], [Double], [Double]) {
    var dx = x, dg = [Double](repeating: 0, count: c), db = [Double](repeating: 0, count: c)
    let n = Double(rows)
    for j in 0..<c {
        var m = 0.0; for r in 0..<rows { m += x[r * c + j] }; m /= n
        var v = 0.0; for r in 0..<rows { let d = x[r * c + j] - m; v += d * d }; v /= n
        let s = 1 / (v + 1e-5).squareRoot()
        var sdy = 0.0, sdyx = 0.0
        for r in 0..<rows { let xh = (x[r * c + j] - m) * s; sdy += dy[r * c + j]; sdyx += dy[r * c + j] * xh }
        dg[j] = sdyx; db[j] = sdy
        for r in 0..<rows {
            let xh = (x[r * c + j] - m) * s
            dx[r * c + j] = gamma[j] * s * (dy[r * c + j] - sdy / n - xh * sdyx / n)
        }
    }
    return (dx, dg, db)
}

/// Central finite differences of a scalar function at `x` along every coordinate in `indices`.
func centralDifferences(_ x: [Double], indices: [Int], h: Double = 1e-6, _ f: ([Double]) -> Double) -> [Double] {
    indices.map { i in
        var a = x, b = x
        a[i] += h; b[i] -= h
        return (f(a) - f(b)) / (2 * h)
    }
}

func maxRelativeError(_ a: [Double], _ b: [Double]) -> Double {
    let scale = max(b.map(abs).max() ?? 0, 1e-12)
    var e = 0.0
    for (u, v) in zip(a, b) { e = max(e, abs(u - v)) }
    return e / scale
}

// MARK: - The whole graph in Double (forward only: gradients by finite differences)

final class RefValue {
    var data: [Double]
    var cols: Int
    var ts: Int32
    init(_ data: [Double], cols: Int, ts: Int32) { self.data = data; self.cols = cols; self.ts = ts }
}

/// Runs `MinkUNetSpec.walk` in Double with parameters looked up by name in `params` (flat, the
/// `ParameterSet` layout of `set`) and BN buffers from `running` (mean, var by module).
final class RefExecutor: MinkUNetExecutor {
    typealias Value = RefValue
    var maps: [Int32: RefMap] = [:]
    var pairCache: [String: RefPairs] = [:]
    let set: ParameterSet
    var params: [Double]
    let training: Bool
    let running: [String: ([Double], [Double])]

    init(coords: [[Int32]], set: ParameterSet, training: Bool, running: [String: ([Double], [Double])]) {
        maps[1] = RefMap(coords)
        self.set = set
        params = set.values.map { Double($0) }
        self.training = training
        self.running = running
    }

    func map(_ t: Int32) -> RefMap {
        if let m = maps[t] { return m }
        let m = map(t / 2).strided(t)
        maps[t] = m
        return m
    }

    func p(_ name: String) -> [Double] { let e = set.entry(name)!; return Array(params[e.range]) }

    func pairs(_ conv: MinkUNetConv) -> RefPairs? {
        let key = "\(conv.kind)@\(conv.inStride)"
        if let p = pairCache[key] { return p }
        let ts = conv.inStride
        let p: RefPairs?
        switch conv.kind {
        case .submanifold(let k): p = refSubmanifoldPairs(map(ts), ks: k, ts: ts)
        case .down: p = refDownPairs(fine: map(ts), coarse: map(2 * ts), ts: ts)
        case .up: p = refSwap(refDownPairs(fine: map(ts / 2), coarse: map(ts), ts: ts / 2))
        case .dense: p = nil
        }
        pairCache[key] = p
        return p
    }

    func convolve(_ x: RefValue, _ conv: MinkUNetConv) -> RefValue {
        let w = p(conv.name + ".kernel")
        if let pr = pairs(conv) {
            let outTs: Int32 = conv.kind == .down ? 2 * x.ts : conv.kind == .up ? x.ts / 2 : x.ts
            return RefValue(refConv(x.data, cin: conv.cin, w, cout: conv.cout, pr), cols: conv.cout, ts: outTs)
        }
        let rows = x.data.count / x.cols
        return RefValue(refDense(x.data, rows: rows, cin: conv.cin, w, cout: conv.cout, bias: conv.bias ? p(conv.name + ".bias") : nil),
                        cols: conv.cout, ts: x.ts)
    }

    func convBN(_ x: RefValue, _ conv: MinkUNetConv, bn: String, relu: Bool, residual: RefValue?) throws -> RefValue {
        let z = convolve(x, conv)
        let rows = z.data.count / z.cols
        let (rm, rv) = running[bn]!
        var y = refBatchNorm(z.data, rows: rows, c: z.cols, gamma: p(bn + ".bn.weight"), beta: p(bn + ".bn.bias"),
                             training: training, runningMean: rm, runningVar: rv)
        if let residual { for i in y.indices { y[i] += residual.data[i] } }
        if relu { for i in y.indices { y[i] = max(y[i], 0) } }
        return RefValue(y, cols: z.cols, ts: z.ts)
    }

    func concat(_ parts: [RefValue]) throws -> RefValue {
        let rows = parts[0].data.count / parts[0].cols
        let total = parts.reduce(0) { $0 + $1.cols }
        var out = [Double](repeating: 0, count: rows * total)
        var c0 = 0
        for pv in parts {
            for r in 0..<rows { for j in 0..<pv.cols { out[r * total + c0 + j] = pv.data[r * pv.cols + j] } }
            c0 += pv.cols
        }
        return RefValue(out, cols: total, ts: parts[0].ts)
    }

    func head(_ x: RefValue, _ conv: MinkUNetConv) throws -> RefValue { convolve(x, conv) }
}
