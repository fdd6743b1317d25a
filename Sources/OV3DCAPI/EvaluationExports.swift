import CSupport
import OV3DCore

// ov3d.h section "Fusion and evaluation": metrics into caller buffers.

@_cdecl("ov3d_evaluate")
public func ov3d_evaluate(_ pred: UnsafePointer<Int32>?, _ gt: UnsafePointer<Int32>?, _ n: Int, _ classes: Int32,
                          _ ignore: Int32, _ convention: Int32, _ out: UnsafeMutablePointer<ov3d_eval_result>?,
                          _ iou: UnsafeMutablePointer<Double>?, _ acc: UnsafeMutablePointer<Double>?, _ cap: Int) -> Int32 {
    capi {
        guard let pred, let gt else { throw OV3DError.invalidArgument("pred or gt is NULL") }
        try require(n > 0 && n <= maxBufferElements, "n_points must be 1...\(maxBufferElements), got \(n)")
        try require(classes > 0 && classes <= 4096, "n_classes must be 1...4096, got \(classes)")
        let conv: MetricConvention
        switch convention {
        case Int32(OV3D_METRIC_STANDARD.rawValue): conv = .standard
        case Int32(OV3D_METRIC_OPENSCENE.rawValue): conv = .openScene
        default: throw OV3DError.invalidArgument("convention \(convention) is not an ov3d_metric_convention")
        }
        if iou != nil || acc != nil { try require(cap >= Int(classes), "class_capacity \(cap) < n_classes \(classes)") }
        var outSize = 0
        if let out {
            outSize = Int(UnsafeRawPointer(out).loadUnaligned(as: UInt32.self))
            try require(outSize == MemoryLayout<ov3d_eval_result>.size,
                        "out->struct_size is \(outSize), expected \(MemoryLayout<ov3d_eval_result>.size) (set it to sizeof(ov3d_eval_result))")
        }
        var m = try ConfusionMatrix(classes: Int(classes))
        try m.add(predictions: UnsafeBufferPointer(start: pred, count: n), groundTruth: UnsafeBufferPointer(start: gt, count: n),
                  ignore: ignore >= 0 ? ignore : nil)
        let r = SegmentationMetrics(m, convention: conv)
        if let out {
            var v = ov3d_eval_result()
            v.struct_size = UInt32(outSize)
            v.n_classes = classes
            v.n_present_classes = Int32(r.presentClasses.count)
            v.reserved = 0
            v.n_evaluated_points = r.evaluatedPoints
            v.miou = r.meanIoU
            v.macc = r.meanAccuracy
            v.overall_accuracy = r.overallAccuracy
            out.pointee = v
        }
        for c in 0..<Int(classes) {
            iou?[c] = r.iou[c] ?? -1
            acc?[c] = r.accuracy[c] ?? -1
        }
    }
}
