/// Numbers as short decimal text for picture annotations (no Foundation formatting in the core).
enum DecimalText {
    /// `v` with `decimals` digits after the point (0...6), e.g. 0.2751 → "0.28"; "nan"/"inf"
    /// for non-finite values, scientific-free for |v| < 1e9 (larger values print as "huge").
    static func fixed(_ v: Float, decimals: Int) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v < 0 ? "-inf" : "inf" }
        let d = max(0, min(6, decimals))
        var p: Double = 1
        for _ in 0..<d { p *= 10 }
        let scaled = (abs(Double(v)) * p).rounded()
        guard scaled < 1e15 else { return v < 0 ? "-huge" : "huge" }
        let n = UInt64(scaled)
        let ip = n / UInt64(p), fp = n % UInt64(p)
        var s = (v < 0 && n != 0 ? "-" : "") + String(ip)
        if d > 0 {
            let f = String(fp)
            s += "." + String(repeating: "0", count: d - f.count) + f
        }
        return s
    }

    /// Decimals that show differences of `step`: 2 for steps ≥ 0.01, 3 for ≥ 0.001, ...
    static func decimals(forStep step: Float) -> Int {
        guard step.isFinite, step > 0 else { return 2 }
        var d = 0
        var s = step
        while s < 1 && d < 6 { s *= 10; d += 1 }
        return max(d, 1)
    }
}
