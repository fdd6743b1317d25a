/// A simulated teacher's confusion matrix over the classes it can name: `row(c)` is the
/// distribution of what it reports for an object of true class c. Built from a per-class list
/// of systematic confusions ("calls a picture a wall 55 % of the time") plus a small uniform
/// leakage to every other class; the rest stays on the diagonal.
public struct TeacherConfusion: Sendable, Equatable {
    public let classes: Int
    /// Row-major `classes × classes`, rows sum to 1.
    public private(set) var matrix: [Float]

    /// `confusions`: (true class, reported class, probability) by index.
    public init(classes: Int, confusions: [(Int, Int, Float)], leakage: Float) {
        self.classes = classes
        var m = [Float](repeating: 0, count: classes * classes)
        for c in 0..<classes {
            let others = Float(max(classes - 1, 1))
            for j in 0..<classes where j != c { m[c * classes + j] = leakage / others }
            for (a, b, p) in confusions where a == c && b != c && (0..<classes).contains(b) { m[c * classes + b] += p }
            var off: Float = 0
            for j in 0..<classes where j != c { off += m[c * classes + j] }
            if off > 0.98 { for j in 0..<classes where j != c { m[c * classes + j] *= 0.98 / off }; off = 0.98 }
            m[c * classes + c] = 1 - off
        }
        matrix = m
    }

    /// By class name (names index `names`; unknown names are ignored).
    public init(names: [String], confusions: [(String, String, Float)], leakage: Float) {
        let idx = confusions.compactMap { (a, b, p) -> (Int, Int, Float)? in
            guard let i = names.firstIndex(of: a), let j = names.firstIndex(of: b) else { return nil }
            return (i, j, p)
        }
        self.init(classes: names.count, confusions: idx, leakage: leakage)
    }

    public func probability(true c: Int, reported j: Int) -> Float { matrix[c * classes + j] }

    /// Draws a reported class for true class `c` with a uniform `u` in [0, 1).
    public func draw(true c: Int, uniform u: Float) -> Int {
        var acc: Float = 0
        for j in 0..<classes {
            acc += matrix[c * classes + j]
            if u < acc { return j }
        }
        return c
    }

    /// This matrix moved toward the identity by `relief` (0...1): the teacher in easier
    /// conditions (an object alone on a plain background, without the context that misleads it).
    public func relieved(_ relief: Float) -> TeacherConfusion {
        var out = self
        let r = max(0, min(1, relief))
        for c in 0..<classes {
            for j in 0..<classes { out.matrix[c * classes + j] = (1 - r) * matrix[c * classes + j] + (j == c ? r : 0) }
        }
        return out
    }
}
