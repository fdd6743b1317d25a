// swift-tools-version:6.0
// ov3d — open-vocabulary 3D scene understanding for robots.
//
// Targets (see DEVELOPERS.md for who owns what):
//   CPCLBridge  C++ wrapper around PCL behind a plain C header (no PCL type crosses it)
//   COpenBLAS   system module for OpenBLAS's cblas
//   CZlib       system module for zlib (inflate for gzip/zip, crc32)
//   CImageIO    C wrapper around libpng (16-bit depth PNGs) with setjmp error handling
//   CSupport    C helpers for the ABI: thread-local last error, log trampoline
//   CKernels    hot compute loops in C with explicit SIMD and runtime CPU dispatch (always -O3)
//   OV3DCore    the Swift core (one module, a folder per subsystem)
//   OV3DCAPI    @_cdecl exports -> libov3d.so (product "ov3d")
//   OV3DTool    the `ov3d` command-line tool
import PackageDescription

let package = Package(
    name: "ov3d",
    products: [
        .library(name: "ov3d", type: .dynamic, targets: ["OV3DCAPI"]),
        .executable(name: "ov3d-tool", targets: ["OV3DTool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CPCL", path: "Sources/CPCL", pkgConfig: "pcl_common",
                       providers: [.apt(["libpcl-dev"])]),
        .target(
            name: "CPCLBridge",
            dependencies: ["CPCL"],
            exclude: ["compat/README.md"],
            cxxSettings: [
                .headerSearchPath("compat"),
                .unsafeFlags(["-fvisibility=hidden", "-fvisibility-inlines-hidden"]),
            ],
            linkerSettings: [
                // Only the PCL components the bridge uses: no pcl_io (VTK, OpenNI, usb, pcap).
                .linkedLibrary("pcl_segmentation"),
                .linkedLibrary("pcl_features"), .linkedLibrary("pcl_search"),
                .linkedLibrary("pcl_kdtree"), .linkedLibrary("pcl_octree"),
                .linkedLibrary("pcl_common"),
            ]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CImageIO", cSettings: [.unsafeFlags(["-fvisibility=hidden"])], linkerSettings: [.linkedLibrary("png")]),
        .target(name: "CSupport", cSettings: [.unsafeFlags(["-fvisibility=hidden"])]),
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-fvisibility=hidden"])]),
        .target(
            name: "OV3DCore",
            dependencies: ["CPCLBridge", "COpenBLAS", "CZlib", "CImageIO", "CSupport", "CKernels"]),
        .target(name: "OV3DCAPI", dependencies: ["OV3DCore", "CSupport"],
                // A SONAME, so hosts linking libov3d.so by path record "libov3d.so" (make install, CMake).
                linkerSettings: [.unsafeFlags(["-Xlinker", "-soname=libov3d.so"])]),
        .executableTarget(
            name: "OV3DTool",
            dependencies: ["OV3DCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "OV3DCoreTests", dependencies: ["OV3DCore", "OV3DCAPI", "CSupport"]),
    ],
    cxxLanguageStandard: .cxx17
)
