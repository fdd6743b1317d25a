/// The coordinate maps (one per tensor stride) and kernel maps of one forward pass, built on
/// first use and cached, so every layer that needs the same map reuses it.
///
/// Keys follow MinkowskiEngine: a map is identified by its tensor stride; a kernel map by
/// (input stride, output stride, kernel size). Transposed convolutions reuse the regular map of
/// the matching strided convolution with inputs and outputs swapped, and write onto the existing
/// finer map (ME's behaviour when that map exists, which it always does in a U-Net).
public final class CoordinateManager {
    public let threads: Int
    public private(set) var maps: [Int32: CoordinateMap] = [:]
    private var kernelMaps: [KernelMapKey: KernelMap] = [:]

    struct KernelMapKey: Hashable {
        var inStride: Int32
        var outStride: Int32
        var kernelSize: Int
    }

    /// Starts from the input map (tensor stride 1 by convention, or the map's own stride).
    /// Optional workspace whose buffers hold the temporary neighbour tables of kernel-map builds.
    let workspace: Workspace?

    public init(input: CoordinateMap, threads: Int, workspace: Workspace? = nil) {
        self.threads = threads
        self.workspace = workspace
        maps[input.tensorStride] = input
    }

    /// The map at tensor stride `t`, created by striding the finest existing map whose stride divides `t`.
    public func map(stride t: Int32) throws -> CoordinateMap {
        if let m = maps[t] { return m }
        guard let base = maps.keys.filter({ $0 < t && t % $0 == 0 }).max() else {
            throw OV3DError.internal("no coordinate map from which tensor stride \(t) can be derived")
        }
        let m = try maps[base]!.strided(by: t / base)
        maps[t] = m
        return m
    }

    /// The kernel map of a (regular) convolution of size `kernelSize` from stride `inStride`
    /// with stride `stride` (output stride `inStride · stride`).
    public func kernelMap(kernelSize: Int, inStride: Int32, stride: Int32) throws -> KernelMap {
        try require((1...5).contains(kernelSize) || kernelSize == 7, "kernel size \(kernelSize) is not supported (1-5 or 7)")
        let outStride = inStride * stride
        let key = KernelMapKey(inStride: inStride, outStride: outStride, kernelSize: kernelSize)
        if let km = kernelMaps[key] { return km }
        let input = try map(stride: inStride)
        let km: KernelMap
        if kernelSize == 1 && stride == 1 {
            km = KernelMap.identity(count: input.count)
        } else {
            let output = try map(stride: outStride)
            let need = output.count * kernelSize * kernelSize * kernelSize
            if let ws = workspace, let buf = try? ws.buffer(capacity: need) {
                defer { ws.recycle(buf) }
                let scratch = UnsafeMutableRawPointer(buf.pointer).bindMemory(to: Int32.self, capacity: need)
                km = try KernelMap.build(input: input, output: output, kernelSize: kernelSize, sameMap: stride == 1,
                                     threads: threads, scratch: UnsafeMutableBufferPointer(start: scratch, count: need))
                UnsafeMutableRawPointer(buf.pointer).bindMemory(to: Float.self, capacity: need)
            } else {
                km = try KernelMap.build(input: input, output: output, kernelSize: kernelSize,
                                     sameMap: stride == 1, threads: threads)
            }
        }
        kernelMaps[key] = km
        return km
    }

    /// The kernel map of a transposed convolution from stride `inStride` to `inStride / stride`.
    public func transposedKernelMap(kernelSize: Int, inStride: Int32, stride: Int32) throws -> KernelMap {
        try require(stride >= 1 && inStride % stride == 0, "transposed stride \(stride) does not divide tensor stride \(inStride)")
        let outStride = inStride / stride
        let key = KernelMapKey(inStride: inStride, outStride: outStride, kernelSize: kernelSize)
        if let km = kernelMaps[key] { return km }
        let km = try kernelMap(kernelSize: kernelSize, inStride: outStride, stride: stride).transposed()
        kernelMaps[key] = km
        return km
    }

    /// Pair counts per offset of every kernel map built so far, keyed
    /// `s<fine stride>_k<kernel size>_<kind>` with kind `subm` (stride 1), `one` (1×1),
    /// `down` (strided) or `up` (transposed), the naming of the reference fixtures.
    public var pairCounts: [String: [Int]] {
        var out = [String: [Int]]()
        for (key, km) in kernelMaps {
            let fine = min(key.inStride, key.outStride)
            let kind = key.kernelSize == 1 && key.inStride == key.outStride ? "one"
                : key.inStride == key.outStride ? "subm" : key.outStride > key.inStride ? "down" : "up"
            out["s\(fine)_k\(key.kernelSize)_\(kind)"] = km.pairCounts
        }
        return out
    }
}
