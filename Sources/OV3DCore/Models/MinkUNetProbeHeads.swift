/// CUA-O3D linear-probe heads (minkunet.md §7.4): a bias-free 1×1 MinkowskiConvolution applied
/// to feature-head outputs, e.g. `final_seg_lseg(final(x))` or
/// `final_seg(cat[final(x), final_dinov2(x), final_sd(x)])`, giving class logits per voxel.
///
/// Feature heads and probes are both bias-free linear maps of the same rows with nothing in
/// between, so `probe(cat[x·W₁, x·W₂, …]) = x · (Σᵢ Wᵢ · Pᵢ)` where `Pᵢ` is the probe's row block
/// for input `i`. The product is formed once at load time (in Float64, rounded once), so a
/// probe costs a `trunk × classes` GEMM per voxel instead of the 4736-wide detour, and selecting
/// only a probe never computes the 3200-d SD head.
///
/// Every probe key in the file becomes an output head named by its key. CUA-O3D's
/// `..._LsegProbSeg.py` / `..._DINOv22ProbSeg.py` register all three `final_seg_*` probes but
/// train (and evaluate) only one; the others keep whatever weights they had, and nothing in the
/// file says which one was trained — pick the head by name (minkunet.md §7.4 table).
extension MinkUNet {
    /// The trunk → logits weights (`[trunk, classes]`) of probe `h`. `featureHeads` are the
    /// loaded weights of `spec.heads.filter { !$0.isProbe }`, in that order; `probe` is the
    /// probe kernel `[inputWidth, classes]` row-major.
    /// Feature heads with a bias `b_i` and a probe bias `c` compose too: the logits' bias is
    /// `c + Σᵢ bᵢ · Pᵢ`.
    static func composeProbe(_ h: MinkUNetSpec.Head, spec: MinkUNetSpec, featureHeads: [ConvWeights],
                             probe: [Float], probeBias: [Float] = []) throws -> ConvWeights {
        let names = spec.heads.filter { !$0.isProbe }.map(\.name)
        let width = try spec.inputWidth(of: h)
        let classes = h.dim
        let trunk = spec.trunkChannels
        try require(probe.count == width * classes,
                    "\(h.name).kernel holds \(probe.count) values, expected \(width) × \(classes)")
        try require(probeBias.isEmpty || probeBias.count == classes, "\(h.name).bias holds \(probeBias.count) values, expected \(classes)")
        var acc = [Double](repeating: 0, count: trunk * classes)
        var biasAcc = probeBias.map { Double($0) }
        var anyBias = !probeBias.isEmpty
        var row0 = 0
        for input in h.inputs {
            guard let i = names.firstIndex(of: input) else {
                throw OV3DError.invalidArgument("head '\(h.name)' reads '\(input)', which is not a feature head of this model")
            }
            let w = featureHeads[i]
            try require(w.kernelSize == 1 && w.cin == trunk,
                        "head '\(input)' read by probe '\(h.name)' is not a 1×1 map of the trunk")
            let d = w.cout
            if !w.bias.isEmpty {
                if !anyBias { biasAcc = [Double](repeating: 0, count: classes); anyBias = true }
                for j in 0..<d { for c in 0..<classes { biasAcc[c] += Double(w.bias[j]) * Double(probe[(row0 + j) * classes + c]) } }
            }
            w.weights.withUnsafeBufferPointer { wp in
                probe.withUnsafeBufferPointer { pp in
                    acc.withUnsafeMutableBufferPointer { ap in
                        for t in 0..<trunk {
                            for j in 0..<d {
                                let a = Double(wp[t * d + j])
                                let prow = (row0 + j) * classes
                                for c in 0..<classes { ap[t * classes + c] += a * Double(pp[prow + c]) }
                            }
                        }
                    }
                }
            }
            row0 += d
        }
        try require(row0 == width, "probe '\(h.name)' reads \(row0) channels, expected \(width)")
        let composed = acc.map { Float($0) }
        try require(composed.allSatisfy { $0.isFinite },
                    "probe '\(h.name)': its weights composed with those of \(h.inputs.joined(separator: ", ")) are not finite (NaN/Inf or beyond float32)")
        let bias = biasAcc.map { Float($0) }
        try require(bias.allSatisfy { $0.isFinite }, "probe '\(h.name)': its composed bias is not finite")
        return try ConvWeights(kernelSize: 1, cin: trunk, cout: classes, weights: composed, bias: anyBias ? bias : [])
    }
}
