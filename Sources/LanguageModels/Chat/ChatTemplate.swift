import Foundation

/// One turn of a conversation: who speaks (`system`, `user`, `assistant`, `tool`) and what they say.
public struct ChatMessage: Sendable, Equatable, Codable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        (self.role, self.content) = (role, content)
    }

    /// The message as the dict a template sees: `{"role": ..., "content": ...}`.
    public var value: JinjaValue { .object(JinjaObject([("role", .string(role)), ("content", .string(content))])) }
}

/// A Hugging Face chat template (Jinja), parsed once and rendered as transformers' `apply_chat_template` renders it:
/// jinja2's `ImmutableSandboxedEnvironment` with `trim_blocks`, `lstrip_blocks` and loop controls, the globals
/// `raise_exception` and `strftime_now`, and transformers' `tojson` filter.
///
/// ```swift
/// let template = try ChatTemplate(source: tokenizerConfig.chatTemplate)
/// let prompt = try template.render(messages: [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true)
/// ```
public struct ChatTemplate: Sendable {
    /// The template text as given.
    public let source: String
    let statements: [JinjaStatement]
    let lineStarts: [Int]

    /// Parses `source`; a syntax error names its line and column and quotes the text around it.
    public init(source: String) throws(ChatTemplateError) {
        self.source = source
        statements = try JinjaParser.parse(source)
        var starts = [0]
        var offset = 0
        var previousCR = false
        for scalar in source.unicodeScalars {
            if scalar == "\n", previousCR { previousCR = false; continue }
            previousCR = scalar == "\r"
            offset += 1
            if scalar == "\n" || scalar == "\r" { starts.append(offset) }
        }
        lineStarts = starts
    }

    /// What one render produced: the text, and the UTF-8 byte ranges written inside `{% generation %}` blocks (the
    /// assistant's turns, in templates that mark them), in order.
    public struct Rendering: Sendable, Equatable {
        public var text: String
        public var generationRanges: [Range<Int>]
    }

    /// Renders a conversation: `messages`, `add_generation_prompt`, `bos_token`, `eos_token`, `tools` (when given)
    /// and any `extra` variables (which may also override these).
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool = false, bosToken: String? = nil,
                       eosToken: String? = nil, tools: [JinjaValue]? = nil, extra: [String: JinjaValue] = [:],
                       limits: JinjaLimits = JinjaLimits()) throws(ChatTemplateError) -> String {
        try render(messages: messages.map(\.value), addGenerationPrompt: addGenerationPrompt, bosToken: bosToken,
                   eosToken: eosToken, tools: tools, extra: extra, limits: limits).text
    }

    /// Renders messages given as arbitrary JSON-like dicts (tool calls, names, content parts, ...).
    public func render(messages: [JinjaValue], addGenerationPrompt: Bool = false, bosToken: String? = nil,
                       eosToken: String? = nil, tools: [JinjaValue]? = nil, extra: [String: JinjaValue] = [:],
                       limits: JinjaLimits = JinjaLimits()) throws(ChatTemplateError) -> Rendering {
        var context: [String: JinjaValue] = ["messages": .array(messages), "add_generation_prompt": .bool(addGenerationPrompt)]
        if let bosToken { context["bos_token"] = .string(bosToken) }
        if let eosToken { context["eos_token"] = .string(eosToken) }
        if let tools { context["tools"] = .array(tools) }
        context.merge(extra) { _, new in new }
        return try render(context: context, limits: limits)
    }

    /// Renders with exactly the given variables (plus the globals every template sees).
    public func render(context: [String: JinjaValue], limits: JinjaLimits = JinjaLimits()) throws(ChatTemplateError)
        -> Rendering
    {
        let globals = JinjaScope(parent: nil)
        for name in ["range", "namespace", "dict", "raise_exception", "strftime_now"] {
            globals.variables[name] = .callable(.global(name))
        }
        let scope = JinjaScope(parent: globals)
        for (name, value) in context { scope.variables[name] = Value(value) }
        let renderer = JinjaRenderer(limits: limits, lineStarts: lineStarts)
        try renderer.executeBody(statements, in: scope)
        return Rendering(text: renderer.output, generationRanges: renderer.generationRanges)
    }
}
