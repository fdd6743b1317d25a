/// σ per teacher over training (CUA-O3D logs `AML_Param_1..3` every `print_freq` steps):
/// one record per step with the epoch, the per-head losses and σ, written as JSON lines.
public struct SigmaHistory: Sendable {
    public struct Record: Sendable, Equatable {
        public var step: Int
        public var epoch: Int
        public var losses: [Double]
        public var sigma: [Float]
    }

    public let heads: [String]
    public private(set) var records: [Record] = []

    public init(heads: [String]) { self.heads = heads }

    public mutating func record(step: Int, epoch: Int, losses: [Double], sigma: [Float]) {
        records.append(Record(step: step, epoch: epoch, losses: losses, sigma: sigma))
    }

    /// The last σ of each epoch, in epoch order.
    public var perEpoch: [(epoch: Int, sigma: [Float])] {
        var out = [(epoch: Int, sigma: [Float])]()
        for r in records {
            if let last = out.last, last.epoch == r.epoch { out[out.count - 1].sigma = r.sigma } else { out.append((r.epoch, r.sigma)) }
        }
        return out
    }

    /// One JSON object per record: `{"step":…,"epoch":…,"loss":{head:…},"sigma":{head:…}}`.
    public func jsonLines() -> String {
        var s = ""
        for r in records {
            let loss = JSON.object(zip(heads, r.losses).map { ($0, .number($1)) })
            let sig = JSON.object(zip(heads, r.sigma).map { ($0, .number(Double($1))) })
            JSON.object([("step", .number(Double(r.step))), ("epoch", .number(Double(r.epoch))), ("loss", loss), ("sigma", sig)]).write(to: &s)
            s += "\n"
        }
        return s
    }
}
