import ArgumentParser
import Foundation
import OV3DCore

/// `ov3d superpoints`: superpoints of a mesh or point cloud, written as one int32 id per vertex
/// or point (dense ids; -1 = unassigned), in input order.
struct SuperpointsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "superpoints",
        abstract: "Compute superpoints (mesh | vccs | region-growing | graph) of a PLY/PCD/npy file.")

    enum Method: String, ExpressibleByArgument, CaseIterable {
        case mesh, vccs, regionGrowing = "region-growing", graph
    }

    @Option(name: .long, help: "mesh | vccs | region-growing | graph") var method: Method
    @Option(name: .customLong("k-thresh"), help: "Felzenszwalb threshold k (mesh, graph).") var kThresh: Float = 0.01
    @Option(name: .customLong("seg-min-verts"), help: "Merge segments smaller than this (mesh, graph).") var segMinVerts: Int = 20
    // graph
    @Option(name: .customLong("graph-k"), help: "graph: k nearest neighbours (default 10).") var graphK: Int = 10
    @Option(name: .customLong("graph-voxel"), help: "graph: use voxel adjacency with this voxel size (metres) instead of kNN.") var graphVoxel: Float?
    @Option(name: .customLong("normal-k"), help: "graph/region-growing: neighbours for normal estimation.") var normalK: Int?
    // vccs
    @Option(name: .customLong("voxel-resolution"), help: "vccs: voxel resolution (metres).") var voxelResolution: Float = 0.05
    @Option(name: .customLong("seed-resolution"), help: "vccs: seed resolution (metres).") var seedResolution: Float = 0.25
    @Option(name: .customLong("color-importance")) var colorImportance: Float = 0.2
    @Option(name: .customLong("spatial-importance")) var spatialImportance: Float = 0.4
    @Option(name: .customLong("normal-importance")) var normalImportance: Float = 1.0
    @Flag(name: .customLong("single-camera-transform"), help: "vccs: use PCL's single-camera transform.") var singleCamera = false
    // region growing
    @Option(name: .customLong("rg-k"), help: "region-growing: neighbours.") var rgK: Int = 30
    @Option(name: .customLong("min-cluster-size")) var minClusterSize: Int = 50
    @Option(name: .customLong("max-cluster-size")) var maxClusterSize: Int = 1_000_000
    @Option(name: .customLong("smoothness"), help: "region-growing: smoothness threshold (degrees).") var smoothness: Float = 3.0
    @Option(name: .customLong("curvature"), help: "region-growing: curvature threshold.") var curvature: Float = 1.0

    @Option(name: .customLong("out-ids"), help: "Output .npy: int32 segment id per vertex/point.") var outIDs: String
    @Option(name: .customLong("out-ply"), help: "Optional PLY with a colour and label per segment.") var outPLY: String?
    @Flag(name: .customLong("quiet")) var quiet = false
    @OptionGroup var memory: MemoryOption
    @Argument(help: "Input PLY / PCD / npy.") var input: String

    func run() throws {
        try failing("superpoints") {
            let tRead = DispatchTime.now().uptimeNanoseconds
            let loaded = try CloudFile.read(input)
            let readMs = Double(DispatchTime.now().uptimeNanoseconds - tRead) / 1e6
            let m: SuperpointMethod
            switch method {
            case .mesh:
                m = .mesh(MeshSegmentation.Params(kThresh: kThresh, segMinVerts: segMinVerts))
            case .graph:
                var p = GraphSegmentation.Params()
                p.kThresh = kThresh
                p.segMinVerts = segMinVerts
                p.neighbourhood = graphVoxel.map { .voxel($0) } ?? .knn(graphK)
                if let normalK { p.normalK = normalK }
                m = .graph(p)
            case .vccs:
                var p = PCLSegmentation.VCCSParams()
                p.voxelResolution = voxelResolution
                p.seedResolution = seedResolution
                p.colorImportance = colorImportance
                p.spatialImportance = spatialImportance
                p.normalImportance = normalImportance
                p.useSingleCameraTransform = singleCamera
                m = .vccs(p)
            case .regionGrowing:
                var p = PCLSegmentation.RegionGrowingParams()
                p.k = rgK
                if let normalK { p.normalK = normalK }
                p.minClusterSize = minClusterSize
                p.maxClusterSize = maxClusterSize
                p.smoothnessDegrees = smoothness
                p.curvatureThreshold = curvature
                m = .regionGrowing(p)
            }
            var cloud = loaded.cloud
            if method != .mesh && !loaded.faces.isEmpty { cloud.width = 0; cloud.height = 0 }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let sp: Superpoints
            do { sp = try Superpoints.compute(cloud, faces: loaded.faces, method: m, memoryLimit: memory.limit) } catch let e as OV3DError { throw e.context(input) }
            let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
            try NPY.write(try Tensor(int32: sp.ids, shape: [sp.ids.count]), path: outIDs)
            if let outPLY {
                try CloudFile.writeSegmented(loaded.cloud, labels: sp.ids, to: outPLY, format: .plyBinaryLE,
                                             faces: method == .mesh ? loaded.faces : [])
            }
            if !quiet {
                print("superpoints: \(sp.count) segments over \(sp.ids.count) points (\(method.rawValue), \(String(format: "%.1f", ms)) ms); read \(String(format: "%.1f", readMs)) ms")
            }
        }
    }
}
