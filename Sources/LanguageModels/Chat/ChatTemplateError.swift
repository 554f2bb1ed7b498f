/// What can go wrong reading, parsing or rendering a chat template; ``description`` is one line a user can act on.
public enum ChatTemplateError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The template is not valid Jinja: what is wrong, where (1-based line and column) and the text around it.
    case syntax(message: String, line: Int, column: Int, excerpt: String)
    /// Rendering failed: a type error, an undefined value used, an unsupported feature; `line` is 1-based.
    case render(message: String, line: Int)
    /// The template called `raise_exception(message)`, e.g. because the roles do not alternate.
    case raised(message: String)
    /// The template ran past one of ``JinjaLimits``: deep recursion, a huge loop or output, a runaway string.
    case limitExceeded(message: String, line: Int)
    /// A value handed to the template could not be read (e.g. JSON that does not parse).
    case invalidValue(String)
    /// A checkpoint folder holds no chat template, or holds one that cannot be read.
    case missingTemplate(path: String, reason: String)
    /// The template could not be written into a checkpoint folder.
    case unwritableFile(path: String, reason: String)

    public var description: String {
        func cut(_ text: String) -> String { text.count > 200 ? String(text.prefix(200)) + "…" : text }
        return switch self {
        case .syntax(let message, let line, let column, let excerpt):
            "chat template syntax error at line \(line), column \(column): \(cut(message)) (near \"\(cut(excerpt))\")"
        case .render(let message, let line):
            "chat template error at line \(line): \(cut(message))"
        case .raised(let message):
            "the chat template refused the conversation: \(cut(message))"
        case .limitExceeded(let message, let line):
            "chat template stopped at line \(line): \(cut(message))"
        case .invalidValue(let reason):
            "invalid value for a chat template: \(cut(reason))"
        case .missingTemplate(let path, let reason):
            "no chat template in \(cut(path)): \(cut(reason))"
        case .unwritableFile(let path, let reason):
            "cannot write the chat template to \(cut(path)): \(cut(reason))"
        }
    }
}

/// Bounds that keep a hostile template from hanging, crashing or exhausting memory; the defaults are far above what
/// real chat templates need.
public struct JinjaLimits: Sendable, Equatable {
    /// The most Unicode scalars a render may output.
    public var maximumOutput = 4 << 20
    /// The most scalars in a string or elements in a list that an expression may build.
    public var maximumValueSize = 4 << 20
    /// The deepest nesting of macro calls and calls into `caller()`.
    public var maximumCallDepth = 40
    /// The most steps (statements, expressions, loop iterations, and one per 64 scalars or elements built).
    public var maximumSteps = 2_000_000
    /// The largest `range(...)`; jinja2's sandbox refuses more than 100,000 items too.
    public var maximumRange = 100_000

    public init() {}
}
