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
}

/// A comma-separated list of precisions (`fp32,bf16,q8`), for `gpt bench`.
struct PrecisionList: ExpressibleByArgument, CustomStringConvertible {
    var values: [MatrixPrecision]

    init(_ values: [MatrixPrecision]) { self.values = values }

    init?(argument: String) {
        let values = argument.split(separator: ",").map { MatrixPrecision(name: String($0)) }
        guard !values.isEmpty, !values.contains(nil) else { return nil }
        self.values = values.compactMap { $0 }
    }

    var description: String { values.map(\.rawValue).joined(separator: ",") }

    static var allValueStrings: [String] { MatrixPrecision.allValueStrings }
}
