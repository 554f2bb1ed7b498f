import ArgumentParser
import LanguageModels
import TensorModule

/// `--precision fp32|bf16|q8` on every command (`float32`/`bfloat16`/`q8_0` also read): the one ``MatrixPrecision``
/// (`q8` for sample, eval, serve and bench; training refuses it).
extension MatrixPrecision: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }

    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

/// `--kv-cache fp32|fp16` (`f32`/`f16`/`float32`/`float16` also read): the one ``KVCachePrecision``.
extension KVCachePrecision: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }

    public static var allValueStrings: [String] { allCases.map(\.rawValue) }

    /// The help of `--kv-cache` on `gpt sample`, `gpt chat` and `gpt serve`.
    static let help: ArgumentHelp = "Keys and values of the KV cache in fp32 (exact) or fp16 (half precision: half the bytes attention reads per token; logits move by their rounding, as with llama.cpp's default f16 cache)."
}

/// A comma-separated list of precisions (`fp32,bf16,q8` for `--precision`, `fp32,fp16` for `--kv-cache`), for
/// `gpt bench`.
struct PrecisionList<Precision: ExpressibleByArgument & RawRepresentable<String>>: ExpressibleByArgument,
    CustomStringConvertible {
    var values: [Precision]

    init(_ values: [Precision]) { self.values = values }

    init?(argument: String) {
        let values = argument.split(separator: ",").map { Precision(argument: String($0)) }
        guard !values.isEmpty, !values.contains(where: { $0 == nil }) else { return nil }
        self.values = values.compactMap { $0 }
    }

    var description: String { values.map(\.rawValue).joined(separator: ",") }

    static var allValueStrings: [String] { Precision.allValueStrings }
}
