#if canImport(Glibc)
import Glibc
#endif

/// torch's `CrossEntropyLoss(ignore_index=…)` with mean reduction: rows whose label equals
/// `ignore` (255 in OpenScene/CUA-O3D; nil = none) take no part; the loss is the mean over the
/// other rows of `logsumexp(z) − z[y]`, and `∂L/∂z = (softmax(z) − onehot(y)) / count`.
///
/// Used by the linear probes (ignore 255) and SAS's self-distillation (pseudo-labels, no ignore).
/// No counted row: loss 0, zero gradient (torch returns NaN). A label outside 0..<classes that is
/// not `ignore` is an error.
public enum CrossEntropyLoss {
    public static let defaultIgnore: Int32 = 255

    /// Loss and `∂L/∂logits` (`rows × classes`).
    public static func evaluate(logits: [Float], labels: [Int32], classes: Int, ignore: Int32? = defaultIgnore) throws -> (loss: Float, gradient: [Float]) {
        let r = try evaluate(logits: logits, labels: labels, classes: classes, ignore: ignore) as (Double, [Float])
        return (Float(r.0), r.1)
    }

    /// The same in any float type; the loss in Double.
    public static func evaluate<T: BinaryFloatingPoint>(logits: [T], labels: [Int32], classes: Int,
                                                       ignore: Int32? = defaultIgnore) throws -> (Double, [T]) {
        try require(classes > 0, "cross-entropy: classes must be positive")
        try require(logits.count == labels.count * classes,
                    "cross-entropy: \(logits.count) logits for \(labels.count) labels × \(classes) classes")
        var used = 0
        for (i, y) in labels.enumerated() where y != ignore {
            try require(y >= 0 && Int(y) < classes, "cross-entropy: row \(i) has label \(y), outside 0..<\(classes)\(ignore.map { " (ignore \($0))" } ?? "")")
            used += 1
        }
        var grad = [T](repeating: 0, count: logits.count)
        guard used > 0 else { return (0, grad) }
        let inv = 1 / Double(used)
        var total = 0.0
        logits.withUnsafeBufferPointer { z in
            grad.withUnsafeMutableBufferPointer { g in
                for (i, y) in labels.enumerated() where y != ignore {
                    let row = i * classes
                    var m = -Double.infinity
                    for c in 0..<classes { m = max(m, Double(z[row + c])) }
                    var s = 0.0
                    for c in 0..<classes { s += exp(Double(z[row + c]) - m) }
                    let lse = m + log(s)
                    total += lse - Double(z[row + Int(y)])
                    for c in 0..<classes {
                        let p = exp(Double(z[row + c]) - lse)
                        g[row + c] = T((p - (c == Int(y) ? 1 : 0)) * inv)
                    }
                }
            }
        }
        return (total * inv, grad)
    }
}
