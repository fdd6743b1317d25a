import ArgumentParser
import Foundation
import OV3DCore

/// `ov3d eval --pred PRED.npy --gt GT.npy (--num-classes K | --label-set NAME) [--ignore 255] [--json]`
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score per-point predictions against ground truth (confusion matrix, IoU, accuracy, mIoU, mAcc).",
        discussion: """
        Standard mode (default): per-class IoU = TP/(TP+FP+FN) and accuracy = TP/#GT; mIoU and mAcc
        average over the classes present in the ground truth after removing ignored points;
        predictions outside [0, K) (e.g. 256 = no 2D feature) are wrong. --openscene reproduces
        OpenScene's util/metric.py: out-of-range predictions are cropped from IoU (not from
        accuracy) and the means are divided by K. --json prints one object with miou, macc and
        per-class iou/acc arrays (null where a class is absent).
        """)

    @Option(name: .long, help: "Predicted labels: N integers (.npy).")
    var pred: String
    @Option(name: .long, help: "Ground-truth labels: N integers (.npy).")
    var gt: String
    @Option(name: .customLong("num-classes"), help: "Number of classes K.")
    var numClasses: Int?
    @Option(name: .customLong("label-set"), help: "A built-in label set (its class count and names): \(labelSetNames().joined(separator: ", ")).")
    var labelSet: String?
    @Option(name: .long, help: "Ground-truth label to ignore (default 255).")
    var ignore: Int = 255
    @Flag(name: .long, help: "Print one JSON object.")
    var json = false
    @Flag(name: .long, help: "OpenScene's conventions (crop no-feature points, average over all K classes).")
    var openscene = false

    func validate() throws {
        guard (numClasses == nil) != (labelSet == nil) else { throw ValidationError("give exactly one of --num-classes and --label-set") }
        if let k = numClasses, !(1...4096).contains(k) { throw ValidationError("--num-classes must be 1...4096") }
        if let s = labelSet, classNames(labelSet: s) == nil {
            throw ValidationError("unknown label set '\(s)'; known: \(labelSetNames().joined(separator: ", "))")
        }
        guard Int32(exactly: ignore) != nil else { throw ValidationError("--ignore is out of range") }
    }

    func labels(_ path: String) throws -> [Int32] {
        let t = try NPY.read(path: path)
        try require(!t.dtype.isFloatingPoint, "\(path): labels must be integers, got \(t.dtype.rawValue)")
        try require(t.count > 0, "\(path): no labels")
        return try t.int64s().map {
            guard let v = Int32(exactly: $0) else { throw OV3DError.invalidArgument("\(path): label \($0) is out of range") }
            return v
        }
    }

    func run() throws {
        do {
            let names = labelSet.flatMap { classNames(labelSet: $0) }
            let k = numClasses ?? names!.count
            let m = try SegmentationMetrics.evaluate(predictions: try labels(pred), groundTruth: try labels(gt), classes: k,
                                                     ignore: Int32(ignore), convention: openscene ? .openScene : .standard)
            print(json ? jsonReport(m, names: names) : table(m, names: names), terminator: "")
        } catch let e as OV3DError {
            FileHandle.standardError.write("ov3d eval: \(e.message)\n".data(using: .utf8)!)
            throw ExitCode(e.status == .invalidArgument ? 2 : 1)
        }
    }

    func jsonReport(_ m: SegmentationMetrics, names: [String]?) -> String {
        func num(_ v: Double?) -> JSON { v.map { .number($0) } ?? .null }
        var o: [(String, JSON)] = [
            ("convention", .string(m.convention == .openScene ? "openscene" : "standard")),
            ("num_classes", .number(Double(m.iou.count))),
            ("miou", .number(m.meanIoU)), ("macc", .number(m.meanAccuracy)),
            ("overall_accuracy", .number(m.overallAccuracy)),
            ("evaluated_points", .number(Double(m.evaluatedPoints))),
            ("present_classes", .array(m.presentClasses.map { .number(Double($0)) })),
            ("iou", .array(m.iou.map(num))), ("acc", .array(m.accuracy.map(num))),
        ]
        if let names { o.insert(("classes", .array(names.map { .string($0) })), at: 2) }
        return JSON.object(o).description + "\n"
    }

    func table(_ m: SegmentationMetrics, names: [String]?) -> String {
        func f(_ v: Double?) -> String { v.map { String(format: "%7.4f", $0) } ?? "      -" }
        func pad(_ t: String, _ n: Int) -> String { t.count >= n ? t : t + String(repeating: " ", count: n - t.count) }
        var s = pad("id", 5) + pad("class", 23) + "    IoU     Acc\n"
        for c in 0..<m.iou.count {
            s += pad("\(c)", 5) + pad(names?[c] ?? "class \(c)", 23) + f(m.iou[c]) + " " + f(m.accuracy[c]) + "\n"
        }
        s += String(format: "mIoU %.4f  mAcc %.4f  overall acc %.4f  (%@, %d classes present, %lld points)\n",
                    m.meanIoU, m.meanAccuracy, m.overallAccuracy, (m.convention == .openScene ? "OpenScene conventions" : "standard") as NSString,
                    m.presentClasses.count, m.evaluatedPoints)
        return s
    }
}

/// The class names of a built-in label set (Text/LabelSets.swift), or nil.
func classNames(labelSet name: String) -> [String]? { LabelSet.named(name)?.classNames }

/// Names of the built-in label sets.
func labelSetNames() -> [String] { LabelSet.builtinNames }
