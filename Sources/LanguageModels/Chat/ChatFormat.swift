import Foundation

/// How a model chats: its ``ChatTemplate``, the `bos_token`/`eos_token` texts the template sees, and what ends an
/// assistant's turn, read from a checkpoint as transformers reads a model folder.
///
/// The end of a turn is, in one place (``endOfTurnTokens``): the tokenizer's `eos_token` (`tokenizer_config.json`),
/// the ids in `generation_config.json`'s `eos_token_id` (one or a list, as Llama 3 lists `<|eot_id|>`), and every
/// token of ``knownEndOfTurnTexts`` that the tokenizer holds as a single added token (`<|im_end|>`, `<|eot_id|>`,
/// `<end_of_turn>`, ... and the tokens that start a turn). Those of these texts that the template writes but the tokenizer splits into several
/// tokens end generation as text instead (``endOfTurnTexts``).
///
/// ```swift
/// let checkpoint = try Checkpoint.load(from: folder)
/// let format = try ChatFormat(checkpoint: checkpoint, folder: folder.path)
/// let prompt = try format.prompt([ChatMessage(role: "user", content: "Hi")])  // text and tokens
/// ```
public struct ChatFormat: Sendable {
    public let template: ChatTemplate
    public let tokenizer: Tokenizer
    public let bosToken: String?, eosToken: String?
    /// The tokens that end an assistant's turn; generation stops at them and does not show them.
    public let endOfTurnTokens: Set<Int>
    /// End-of-turn texts the template writes that are not single tokens of this tokenizer: stop strings.
    public let endOfTurnTexts: [String]

    /// The end-of-turn tokens of today's templates (ChatML, Llama 3, Gemma, Phi-3, GPT-2's and Llama's end of text),
    /// then their start-of-turn tokens: a model that opens another turn has ended its own (a small model may skip
    /// `<|im_end|>` and write `<|im_start|>assistant` next, which no answer should show).
    public static let knownEndOfTurnTexts = ["<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<end_of_turn>", "<|end|>",
                                             "<|endoftext|>", "<|end_of_text|>", "</s>",
                                             "<|im_start|>", "<|start_header_id|>", "<start_of_turn>"]

    /// A format from its parts; `endOfTurnIDs` adds ids (such as `generation_config.json`'s `eos_token_id`).
    public init(template: ChatTemplate, tokenizer: Tokenizer, bosToken: String? = nil, eosToken: String? = nil,
                endOfTurnIDs: [Int] = []) {
        (self.template, self.tokenizer, self.bosToken, self.eosToken) = (template, tokenizer, bosToken, eosToken)
        var tokens = Set(endOfTurnIDs.filter { (0..<tokenizer.vocabularySize).contains($0) })
        var texts: [String] = []
        for text in Self.knownEndOfTurnTexts + [eosToken].compactMap({ $0 }) where !text.isEmpty {
            if let id = tokenizer.addedTokenID(text) {
                tokens.insert(id)
            } else if template.source.contains(text), !texts.contains(text) {
                texts.append(text)
            }
        }
        (endOfTurnTokens, endOfTurnTexts) = (tokens, texts)
    }

    /// The format a checkpoint keeps: its template (``ChatTemplate/source(jinja:tokenizerConfig:folder:)``), bos and
    /// eos from `tokenizer_config.json`, end-of-turn ids from `generation_config.json`. `folder` names it in errors.
    /// Throws ``ChatError/noTemplate(folder:)`` for a checkpoint without a template.
    public init(checkpoint: Checkpoint, folder: String) throws {
        let files = checkpoint.companionFiles
        guard let source = try ChatTemplate.source(jinja: files["chat_template.jinja"],
                                                   tokenizerConfig: files["tokenizer_config.json"], folder: folder)
        else { throw ChatError.noTemplate(folder: folder) }
        let config = files["tokenizer_config.json"].flatMap { try? OrderedJSON(parsing: $0) }
        let generation = files["generation_config.json"].flatMap { try? OrderedJSON(parsing: $0) }
        self.init(template: try ChatTemplate(source: source), tokenizer: checkpoint.tokenizer,
                  bosToken: config.flatMap { Self.tokenText($0, "bos_token") },
                  eosToken: config.flatMap { Self.tokenText($0, "eos_token") },
                  endOfTurnIDs: generation.map { Self.ids($0, "eos_token_id") } ?? [])
    }

    /// Loads a checkpoint folder's model and format.
    public static func load(from folder: URL) throws -> (checkpoint: Checkpoint, format: ChatFormat) {
        let checkpoint = try Checkpoint.load(from: folder)
        return (checkpoint, try ChatFormat(checkpoint: checkpoint, folder: folder.path))
    }

    /// The prompt for `messages` with the template's generation prompt: the rendered text and its tokens (the
    /// tokenizer's encoding of that text, special tokens matched whole and none added).
    public func prompt(_ messages: [ChatMessage]) throws -> (text: String, tokens: [Int]) {
        let text = try render(messages)
        return (text, try tokenizer.encode(text))
    }

    /// The text of ``prompt(_:)``: the template's rendering of `messages` with the generation prompt.
    public func render(_ messages: [ChatMessage]) throws -> String {
        guard !messages.isEmpty else { throw ChatError.emptyConversation }
        if let role = messages.first(where: { !ChatError.roles.contains($0.role) })?.role { throw ChatError.unknownRole(role) }
        return try template.render(messages: messages, addGenerationPrompt: true, bosToken: bosToken, eosToken: eosToken)
    }

    /// `options` that also end at the end of a turn.
    public func options(_ options: SamplingOptions) -> SamplingOptions {
        var options = options
        options.stopTokens.formUnion(endOfTurnTokens)
        options.stop += endOfTurnTexts.filter { !options.stop.contains($0) }
        return options
    }

    /// A special token's text: `"<|im_end|>"`, or an object with a `content` (older tokenizer_config.json files).
    static func tokenText(_ json: OrderedJSON, _ key: String) -> String? {
        guard case .object(let members) = json, let value = members.first(where: { $0.key == key })?.value else { return nil }
        switch value {
        case .string(let text): return text
        case .object(let fields):
            if case .string(let text)? = fields.first(where: { $0.key == "content" })?.value { return text }
            return nil
        default: return nil
        }
    }

    /// An id or a list of ids.
    static func ids(_ json: OrderedJSON, _ key: String) -> [Int] {
        guard case .object(let members) = json, let value = members.first(where: { $0.key == key })?.value else { return [] }
        let values: [OrderedJSON] = if case .array(let items) = value { items } else { [value] }
        return values.compactMap { if case .number(let text) = $0 { Int(text) } else { nil } }
    }
}

extension Tokenizer {
    /// The id of `text` when the tokenizer holds it as one added (special) token: a `tokenizer.json`'s added
    /// tokens, or the `<|endoftext|>` of a byte-level BPE trained here; nil otherwise.
    func addedTokenID(_ text: String) -> Int? {
        guard case .bytePair(let tokenizer) = self else { return nil }
        if let pipeline = tokenizer.pipeline { return pipeline.added.tokens.first { $0.content == text }?.id }
        return text == BytePairTokenizer.endOfTextText ? tokenizer.endOfTextToken : nil
    }
}
