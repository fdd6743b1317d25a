/// MinkowskiEngine's HYPER_CUBE kernel-offset enumeration (dilation 1).
///
/// Offset index `k = ix + K·iy + K²·iz` (x fastest). Odd kernel sizes are centred
/// (`i − K/2`), even ones are not (`0 ..< K`). Offsets are scaled by the input tensor stride.
public enum KernelOffsets {
    /// The `K³` offsets (x y z triples, flattened) in units of `tensorStride`.
    public static func offsets(kernelSize k: Int, tensorStride t: Int32) -> [Int32] {
        precondition(k >= 1 && k <= 7, "kernel size out of range")
        let c = k % 2 == 1 ? k / 2 : 0
        var out = [Int32]()
        out.reserveCapacity(3 * k * k * k)
        for iz in 0..<k { for iy in 0..<k { for ix in 0..<k {
            out.append(Int32(ix - c) * t); out.append(Int32(iy - c) * t); out.append(Int32(iz - c) * t)
        } } }
        return out
    }
}
