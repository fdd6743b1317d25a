/// The architecture of a MinkUNet (OpenScene's `MinkUNetBase` with BasicBlocks): input
/// channels, stem width, blocks and planes of the eight stages, and 1×1 output heads.
///
/// Inferred from a state dict's keys and shapes (`infer(from:)`), so a checkpoint of any family
/// member — or any channel widths — picks its own architecture. Spec: minkunet.md §2–5.
public struct MinkUNetSpec: Sendable, Equatable {
    /// One 1×1 output head: a feature head on the trunk (`final`, `final_dinov2`, `final_sd`,
    /// ...) or a CUA-O3D linear probe (`final_seg*`) on feature heads' outputs, whose `dim` is
    /// its class count (its output = class logits). minkunet.md §4, §7.4.
    public struct Head: Sendable, Equatable {
        public var name: String
        public var dim: Int
        /// Feature heads whose outputs this head reads, concatenated in this order (a linear
        /// probe); empty = the head reads the trunk (block8 output).
        public var inputs: [String]
        /// Whether the head has a bias `<name>.bias` (shape `[1, dim]`, MinkowskiEngine's layout;
        /// `[dim]` is accepted when loading), as MinkowskiEngine's example MinkUNets' `final`.
        /// OpenScene / CUA-O3D / SAS heads have none.
        public var bias: Bool
        public init(name: String, dim: Int, inputs: [String] = [], bias: Bool = false) {
            self.name = name; self.dim = dim; self.inputs = inputs; self.bias = bias
        }
        /// Whether this is a linear probe over other heads' outputs (class logits).
        public var isProbe: Bool { !inputs.isEmpty }
    }

    public var inChannels: Int
    /// Width of the stem (`conv0p1s1`), OpenScene's INIT_DIM (32).
    public var initDim: Int
    /// BasicBlocks per stage, block1 ... block8.
    public var layers: [Int]
    /// Output channels per stage, PLANES[0...7].
    public var planes: [Int]
    public var heads: [Head]

    public init(inChannels: Int = 3, initDim: Int = 32, layers: [Int], planes: [Int], heads: [Head]) {
        self.inChannels = inChannels
        self.initDim = initDim
        self.layers = layers
        self.planes = planes
        self.heads = heads
    }

    /// The family as defined by OpenScene's `mink_unet.py` (name, LAYERS, PLANES).
    public static let family: [(name: String, layers: [Int], planes: [Int])] = [
        ("MinkUNet14A", [1, 1, 1, 1, 1, 1, 1, 1], [32, 64, 128, 256, 128, 128, 96, 96]),
        ("MinkUNet14B", [1, 1, 1, 1, 1, 1, 1, 1], [32, 64, 128, 256, 128, 128, 128, 128]),
        ("MinkUNet14C", [1, 1, 1, 1, 1, 1, 1, 1], [32, 64, 128, 256, 192, 192, 128, 128]),
        ("MinkUNet14D", [1, 1, 1, 1, 1, 1, 1, 1], [32, 64, 128, 256, 384, 384, 384, 384]),
        ("MinkUNet18A", [2, 2, 2, 2, 2, 2, 2, 2], [32, 64, 128, 256, 128, 128, 96, 96]),
        ("MinkUNet18B", [2, 2, 2, 2, 2, 2, 2, 2], [32, 64, 128, 256, 128, 128, 128, 128]),
        ("MinkUNet18D", [2, 2, 2, 2, 2, 2, 2, 2], [32, 64, 128, 256, 384, 384, 384, 384]),
        ("MinkUNet34A", [2, 3, 4, 6, 2, 2, 2, 2], [32, 64, 128, 256, 256, 128, 64, 64]),
        ("MinkUNet34B", [2, 3, 4, 6, 2, 2, 2, 2], [32, 64, 128, 256, 256, 128, 64, 32]),
        ("MinkUNet34C", [2, 3, 4, 6, 2, 2, 2, 2], [32, 64, 128, 256, 256, 128, 96, 96]),
    ]

    /// A named family member ("MinkUNet18A", or "18A") with the given heads.
    public static func named(_ name: String, inChannels: Int = 3, heads: [Head] = [Head(name: "final", dim: 512)]) throws -> MinkUNetSpec {
        let n = name.hasPrefix("MinkUNet") ? name : "MinkUNet" + name
        guard let v = family.first(where: { $0.name == n }) else {
            throw OV3DError.unsupported("unknown MinkUNet variant '\(name)'; known: \(family.map(\.name).joined(separator: ", "))")
        }
        return MinkUNetSpec(inChannels: inChannels, layers: v.layers, planes: v.planes, heads: heads)
    }

    /// The family name matching this architecture ("MinkUNet18A"), or "MinkUNet(custom)".
    public var variantName: String {
        MinkUNetSpec.family.first(where: { $0.layers == layers && $0.planes == planes && initDim == 32 })?.name ?? "MinkUNet(custom)"
    }

    /// Output width of the trunk (the heads' input).
    public var trunkChannels: Int { planes[7] }

    // MARK: - Keys

    /// Leading key prefixes a checkpoint may carry (DisNet's `net3d.`, DDP's `module.`).
    public static let knownPrefixes = ["module.net3d.", "net3d.", "module."]

    /// The prefix of `sd`'s network keys (one of `knownPrefixes` or "").
    public static func prefix(of sd: StateDict) -> String {
        for p in knownPrefixes where sd[p + "conv0p1s1.kernel"] != nil { return p }
        return ""
    }

    /// The keys of `sd` with its prefix removed; keys without the prefix are dropped.
    public static func stripPrefix(_ sd: StateDict) -> StateDict {
        let p = prefix(of: sd)
        return p.isEmpty ? sd : sd.strippingPrefix(p)
    }

    // MARK: - Inference from a state dict

    /// Infers the architecture from the keys and shapes of a MinkUNet state dict (prefixes
    /// `net3d.`, `module.net3d.`, `module.` are stripped). Throws `.format` naming what is missing.
    public static func infer(from raw: StateDict) throws -> MinkUNetSpec {
        let sd = stripPrefix(raw)
        func shape(_ key: String) throws -> [Int] {
            guard let t = sd[key] else { throw OV3DError.format("not a MinkUNet state dict: missing '\(key)'") }
            return t.shape
        }
        let s0 = try shape("conv0p1s1.kernel")
        guard s0.count == 3, s0[0] == 125, s0[1] >= 1, s0[2] >= 1 else {
            throw OV3DError.format("conv0p1s1.kernel has shape \(s0), expected [125, in_channels, init_dim]")
        }
        var layers = [Int](), planes = [Int]()
        for b in 1...8 {
            var n = 0
            while sd["block\(b).\(n).conv1.kernel"] != nil { n += 1 }
            guard n > 0 else { throw OV3DError.format("not a MinkUNet state dict: missing 'block\(b).0.conv1.kernel'") }
            if sd["block\(b).0.conv3.kernel"] != nil {
                throw OV3DError.unsupported("block\(b) has Bottleneck blocks (conv3): MinkUNet50/101 are not supported")
            }
            let s = try shape("block\(b).0.conv1.kernel")
            guard s.count == 3, s[0] == 27, s[2] >= 1 else {
                throw OV3DError.format("block\(b).0.conv1.kernel has shape \(s), expected [27, in, planes]")
            }
            layers.append(n)
            planes.append(s[2])
        }
        var heads = [Head]()
        var names = sd.keys.filter { $0.hasPrefix("final") && $0.hasSuffix(".kernel") && !$0.dropLast(7).contains(".") }
        names.sort { a, b in (a == "final.kernel" ? 0 : 1, sd.keys.firstIndex(of: a)!) < (b == "final.kernel" ? 0 : 1, sd.keys.firstIndex(of: b)!) }
        var probes = [(name: String, shape: [Int])]()
        for k in names {
            let s = sd[k]!.shape
            let mat = s.count == 3 && s[0] == 1 ? Array(s.dropFirst()) : s
            let name = String(k.dropLast(7))
            if isProbeName(name) { probes.append((name, mat)); continue }
            // A feature head of another width is left to `validate`, which reports it by name.
            guard mat.count == 2, mat[0] == planes[7], mat[1] >= 1 else { continue }
            heads.append(Head(name: name, dim: mat[1], bias: sd[name + ".bias"] != nil))
        }
        guard !heads.isEmpty else {
            throw OV3DError.format("not a MinkUNet state dict: no output head 'final.kernel' of shape [\(planes[7]), D]")
        }
        // Linear probes (after every feature head, in file order): shapes checked against the
        // feature heads they read.
        for (name, mat) in probes {
            let inputs = try probeInputs(name, featureHeads: heads)
            let width = inputs.reduce(0) { acc, h in acc + (heads.first { $0.name == h }?.dim ?? 0) }
            guard mat.count == 2, mat[0] == width, mat[1] >= 1 else {
                throw OV3DError.format("\(name).kernel has shape \(sd[name + ".kernel"]!.shape): the linear probe reads "
                                       + describeInputs(inputs, heads) + ", so expected [\(width), classes]")
            }
            heads.append(Head(name: name, dim: mat[1], inputs: inputs, bias: sd[name + ".bias"] != nil))
        }
        return MinkUNetSpec(inChannels: s0[1], initDim: s0[2], layers: layers, planes: planes, heads: heads)
    }

    // MARK: - Linear-probe heads (CUA-O3D, minkunet.md §7.4)

    /// Whether a head key names a CUA-O3D linear probe (`final_seg`, `final_seg_lseg`, ...).
    public static func isProbeName(_ name: String) -> Bool { name == "final_seg" || name.hasPrefix("final_seg_") }

    /// The feature heads a linear probe reads, in concatenation order, as CUA-O3D's model files
    /// wire them: `final_seg` = cat(final, final_dinov2, final_sd) (of those present, in that
    /// order; `..._CatProbSeg*.py`), `final_seg_lseg` = final, `final_seg_dinov2` = final_dinov2,
    /// `final_seg_stablediffusion` = final_sd (`..._SepProbSeg.py` and relatives).
    public static func probeInputs(_ name: String, featureHeads: [Head]) throws -> [String] {
        let present = Set(featureHeads.filter { !$0.isProbe }.map(\.name))
        let inputs: [String]
        switch name {
        case "final_seg": inputs = ["final", "final_dinov2", "final_sd"].filter { present.contains($0) }
        case "final_seg_lseg": inputs = ["final"]
        case "final_seg_dinov2": inputs = ["final_dinov2"]
        case "final_seg_stablediffusion": inputs = ["final_sd"]
        default:
            throw OV3DError.unsupported("unknown linear-probe head '\(name)' (known: final_seg, final_seg_lseg, final_seg_dinov2, final_seg_stablediffusion)")
        }
        for i in inputs where !present.contains(i) {
            throw OV3DError.format("linear probe '\(name)' reads the output of head '\(i)', which the state dict lacks ('\(i).kernel')")
        }
        return inputs
    }

    /// "the output of 'final' (512 channels)" / "cat('final' 512, 'final_dinov2' 1024) = 1536 channels".
    static func describeInputs(_ inputs: [String], _ heads: [Head]) -> String {
        let dims = inputs.map { i in heads.first { $0.name == i }?.dim ?? 0 }
        if inputs.count == 1 { return "the output of '\(inputs[0])' (\(dims[0]) channels)" }
        return "cat(" + zip(inputs, dims).map { "'\($0)' \($1)" }.joined(separator: ", ") + ") = \(dims.reduce(0, +)) channels"
    }

    /// Input width of head `h`: the trunk's for a feature head, the summed widths of its inputs
    /// for a probe. Throws when a probe reads a head this spec lacks or another probe.
    public func inputWidth(of h: Head) throws -> Int {
        guard h.isProbe else { return trunkChannels }
        var w = 0
        for i in h.inputs {
            guard let src = heads.first(where: { $0.name == i }), !src.isProbe else {
                throw OV3DError.invalidArgument("head '\(h.name)' reads '\(i)', which is not a feature head of this model")
            }
            w += src.dim
        }
        return w
    }

    /// Every tensor the architecture needs, with its shape, in registration order. Optional
    /// entries (`num_batches_tracked`) are not listed.
    public var expectedTensors: [(key: String, shape: [Int])] {
        var out = [(key: String, shape: [Int])]()
        func bn(_ m: String, _ c: Int) {
            for f in ["weight", "bias", "running_mean", "running_var"] { out.append(("\(m).bn.\(f)", [c])) }
        }
        func conv(_ m: String, _ vol: Int, _ cin: Int, _ cout: Int) {
            out.append(("\(m).kernel", vol == 1 ? [cin, cout] : [vol, cin, cout]))
        }
        func stage(_ b: Int, _ cin: Int, _ p: Int) {
            var inp = cin
            for i in 0..<layers[b - 1] {
                let m = "block\(b).\(i)"
                conv("\(m).conv1", 27, inp, p); bn("\(m).norm1", p)
                conv("\(m).conv2", 27, p, p); bn("\(m).norm2", p)
                if i == 0 && inp != p { conv("\(m).downsample.0", 1, inp, p); bn("\(m).downsample.1", p) }
                inp = p
            }
        }
        let c0 = initDim, p = planes
        conv("conv0p1s1", 125, inChannels, c0); bn("bn0", c0)
        conv("conv1p1s2", 8, c0, c0); bn("bn1", c0)
        stage(1, c0, p[0])
        conv("conv2p2s2", 8, p[0], p[0]); bn("bn2", p[0])
        stage(2, p[0], p[1])
        conv("conv3p4s2", 8, p[1], p[1]); bn("bn3", p[1])
        stage(3, p[1], p[2])
        conv("conv4p8s2", 8, p[2], p[2]); bn("bn4", p[2])
        stage(4, p[2], p[3])
        conv("convtr4p16s2", 8, p[3], p[4]); bn("bntr4", p[4])
        stage(5, p[4] + p[2], p[4])
        conv("convtr5p8s2", 8, p[4], p[5]); bn("bntr5", p[5])
        stage(6, p[5] + p[1], p[5])
        conv("convtr6p4s2", 8, p[5], p[6]); bn("bntr6", p[6])
        stage(7, p[6] + p[0], p[6])
        conv("convtr7p2s2", 8, p[6], p[7]); bn("bntr7", p[7])
        stage(8, p[7] + c0, p[7])
        for h in heads {
            conv(h.name, 1, (try? inputWidth(of: h)) ?? 0, h.dim)
            if h.bias { out.append(("\(h.name).bias", [1, h.dim])) }
        }
        return out
    }

    /// Checks `raw` (prefix stripped here) against `expectedTensors`: throws `.format` listing
    /// every missing key, unexpected key and shape mismatch by name. A 1×1 kernel stored as
    /// `[1, in, out]` (ME 0.4) is accepted; `*.num_batches_tracked` entries are ignored.
    public func validate(_ raw: StateDict) throws {
        for h in heads { _ = try inputWidth(of: h) }
        let sd = MinkUNetSpec.stripPrefix(raw)
        let p = MinkUNetSpec.prefix(of: raw)
        var missing = [String](), mismatched = [String]()
        var expected = Set<String>()
        for (key, shape) in expectedTensors {
            expected.insert(key)
            guard let t = sd[key] else { missing.append(key); continue }
            let ok = t.shape == shape || (shape.count == 2 && t.shape == [1] + shape)
                || (key.hasSuffix(".bias") && shape.count == 2 && shape[0] == 1 && t.shape == [shape[1]])
            if !ok { mismatched.append("\(key): \(t.shape) (expected \(shape))") }
            if ok && !t.dtype.isFloatingPoint { mismatched.append("\(key): dtype \(t.dtype.rawValue) (expected a float type)") }
        }
        var unexpected = sd.keys.filter { !expected.contains($0) && !$0.hasSuffix(".num_batches_tracked") }
        if !p.isEmpty { unexpected += raw.keys.filter { !$0.hasPrefix(p) } }
        guard missing.isEmpty && unexpected.isEmpty && mismatched.isEmpty else {
            var parts = [String]()
            func list(_ name: String, _ xs: [String]) {
                guard !xs.isEmpty else { return }
                let shown = xs.prefix(20).joined(separator: ", ")
                parts.append("\(xs.count) \(name): \(shown)\(xs.count > 20 ? ", ..." : "")")
            }
            list("missing", missing); list("unexpected", unexpected); list("shape mismatches", mismatched)
            throw OV3DError.format("state dict does not match \(variantName) (heads \(heads.map { "\($0.name):\($0.dim)" }.joined(separator: ","))): " + parts.joined(separator: "; "))
        }
    }
}
