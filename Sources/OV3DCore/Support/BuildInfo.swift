import CImageIO
import COpenBLAS
import CPCLBridge
import CZlib

/// What this build of the library runs with: the compute kernels in use and the libraries
/// compiled in, with their versions (`ov3d version` prints it).
public enum BuildInfo {
    /// A library or capability of the build.
    public struct Feature: Sendable, Equatable {
        public var name: String
        public var detail: String
    }

    /// Kernels first, then PCL, libpng, zlib, OpenBLAS and the readers built in.
    public static var features: [Feature] {
        var f = [Feature(name: "kernels", detail: ComputeKernels.description)]
        f.append(Feature(name: "cpu", detail: ComputeKernels.cpuHasVectorKernels ? "x86-64 with AVX-512F" : "no AVX-512F"))
        f.append(Feature(name: "PCL", detail: String(cString: ov3d_pcl_version())
                         + " (superpoints: VCCS, region growing; PCD writing; cross-check readers)"))
        f.append(Feature(name: "libpng", detail: String(cString: ov3d_png_version()) + " (depth/feature frames, rendered pictures)"))
        f.append(Feature(name: "zlib", detail: String(cString: zlibVersion()) + " (deflated checkpoints, gzip vocabularies)"))
        var blas = "OpenBLAS"
        if let c = openblas_get_config() { blas = String(cString: c) }
        f.append(Feature(name: "BLAS", detail: blas))
        f.append(Feature(name: "checkpoints", detail: "torch zip (.pth, .pth.tar), TorchScript (OpenAI CLIP .pt, read as data), legacy torch, safetensors"))
        f.append(Feature(name: "point files", detail: "PLY, PCD (ascii, binary, binary_compressed), npy, .bin LiDAR"))
        return f
    }
}
