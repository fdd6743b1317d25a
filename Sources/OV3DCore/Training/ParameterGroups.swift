/// Parameter groups: which parameters get which learning rate and weight decay, selected by
/// state-dict name (as torch's `param_groups`; e.g. CUA-O3D's uncertainty weights with weight
/// decay 0).
///
/// Every parameter belongs to exactly one group: the first listed group with a matching
/// selector, else the default group (the optimizer's own `lr` / `weight_decay`), which always
/// comes last.
public struct ParameterGroupSpec: Sendable, Equatable {
    /// How a group picks parameters by name.
    public enum Selector: Sendable, Equatable {
        /// The exact state-dict key (`final.bias`).
        case exact(String)
        /// Keys starting with the string (`block1.`, `final`).
        case prefix(String)
        /// A shell-style pattern: `*` any run of characters (dots included), `?` one character
        /// (`*.bn.weight`, `final*`).
        case glob(String)

        public func matches(_ name: String) -> Bool {
            switch self {
            case .exact(let s): return name == s
            case .prefix(let s): return name.hasPrefix(s)
            case .glob(let p): return Self.glob(Array(p.utf8), Array(name.utf8))
            }
        }

        /// Iterative glob match with backtracking to the last `*` (linear in practice).
        static func glob(_ p: [UInt8], _ s: [UInt8]) -> Bool {
            var pi = 0, si = 0, star = -1, mark = 0
            while si < s.count {
                if pi < p.count && (p[pi] == UInt8(ascii: "?") || p[pi] == s[si]) {
                    pi += 1; si += 1
                } else if pi < p.count && p[pi] == UInt8(ascii: "*") {
                    star = pi; mark = si; pi += 1
                } else if star >= 0 {
                    pi = star + 1; mark += 1; si = mark
                } else {
                    return false
                }
            }
            while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
            return pi == p.count
        }
    }

    /// A label for records and errors (`group 0`, or the configured name).
    public var name: String
    public var selectors: [Selector]
    /// Overrides of the optimizer's values (nil: inherit).
    public var lr: Double?
    public var weightDecay: Double?

    public init(name: String, selectors: [Selector], lr: Double? = nil, weightDecay: Double? = nil) {
        self.name = name; self.selectors = selectors; self.lr = lr; self.weightDecay = weightDecay
    }
}

/// One resolved group: its parameters (indices into `ParameterSet.entries`) and hyper-parameters.
public struct ParameterGroup: Sendable, Equatable {
    public var name: String
    public var entryIndices: [Int]
    /// The group's initial learning rate (torch's `initial_lr`, what schedules scale).
    public var baseLR: Double
    public var weightDecay: Double
}

extension ParameterGroupSpec {
    /// Resolves `specs` over the parameters of `set`: explicit groups in order, then the default
    /// group with the parameters no selector matched (omitted when empty). A group that matches
    /// nothing is an error (a misspelt name would otherwise silently train with the defaults).
    public static func resolve(_ specs: [ParameterGroupSpec], over set: ParameterSet,
                               defaultLR: Double, defaultWeightDecay: Double) throws -> [ParameterGroup] {
        var groups = specs.map {
            ParameterGroup(name: $0.name, entryIndices: [], baseLR: $0.lr ?? defaultLR,
                           weightDecay: $0.weightDecay ?? defaultWeightDecay)
        }
        var rest: [Int] = []
        for (i, e) in set.entries.enumerated() {
            if let g = specs.firstIndex(where: { $0.selectors.contains { $0.matches(e.name) } }) {
                groups[g].entryIndices.append(i)
            } else {
                rest.append(i)
            }
        }
        for g in groups where g.entryIndices.isEmpty {
            throw OV3DError.invalidArgument("optimizer.param_groups: group '\(g.name)' matches no parameter")
        }
        if !rest.isEmpty || groups.isEmpty {
            groups.append(ParameterGroup(name: "default", entryIndices: rest, baseLR: defaultLR, weightDecay: defaultWeightDecay))
        }
        return groups
    }
}
