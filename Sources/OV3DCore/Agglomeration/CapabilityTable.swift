/// Per-teacher, per-class capabilities (SAS `sas-and-superpoints.md` §3): `values[t][c]` is how
/// well teacher `t` segments class `c` (SAS: mean IoU on synthetic images; "other" = 0).
public struct CapabilityTable: Sendable, Equatable {
    public let teachers: Int
    public let classes: Int
    /// Row-major `teachers × classes`, each finite and >= 0.
    public let values: [Float]

    public init(teachers: Int, classes: Int, values: [Float]) throws {
        try require(teachers > 0 && teachers <= 64, "capabilities: teacher count must be 1...64, got \(teachers)")
        try require(classes > 0 && classes <= 65536, "capabilities: class count must be 1...65536, got \(classes)")
        try require(values.count == teachers * classes,
                    "capabilities: \(teachers) teachers × \(classes) classes needs \(teachers * classes) values, got \(values.count)")
        for v in values { try require(v.isFinite && v >= 0, "capabilities: values must be finite and >= 0 (got \(v))") }
        self.teachers = teachers
        self.classes = classes
        self.values = values
    }

    public init(rows: [[Float]]) throws {
        try require(!rows.isEmpty, "capabilities: no teachers")
        let k = rows[0].count
        try require(rows.allSatisfy { $0.count == k }, "capabilities: teachers have different class counts")
        try self.init(teachers: rows.count, classes: k, values: rows.flatMap { $0 })
    }

    public subscript(teacher: Int, cls: Int) -> Float { values[teacher * classes + cls] }

    /// Loads `.npy` capability files: one per teacher (each a length-K vector, as SAS's
    /// `capability/{lseg,seem}_miou.npy`), or a single `T × K` matrix.
    public static func load(paths: [String]) throws -> CapabilityTable {
        try require(!paths.isEmpty, "capabilities: no files given")
        var rows: [[Float]] = []
        for p in paths {
            let t = try NPY.read(path: p)
            try require(t.dtype.isFloatingPoint, "\(p): capabilities must be floating point, got \(t.dtype.rawValue)")
            switch t.rank {
            case 1: rows.append(t.floats())
            case 2:
                let f = t.floats()
                for r in 0..<t.shape[0] { rows.append(Array(f[(r * t.shape[1])..<((r + 1) * t.shape[1])])) }
            default: throw OV3DError.format("\(p): capabilities must be a vector or a teachers×classes matrix, got shape \(t.shape)")
            }
        }
        do { return try CapabilityTable(rows: rows) } catch let e as OV3DError { throw e.context(paths.joined(separator: ", ")) }
    }
}

/// Builds capabilities from data the host provides (SAS `MCC/miou/cal_miou.py`): for each
/// teacher and class, pairs of a pseudo-ground-truth mask and the teacher's mask for that class
/// on the same image; `capability = Σ|teacher ∩ pseudoGT| / Σ|teacher ∪ pseudoGT|` over all
/// pairs of the class (0 where the union is empty, and for excluded classes such as "other").
public struct CapabilityBuilder: Sendable {
    public let teachers: Int
    public let classes: Int
    private var intersections: [Int64]
    private var unions: [Int64]

    public init(teachers: Int, classes: Int) throws {
        try require(teachers > 0 && teachers <= 64 && classes > 0 && classes <= 65536,
                    "capability builder: teachers must be 1...64 and classes 1...65536")
        self.teachers = teachers
        self.classes = classes
        intersections = [Int64](repeating: 0, count: teachers * classes)
        unions = intersections
    }

    /// Adds one image's masks (non-zero = inside) of equal length.
    public mutating func add(teacher: Int, cls: Int, pseudoGroundTruth: UnsafeBufferPointer<UInt8>, teacherMask: UnsafeBufferPointer<UInt8>) throws {
        try require((0..<teachers).contains(teacher), "capability builder: teacher \(teacher) out of range")
        try require((0..<classes).contains(cls), "capability builder: class \(cls) out of range")
        try require(pseudoGroundTruth.count == teacherMask.count,
                    "capability builder: masks differ in size (\(pseudoGroundTruth.count) vs \(teacherMask.count))")
        var i: Int64 = 0, u: Int64 = 0
        for k in 0..<teacherMask.count {
            let a = teacherMask[k] != 0, b = pseudoGroundTruth[k] != 0
            if a && b { i += 1 }
            if a || b { u += 1 }
        }
        intersections[teacher * classes + cls] += i
        unions[teacher * classes + cls] += u
    }

    public mutating func add(teacher: Int, cls: Int, pseudoGroundTruth: [UInt8], teacherMask: [UInt8]) throws {
        try pseudoGroundTruth.withUnsafeBufferPointer { g in
            try teacherMask.withUnsafeBufferPointer { m in try add(teacher: teacher, cls: cls, pseudoGroundTruth: g, teacherMask: m) }
        }
    }

    /// The table; classes in `excluded` (SAS: "other") get capability 0.
    public func table(excluded: Set<Int> = []) throws -> CapabilityTable {
        var v = [Float](repeating: 0, count: teachers * classes)
        for t in 0..<teachers {
            for c in 0..<classes where !excluded.contains(c) && unions[t * classes + c] > 0 {
                v[t * classes + c] = Float(Double(intersections[t * classes + c]) / Double(unions[t * classes + c]))
            }
        }
        return try CapabilityTable(teachers: teachers, classes: classes, values: v)
    }
}
