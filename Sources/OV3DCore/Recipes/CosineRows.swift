/// Row-wise cosine similarity with torch's exact semantics, and its gradient: the kernel the
/// recipe losses share (`DemeanedCosineLoss`, `SuperpointDistillation`).
///
/// torch 2.x `CosineSimilarity(eps = 1e-8)` divides each side by its norm clamped to `eps`
/// (the clamp outside autograd) and sums the products; `F.normalize(eps = 1e-12)` divides by
/// `max(‖x‖, eps)` (the clamp inside autograd, so below `eps` it is a constant). Arithmetic in
/// Double whatever the storage type; the loops run over unsafe pointers.
enum CosineRows {
    static let cosineEps = 1e-8
    static let normalizeEps = 1e-12

    /// `cos(x, y)` of two `d`-vectors as torch computes it, and `∂cos/∂x` written into `gx`
    /// (when non-nil). Returns the cosine.
    @inline(__always)
    static func cosine<T: BinaryFloatingPoint>(_ x: UnsafePointer<T>, _ y: UnsafePointer<Double>, _ d: Int,
                                               gradient gx: UnsafeMutablePointer<Double>?) -> Double {
        var xx = 0.0, yy = 0.0, xy = 0.0
        for j in 0..<d {
            let a = Double(x[j]), b = y[j]
            xx += a * a; yy += b * b; xy += a * b
        }
        let nx = xx.squareRoot(), ny = yy.squareRoot()
        let n1 = max(nx, cosineEps), n2 = max(ny, cosineEps)
        let c = xy / (n1 * n2)
        if let gx {
            // ∂/∂x Σ (x/n1)(y/n2) with n1 = ‖x‖ (its clamp is invisible to autograd):
            // y/(n1 n2) − (x·y)/(n1² n2) · x/‖x‖.
            let a = 1 / (n1 * n2)
            let b = nx > 0 ? xy / (n1 * n1 * n2 * nx) : 0
            for j in 0..<d { gx[j] = a * y[j] - b * Double(x[j]) }
        }
        return c
    }

    /// `F.normalize(x)` into `out` (Double) and returns ‖x‖.
    @inline(__always)
    static func normalize<T: BinaryFloatingPoint>(_ x: UnsafePointer<T>, _ d: Int, into out: UnsafeMutablePointer<Double>) -> Double {
        var s = 0.0
        for j in 0..<d { let a = Double(x[j]); s += a * a }
        let n = s.squareRoot()
        let inv = 1 / max(n, normalizeEps)
        for j in 0..<d { out[j] = Double(x[j]) * inv }
        return n
    }

    /// Back-propagates `g = ∂L/∂normalize(x)` (in place) to `∂L/∂x`, given `xn = normalize(x)`
    /// and `n = ‖x‖`.
    @inline(__always)
    static func normalizeBackward(_ g: UnsafeMutablePointer<Double>, xn: UnsafePointer<Double>, norm n: Double, _ d: Int) {
        if n < normalizeEps {
            for j in 0..<d { g[j] /= normalizeEps }
            return
        }
        var dot = 0.0
        for j in 0..<d { dot += xn[j] * g[j] }
        for j in 0..<d { g[j] = (g[j] - xn[j] * dot) / n }
    }
}
