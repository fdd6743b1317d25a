/// Gradient-norm clipping as `torch.nn.utils.clip_grad_norm_(params, max_norm)` (L2):
/// per parameter `‖g‖₂`, total `‖(‖g₁‖, ‖g₂‖, …)‖₂` (float32 results; sums accumulated in double
/// in a fixed order), `coef = max_norm / (total + 1e-6)` (as torch evaluates it: reciprocal, then product) clamped at 1, every gradient multiplied
/// by `coef`. Returns the total norm before clipping.
public enum GradientClipping {
    @discardableResult
    public static func clipNorm(_ set: ParameterSet, maxNorm: Double) -> Float {
        var norms: [Float] = []
        norms.reserveCapacity(set.entries.count)
        set.grads.withUnsafeBufferPointer { g in
            for e in set.entries {
                var s = 0.0
                for i in e.range { let x = Double(g[i]); s += x * x }
                norms.append(Float(s.squareRoot()))
            }
        }
        var s = 0.0
        for n in norms { s += Double(n) * Double(n) }
        let total = Float(s.squareRoot())
        // torch: `max_norm / t` on a tensor is `t.reciprocal() * max_norm` (float32).
        let coef = Swift.min((1 / (total + Float(1e-6))) * Float(maxNorm), 1)
        set.grads.withUnsafeMutableBufferPointer { g in
            for i in g.indices { g[i] *= coef }
        }
        return total
    }
}
