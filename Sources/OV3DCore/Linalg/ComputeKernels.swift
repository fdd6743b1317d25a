import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// Which implementation runs the matrix products of convolutions and dense layers.
///
/// ov3d carries its own register-blocked AVX-512 kernels for the products a sparse convolution
/// needs (`RowGEMM`: gather rows of the input, multiply by one offset's weights, add into scattered
/// output rows, in one pass). They are used where the CPU has AVX-512F; elsewhere, and when asked
/// for, OpenBLAS's `cblas_sgemm` runs on gathered copies (the reference path).
public enum ComputeKernels: Sendable, Equatable {
    /// ov3d's vector kernels when this CPU runs them, else OpenBLAS.
    case automatic
    /// OpenBLAS everywhere.
    case blas

    /// Whether ov3d's vector kernels run on this CPU. False when the CPU lacks AVX-512F or the
    /// environment variable `OV3D_KERNELS=blas` was set when the library first looked.
    public static let vectorKernelsAvailable: Bool = {
        if let e = getenv("OV3D_KERNELS"), String(cString: e) == "blas" { return false }
        return ov3d_kernel_isa() >= Int32(OV3D_KERNEL_ISA_AVX512.rawValue)
    }()

    /// True when this choice runs ov3d's vector kernels on this CPU.
    public var usesVectorKernels: Bool { self == .automatic && Self.vectorKernelsAvailable }

    /// A short name for logs and benchmarks: "avx512" or "openblas".
    public var activeName: String { usesVectorKernels ? "avx512" : "openblas" }
}
