#if canImport(Glibc)
import Glibc
#endif

/// The seeded initial weights of a trainable MinkUNet, as OpenScene builds its network
/// (`models/resnet_base.py` `weight_initialization`, MinkowskiEngine 0.5 `reset_parameters` and
/// `utils/init.py`; minkunet.md §8):
/// - `MinkowskiConvolution` kernels (every convolution but the transposed ones, 1×1 included):
///   kaiming-normal, mode fan_out, gain √2 (ReLU): `N(0, 2 / fan_out)` with ME's fan for its
///   kernel layout: `[K, in, out]` → fan_out = K · out; 2-D `[in, out]` → fan_out = in (ME's
///   `_calculate_fan_in_and_fan_out` reads dimension 0 as "fan_out" of a 2-D tensor);
/// - `MinkowskiConvolutionTranspose` kernels (not matched by that `isinstance` test) keep ME's
///   `reset_parameters(is_transpose=True)`: `U(−s, s)`, s = 1/√(out · K);
/// - head biases keep ME's `reset_parameters`: `U(−s, s)`, s = 1/√(in · K) (K = 1);
/// - BatchNorm γ = 1, β = 0, running mean 0, running variance 1, num_batches_tracked 0.
///
/// Random numbers: `SplitMix64(seed)`, drawn in state-dict order, tensor by tensor, element by
/// element; a uniform is `(next() >> 11) · 2⁻⁵³` in [0, 1); a normal is Box–Muller on two
/// uniforms in Double (`√(−2 ln(1 − u₁)) · cos(2π u₂)`, one normal per pair), rounded to Float.
/// The same seed gives the same weights bit for bit on every machine with IEEE Double and the
/// platform's `log`/`cos` (glibc's are correctly rounded in practice). Not torch's generator: a
/// run that must match PyTorch from step 0 loads its initial weights (`init` in the config).
public enum MinkUNetInitialization {
    /// Fills `parameters` (registered from `spec`) with the initial values for `seed`.
    static func initialize(_ parameters: ParameterSet, spec: MinkUNetSpec, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        func uniform01() -> Double { Double(rng.next() >> 11) * 0x1p-53 }
        func normal() -> Double {
            let u1 = uniform01(), u2 = uniform01()
            return (-2 * log(1 - u1)).squareRoot() * cos(2 * Double.pi * u2)
        }
        for e in parameters.entries {
            let r = e.range
            switch e.role {
            case .convKernel:
                let transposed = e.name.hasPrefix("convtr")
                if transposed {
                    let s = 1 / Double(e.shape[2] * e.shape[0]).squareRoot()
                    for i in r { parameters.values[i] = Float((2 * uniform01() - 1) * s) }
                } else {
                    let fanOut = e.shape.count == 3 ? e.shape[0] * e.shape[2] : e.shape[0]
                    let std = (2 / Double(max(1, fanOut))).squareRoot()
                    for i in r { parameters.values[i] = Float(normal() * std) }
                }
            case .bnWeight:
                for i in r { parameters.values[i] = 1 }
            case .bnBias:
                for i in r { parameters.values[i] = 0 }
            case .bias:
                let module = String(e.name.dropLast(".bias".count))
                let cin = parameters.entry(module + ".kernel").map { $0.shape.count == 3 ? $0.shape[1] : $0.shape[0] } ?? 1
                let s = 1 / Double(max(1, cin)).squareRoot()
                for i in r { parameters.values[i] = Float((2 * uniform01() - 1) * s) }
            case .other:
                break
            }
        }
    }
}
