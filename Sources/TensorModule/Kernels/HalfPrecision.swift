import CKernels

/// IEEE half precision (binary16) as the 16-bit KV cache stores it: 1 sign bit, 5 exponent bits, 10 mantissa bits,
/// so about 3 significant decimal digits and a largest finite value of 65504 (bfloat16 keeps fp32's range but only
/// 8 significant bits; keys and values after a norm are small, so the extra precision is what counts). llama.cpp's
/// KV cache defaults to it.
public enum HalfPrecision {
    /// Rounds `count` floats to half-precision bit patterns (ties to even, past 65504 to infinity), with the F16C
    /// instructions where `instructions` has them: the same patterns as the plain C loop for every value but NaN
    /// payloads.
    public static func round(_ input: UnsafePointer<Float>, into out: UnsafeMutablePointer<UInt16>, count: Int,
                             instructions: VectorInstructions = .widest) {
        gpt_round_to_f16(Int32(instructions.rawValue), out, input, count)
    }

    /// The fp32 values (exact) of `count` half-precision bit patterns.
    public static func widen(_ input: UnsafePointer<UInt16>, into out: UnsafeMutablePointer<Float>, count: Int,
                             instructions: VectorInstructions = .widest) {
        gpt_widen_f16(Int32(instructions.rawValue), out, input, count)
    }
}
