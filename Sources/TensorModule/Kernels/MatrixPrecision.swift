/// The precision of a matrix product's inputs: one setting for training, evaluation, decoding, serving and the
/// benchmarks (`--precision` on every command), in force for a scope through ``KernelSettings/precision``.
///
/// Each product is accumulated in fp32; master weights, gradients, optimizer state, norms, softmax and the loss stay
/// fp32 whatever the precision. The product's shape picks the kernel: a few rows by a weight (one-token decoding, or
/// a batched decoding step) runs the matrix-vector kernels, on the weight's rounded copy from ``KernelSettings/roundedWeights``; everything else
/// runs a matrix-matrix kernel (``KernelSettings/bfloat16Kernel``). Spelled `fp32`/`bf16`, also read as
/// `float32`/`bfloat16` (what decoding's settings and older files said), and `q8`/`q8_0` (8-bit weights, for
/// inference only). A new format is a case here with its names and the kernels that read it.
public enum MatrixPrecision: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// fp32 inputs, fp32 accumulation: exact (cached and uncached sampling give the same tokens).
    case float32 = "fp32"
    /// Inputs rounded to bfloat16 (8 bits of mantissa, the full fp32 range), products summed in fp32, as
    /// `torch.autocast(dtype=torch.bfloat16)` does on the CPU. Matrix-vector products read the weights' bfloat16
    /// copies on any CPU (half the bytes per token; logits move by about 3 significant digits); matrix-matrix products
    /// run on a bfloat16 kernel where the CPU has one (AMX, AVX512-BF16, or `GPT_BF16_KERNEL`), else in fp32.
    case bfloat16 = "bf16"
    /// Weights in llama.cpp's Q8_0 blocks (32 int8 weights and one fp16 scale each, about 1.06 bytes a weight: half
    /// of bf16's), activations quantised per block of 32 the same way for each product, each block's int8 products
    /// summed exactly in int32 (``QuantizedMatrix``, ``quantizedProduct(m:n:k:a:lda:weight:beta:c:ldc:bias:relu:)``).
    /// Every product by a weight of ``KernelSettings/roundedWeights`` reads its 8-bit copy, one row or many;
    /// products of activations by activations (attention) stay fp32. For sampling, evaluation and serving only:
    /// training refuses it (``isTrainable``).
    case q8 = "q8"

    /// The names this precision is read from: its spelling (``rawValue``) first, then its long name.
    public var names: [String] {
        switch self {
        case .float32: ["fp32", "float32"]
        case .bfloat16: ["bf16", "bfloat16"]
        case .q8: ["q8", "q8_0"]
        }
    }

    /// Whether training can run in this precision (8-bit weights have no gradient path: inference only).
    public var isTrainable: Bool { self != .q8 }

    /// `fp32`/`float32`, `bf16`/`bfloat16` or `q8`/`q8_0`, in any case; nil for anything else.
    public init?(name: String) {
        guard let precision = Self.allCases.first(where: { $0.names.contains(name.lowercased()) }) else { return nil }
        self = precision
    }

    /// Reads any of ``names`` (a `trainer.json` says `"bf16"`, a decoding setting `"bfloat16"`).
    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let precision = Self(name: name) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath, debugDescription: "precision: use fp32, bf16 or q8, not \(name.prefix(40))"))
        }
        self = precision
    }

    public var description: String { rawValue }
}
