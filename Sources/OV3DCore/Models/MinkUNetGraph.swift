/// The MinkUNet graph as one walk over a spec (minkunet.md §2), run by an executor: the training
/// engine (`TrainableMinkUNet`, BatchNorm unfolded, a tape for backward) and the float64
/// reference of the tests run the same walk, so the graph is described once.
///
/// The walk names every layer by its state-dict module (`conv0p1s1`, `block2.0.downsample.0`,
/// `final`), and says for each convolution its kind, widths and input tensor stride; the
/// executor owns weights, coordinates and kernel maps.
public struct MinkUNetConv: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Stride-1 convolution with an odd kernel (3 or 5) on its own coordinate map.
        case submanifold(Int)
        /// 2×2×2 stride-2 convolution (tensor stride doubles).
        case down
        /// 2×2×2 stride-2 transposed convolution (tensor stride halves, onto the encoder's map).
        case up
        /// 1×1 (a dense product `X · W`; weight `[cin, cout]`).
        case dense
    }
    /// State-dict module name (`<name>.kernel`, `<name>.bias`).
    public var name: String
    public var kind: Kind
    public var cin: Int
    public var cout: Int
    /// Tensor stride of the input.
    public var inStride: Int32
    /// Whether the layer has a bias (`<name>.bias`, shape `[1, cout]`; heads only).
    public var bias: Bool = false

    /// Kernel volume: 125, 27, 8 or 1.
    public var volume: Int {
        switch kind {
        case .submanifold(let k): return k * k * k
        case .down, .up: return 8
        case .dense: return 1
        }
    }
    /// Shape of `<name>.kernel`: `[volume, cin, cout]`, or `[cin, cout]` for 1×1.
    public var kernelShape: [Int] { volume == 1 ? [cin, cout] : [volume, cin, cout] }
}

/// What runs the walk: creates the values (activations) of the graph.
protocol MinkUNetExecutor: AnyObject {
    associatedtype Value
    /// `relu?( BN(conv(x)) + residual )` with BatchNorm module `bn` (`<bn>.bn.weight`, ...).
    func convBN(_ x: Value, _ conv: MinkUNetConv, bn: String, relu: Bool, residual: Value?) throws -> Value
    /// Concatenation along channels, in order.
    func concat(_ parts: [Value]) throws -> Value
    /// A 1×1 output head (optional bias, no BN or ReLU).
    func head(_ x: Value, _ conv: MinkUNetConv) throws -> Value
}

extension MinkUNetSpec {
    /// Runs the graph on `input` (the stride-1 input features); returns the outputs of every
    /// head of `heads`, in order. Linear probes read the concatenated outputs of their feature heads.
    func walk<E: MinkUNetExecutor>(_ input: E.Value, _ e: E) throws -> [E.Value] {
        let c0 = initDim, p = planes
        func conv(_ name: String, _ kind: MinkUNetConv.Kind, _ cin: Int, _ cout: Int, _ ts: Int32, bias: Bool = false) -> MinkUNetConv {
            MinkUNetConv(name: name, kind: kind, cin: cin, cout: cout, inStride: ts, bias: bias)
        }
        func stage(_ x: E.Value, _ b: Int, _ cin: Int, _ planes: Int, _ ts: Int32) throws -> E.Value {
            var cur = x, inp = cin
            for i in 0..<layers[b - 1] {
                let m = "block\(b).\(i)"
                let y = try e.convBN(cur, conv("\(m).conv1", .submanifold(3), inp, planes, ts), bn: "\(m).norm1", relu: true, residual: nil)
                let r = (i == 0 && inp != planes)
                    ? try e.convBN(cur, conv("\(m).downsample.0", .dense, inp, planes, ts), bn: "\(m).downsample.1", relu: false, residual: nil)
                    : cur
                cur = try e.convBN(y, conv("\(m).conv2", .submanifold(3), planes, planes, ts), bn: "\(m).norm2", relu: true, residual: r)
                inp = planes
            }
            return cur
        }
        let p1 = try e.convBN(input, conv("conv0p1s1", .submanifold(5), inChannels, c0, 1), bn: "bn0", relu: true, residual: nil)
        var skips = [(p1, c0)]
        var x = p1
        var ts: Int32 = 1
        var width = c0
        for l in 0..<4 {
            let d = try e.convBN(x, conv("conv\(l + 1)p\(ts)s2", .down, width, width, ts), bn: "bn\(l + 1)", relu: true, residual: nil)
            ts *= 2
            x = try stage(d, l + 1, width, p[l], ts)
            width = p[l]
            if l < 3 { skips.append((x, width)) }
        }
        for l in 0..<4 {
            let u = try e.convBN(x, conv("convtr\(l + 4)p\(ts)s2", .up, width, p[4 + l], ts), bn: "bntr\(l + 4)", relu: true, residual: nil)
            ts /= 2
            let (skip, sw) = skips.removeLast()
            let c = try e.concat([u, skip])
            x = try stage(c, 5 + l, p[4 + l] + sw, p[4 + l], ts)
            width = p[4 + l]
        }
        var outs = [E.Value]()
        var byName = [String: E.Value]()
        for h in heads {
            if h.isProbe {
                let parts = try h.inputs.map { i -> E.Value in
                    guard let v = byName[i] else { throw OV3DError.invalidArgument("head '\(h.name)' reads '\(i)', which is not a feature head of this model") }
                    return v
                }
                let src = parts.count == 1 ? parts[0] : try e.concat(parts)
                outs.append(try e.head(src, conv(h.name, .dense, try inputWidth(of: h), h.dim, 1, bias: h.bias)))
            } else {
                let o = try e.head(x, conv(h.name, .dense, width, h.dim, 1, bias: h.bias))
                byName[h.name] = o
                outs.append(o)
            }
        }
        return outs
    }
}
