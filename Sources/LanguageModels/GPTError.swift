/// Everything that can go wrong with user input, each with a message that says what to do.
///
/// Bad input never traps: loaders, tokenizers and configuration checks throw one of these, and the `gpt` tool
/// prints its ``description`` as one line and exits non-zero.
public enum GPTError: Error, Equatable, CustomStringConvertible, Sendable {
    case fileNotFound(path: String)
    case unreadableFile(path: String, reason: String)
    case unwritableFile(path: String, reason: String)
    case emptyCorpus(path: String)
    case invalidUTF8(path: String, byteOffset: Int)
    case corpusTooShort(path: String, tokens: Int, needed: Int)
    case unknownCharacter(String, position: Int)
    /// Text outside a tokenizer's vocabulary: how much of it, where it starts and a few examples.
    case unknownText(UnknownText)
    case invalidConfiguration(field: String, reason: String)
    case invalidCheckpoint(path: String, reason: String)
    case invalidSafetensors(field: String, reason: String)
    /// A GGUF file that breaks the format (``GGUF/File``): the field (a key, a tensor, the header) and what is wrong.
    case invalidGGUF(field: String, reason: String)
    case invalidArgument(name: String, reason: String)
    case nonFiniteLoss(step: Int)

    /// One line, with any piece of the user's input (a path, a name, a reason quoting a file) cut to 200 characters.
    public var description: String {
        let line = fullDescription
        return line.count > 600 ? String(line.prefix(600)) + "…" : line
    }

    private var fullDescription: String {
        func cut(_ text: String) -> String { text.count > 200 ? String(text.prefix(200)) + "…" : text }
        return switch self {
        case .fileNotFound(let path):
            "no such file: \(cut(path)) (check the path, or leave --data out to use the bundled tiny shakespeare)"
        case .unreadableFile(let path, let reason):
            "cannot read \(cut(path)): \(cut(reason))"
        case .unwritableFile(let path, let reason):
            "cannot write \(cut(path)): \(cut(reason))"
        case .emptyCorpus(let path):
            "the corpus \(cut(path)) is empty: give a text file with some text in it"
        case .invalidUTF8(let path, let offset):
            "the corpus \(cut(path)) is not valid UTF-8 (first bad byte at offset \(offset)): convert it to UTF-8 first"
        case .corpusTooShort(let path, let tokens, let needed):
            "the corpus \(cut(path)) is too short: \(tokens) tokens in a split, but one block needs \(needed); "
                + "use more text or a smaller --block-size"
        case .unknownCharacter(let character, let position):
            "the character \(cut(character)) at position \(position) is not in the model's vocabulary; "
                + "use only characters that occur in the training text"
        case .unknownText(let unknown):
            "text outside the model's vocabulary: \(unknown); use only \(unknown.unit)s that occur in the "
                + "training text, or leave them out with --skip-unknown"
        case .invalidConfiguration(let field, let reason):
            "invalid configuration: \(cut(field)) \(cut(reason))"
        case .invalidCheckpoint(let path, let reason):
            "cannot load the checkpoint \(cut(path)): \(cut(reason))"
        case .invalidSafetensors(let field, let reason):
            "invalid safetensors file: \(cut(field)): \(cut(reason))"
        case .invalidGGUF(let field, let reason):
            "invalid GGUF file: \(cut(field)): \(cut(reason))"
        case .invalidArgument(let name, let reason):
            "invalid value for \(cut(name)): \(cut(reason))"
        case .nonFiniteLoss(let step):
            "training stopped at step \(step): the loss or gradient norm is not finite, the run diverged; start a new run "
                + "with a lower --learning-rate (a resumed run keeps the settings it was saved with)"
        }
    }
}

/// A Unicode scalar shown so that a reader can see it, e.g. `"é" (U+00E9)`.
func describeScalar(_ scalar: Unicode.Scalar) -> String {
    let hex = String(scalar.value, radix: 16, uppercase: true)
    let padded = String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    let visible = scalar.properties.isWhitespace || scalar.value < 0x20 ? "" : "\"\(Character(scalar))\" "
    return "\(visible)(U+\(padded))"
}
