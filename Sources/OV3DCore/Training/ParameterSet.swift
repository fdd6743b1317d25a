/// The trainable parameters of a network and their gradients, in flat buffers, named by the
/// OpenScene / MinkowskiEngine state-dict keys (no `net3d.` prefix): `conv0p1s1.kernel`,
/// `bn0.bn.weight`, `final.bias`, ... (minkunet.md §5).
///
/// One contiguous `values` and one `grads` buffer of equal length; every parameter is a slice
/// `offset ..< offset + count` of both, in registration (state-dict) order. Optimizers work on
/// the flat buffers through `entries` (parameter groups select entries by name); networks read
/// their weights from `values` and accumulate into `grads` in `backward`.
///
/// Not thread-safe: one training run owns its set.
public final class ParameterSet {
    /// What a parameter is, for parameter groups and initialisation.
    public enum Role: String, Sendable {
        /// A convolution kernel (`*.kernel`): `[k³, in, out]`, or `[in, out]` for 1×1.
        case convKernel
        /// BatchNorm γ (`*.bn.weight`) and β (`*.bn.bias`).
        case bnWeight, bnBias
        /// A head's bias (`final.bias`).
        case bias
        /// Anything else (e.g. CUA-O3D's uncertainty weights `params`).
        case other
    }

    public struct Entry: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let role: Role
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
        public var range: Range<Int> { offset ..< offset + count }
    }

    public private(set) var entries: [Entry] = []
    public var values: [Float] = []
    public var grads: [Float] = []
    private var indexByName: [String: Int] = [:]

    public init() {}

    /// Reserves room for `count` parameters in all (values and gradients) on the fallible path
    /// (outOfMemory instead of a trap), so that the `add`s that follow do not reallocate.
    public func reserve(total count: Int) throws {
        try Memory.reserve(Float.self, count: 2 * count, what: "parameters and gradients (\(count) values)")
        values.reserveCapacity(count)
        grads.reserveCapacity(count)
    }

    /// Appends a parameter (values zero) and returns its entry.
    @discardableResult
    public func add(_ name: String, shape: [Int], role: Role) throws -> Entry {
        guard indexByName[name] == nil else { throw OV3DError.internal("parameter '\(name)' added twice") }
        let (n, o) = shape.reduce((1, false)) { acc, d in
            let m = acc.0.multipliedReportingOverflow(by: d)
            return (m.partialValue, acc.1 || m.overflow || d < 0)
        }
        guard !o else { throw OV3DError.invalidArgument("parameter '\(name)' has an invalid shape \(shape)") }
        let e = Entry(name: name, shape: shape, role: role, offset: values.count)
        indexByName[name] = entries.count
        entries.append(e)
        values.append(contentsOf: repeatElement(0, count: n))
        grads.append(contentsOf: repeatElement(0, count: n))
        return e
    }

    public var count: Int { values.count }

    /// The entry named `name`, or nil.
    public func entry(_ name: String) -> Entry? { indexByName[name].map { entries[$0] } }

    /// The entry named `name`, or an internal error.
    public func require(_ name: String) throws -> Entry {
        guard let e = entry(name) else { throw OV3DError.internal("no parameter '\(name)'") }
        return e
    }

    /// Sets every gradient to zero (before a step's backward).
    public func zeroGrads() {
        grads.withUnsafeMutableBufferPointer { g in g.update(repeating: 0) }
    }
}
