#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import OV3DCore

/// CI runs the convolution suites a second time with `OV3D_KERNELS=blas` (scripts/test.sh), so the
/// OpenBLAS path that CPUs without AVX-512F take is tested on this machine too. This checks that
/// the variable took effect in that run (in a normal run, `.automatic` follows what the CPU has).
@Suite struct KernelSelectionTests {
    @Test func environmentVariableForcesOpenBLAS() {
        let forced = getenv("OV3D_KERNELS").map { String(cString: $0) } == "blas"
        if forced {
            #expect(!ComputeKernels.vectorKernelsAvailable)
            #expect(ComputeKernels.automatic.activeName == "openblas")
            #expect(Workspace().kernels.usesVectorKernels == false)
        } else {
            #expect(ComputeKernels.automatic.usesVectorKernels == ComputeKernels.vectorKernelsAvailable)
        }
        #expect(!ComputeKernels.blas.usesVectorKernels)
    }
}
