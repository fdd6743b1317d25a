import Foundation
import Testing
@testable import OV3DCore

/// Fixtures from tools/metric_reference.py: scikit-learn (standard) and OpenScene's metric
/// conventions, on random labels with ignore (255) and no-feature (256) entries.
@Suite struct EvaluationTests {
    struct Case { var name: String; var classes: Int; var expected: [String: Any] }

    static func cases() throws -> [Case] {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("evaluation/expected.json")))
        let j = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (j["cases"] as! [[String: Any]]).map { Case(name: $0["name"] as! String, classes: $0["classes"] as! Int, expected: $0) }
    }

    func check(_ m: SegmentationMetrics, _ e: [String: Any], _ what: String) {
        #expect(abs(m.meanIoU - (e["miou"] as! Double)) < 1e-12, "\(what) mIoU \(m.meanIoU)")
        #expect(abs(m.meanAccuracy - (e["macc"] as! Double)) < 1e-12, "\(what) mAcc \(m.meanAccuracy)")
        for (key, got) in [("iou", m.iou), ("acc", m.accuracy)] {
            let want = e[key] as! [Any]
            #expect(want.count == got.count)
            for (c, w) in want.enumerated() {
                if let w = w as? Double {
                    #expect(got[c] != nil && abs(got[c]! - w) < 1e-12, "\(what) \(key)[\(c)] = \(String(describing: got[c])), want \(w)")
                } else {
                    #expect(got[c] == nil, "\(what) \(key)[\(c)] should be undefined")
                }
            }
        }
    }

    @Test func matchesScikitLearnAndOpenScene() throws {
        for c in try Self.cases() {
            let pred = try NPY.read(path: TestPaths.fixture("evaluation/\(c.name)_pred.npy")).int64s().map { Int32($0) }
            let gt = try NPY.read(path: TestPaths.fixture("evaluation/\(c.name)_gt.npy")).int64s().map { Int32($0) }
            let s = try SegmentationMetrics.evaluate(predictions: pred, groundTruth: gt, classes: c.classes, ignore: 255)
            check(s, c.expected["standard"] as! [String: Any], "\(c.name) standard")
            let o = try SegmentationMetrics.evaluate(predictions: pred, groundTruth: gt, classes: c.classes, ignore: 255, convention: .openScene)
            check(o, c.expected["openscene"] as! [String: Any], "\(c.name) openscene")
            #expect(s.meanIoU != o.meanIoU) // the fixtures exercise the difference
            // Accumulating scene by scene gives the same global matrix.
            var m = try ConfusionMatrix(classes: c.classes)
            let half = pred.count / 2
            try m.add(predictions: Array(pred[..<half]), groundTruth: Array(gt[..<half]))
            try m.add(predictions: Array(pred[half...]), groundTruth: Array(gt[half...]))
            #expect(SegmentationMetrics(m) == s)
        }
    }

    @Test func handComputed() throws {
        // gt:   0 0 1 1 2 255 ; pred: 0 1 1 1 256 0
        let m = try SegmentationMetrics.evaluate(predictions: [0, 1, 1, 1, 256, 0], groundTruth: [0, 0, 1, 1, 2, 255], classes: 4)
        #expect(m.iou[0] == 0.5 && m.iou[1] == 2.0 / 3 && m.iou[2] == 0 && m.iou[3] == nil)
        #expect(m.accuracy[0] == 0.5 && m.accuracy[1] == 1 && m.accuracy[2] == 0 && m.accuracy[3] == nil)
        #expect(m.presentClasses == [0, 1, 2])
        #expect(abs(m.meanIoU - (0.5 + 2.0 / 3) / 3) < 1e-15)
        let o = try SegmentationMetrics.evaluate(predictions: [0, 1, 1, 1, 256, 0], groundTruth: [0, 0, 1, 1, 2, 255], classes: 4, convention: .openScene)
        #expect(o.iou[2] == nil && o.accuracy[2] == 0) // the no-feature point leaves the union
        #expect(abs(o.meanIoU - (0.5 + 2.0 / 3) / 4) < 1e-15)
        #expect(throws: OV3DError.self) { try SegmentationMetrics.evaluate(predictions: [0], groundTruth: [7], classes: 4) }
        #expect(throws: OV3DError.self) { try SegmentationMetrics.evaluate(predictions: [0, 1], groundTruth: [0], classes: 4) }
        #expect(throws: OV3DError.self) { try ConfusionMatrix(classes: 0) }
    }
}
