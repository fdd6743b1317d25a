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

    /// Values `OV3D_KERNELS` may take: unset or empty (same as `auto`), `auto` (ov3d's vector
    /// kernels where the CPU has AVX-512F, else OpenBLAS), `blas` / `openblas` (OpenBLAS always).
    public static let allowedEnvironmentValues = ["auto", "blas", "openblas"]

    /// `OV3D_KERNELS` as read once, when the library first looks: the choice it makes, or the
    /// invalid-argument error for any other value (a typo must not silently run other kernels).
    public static let environment: Result<ComputeKernels, OV3DError> = parseEnvironment(
        getenv("OV3D_KERNELS").map { String(cString: $0) })

    /// The choice `value` of `OV3D_KERNELS` makes (nil: unset).
    public static func parseEnvironment(_ value: String?) -> Result<ComputeKernels, OV3DError> {
        guard let value, !value.isEmpty else { return .success(.automatic) }
        switch value {
        case "auto": return .success(.automatic)
        case "blas", "openblas": return .success(.blas)
        default:
            let shown = value.utf8.count <= 64 ? value : String(value.prefix(64)) + "..."
            return .failure(.invalidArgument(
                "environment variable OV3D_KERNELS='\(shown)' is not a kernel choice (allowed: unset, \(allowedEnvironmentValues.joined(separator: ", ")))"))
        }
    }

    /// Throws the invalid-argument error when `OV3D_KERNELS` holds an unknown value. Called by
    /// everything that runs kernels before it does: session creation (`ov3d_session_create`),
    /// every sparse convolution, the CLIP text tower, and `ov3d version`.
    public static func checkEnvironment() throws {
        if case .failure(let e) = environment { throw e }
    }

    /// Whether ov3d's vector kernels run on this CPU. False when the CPU lacks AVX-512F or
    /// `OV3D_KERNELS=blas` (or `openblas`) was set when the library first looked.
    public static let vectorKernelsAvailable: Bool = {
        if case .success(.blas) = environment { return false }
        return cpuHasVectorKernels
    }()

    /// Whether this CPU can run ov3d's vector kernels (AVX-512F), whatever `OV3D_KERNELS` says.
    public static let cpuHasVectorKernels: Bool = ov3d_kernel_isa() >= Int32(OV3D_KERNEL_ISA_AVX512.rawValue)

    /// True when this choice runs ov3d's vector kernels on this CPU.
    public var usesVectorKernels: Bool { self == .automatic && Self.vectorKernelsAvailable }

    /// A short name for logs and benchmarks: "avx512" or "openblas".
    public var activeName: String { usesVectorKernels ? "avx512" : "openblas" }

    /// One line saying which kernels run by default and why, e.g. "avx512 (ov3d's AVX-512F
    /// kernels)" or "openblas (OV3D_KERNELS=blas)".
    public static var description: String {
        if vectorKernelsAvailable { return "avx512 (ov3d's AVX-512F kernels; OpenBLAS for other products)" }
        if case .success(.blas) = environment { return "openblas (OV3D_KERNELS asks for it; the CPU \(cpuHasVectorKernels ? "has" : "lacks") AVX-512F)" }
        return "openblas (this CPU lacks AVX-512F)"
    }
}
