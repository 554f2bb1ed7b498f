import Foundation
import TensorModule

// Giving a model trained here the tokens of a chat template: the template's special tokens added to the tokenizer,
// and one more row each in the token embedding table and the head. V is the vocabulary size, C the embedding size.

extension Tokenizer {
    /// The id of `text` when the tokenizer matches it whole as one special token (`<|im_end|>`), else nil.
    public func specialTokenID(_ text: String) -> Int? {
        guard let tokens = try? encode(text), tokens.count == 1, text.unicodeScalars.count > 1 else { return nil }
        return tokens[0]
    }

    /// This tokenizer with `tokens` added as special tokens (matched whole before the text is cut, never split),
    /// their ids following the present vocabulary; tokens it already matches whole are left as they are.
    ///
    /// A character tokenizer keeps them after its characters; a BPE as `tokenizer.json`'s `added_tokens`. A word
    /// tokenizer has no added tokens: it is refused.
    public func adding(specialTokens tokens: [String]) throws -> Tokenizer {
        let missing = tokens.filter { specialTokenID($0) == nil }
        guard !missing.isEmpty else { return self }
        switch self {
        case .character(let characters):
            return .character(characters.adding(specialTokens: missing))
        case .bytePair:
            guard case .object(var members) = file, let index = members.firstIndex(where: { $0.key == "added_tokens" }),
                  case .array(var added) = members[index].value else {
                throw GPTError.invalidArgument(name: "tokenizer", reason: "its tokenizer.json has no added_tokens list")
            }
            for (offset, content) in missing.enumerated() {
                added.append(.object([
                    ("id", .number(String(vocabularySize + offset))), ("content", .string(content)),
                    ("single_word", .bool(false)), ("lstrip", .bool(false)), ("rstrip", .bool(false)),
                    ("normalized", .bool(false)), ("special", .bool(true)),
                ]))
            }
            members[index].value = .array(added)
            return try Tokenizer(file: JSONField(.object(members)))
        case .word:
            throw GPTError.invalidArgument(name: "--init-from", reason: "a word tokenizer cannot take the special tokens "
                + "\(missing.joined(separator: ", ")) that the chat template needs; fine-tune a char or bpe model")
        }
    }
}

extension GPTLanguageModel {
    /// A copy of this model with `vocabularySize` rows in its token embedding table and head (at least the present
    /// count), the new rows set to the mean of the present ones: a new token starts as an average token, neither
    /// favoured nor ruled out by the head. The weights are copied, so the original model is unchanged.
    public func growingVocabulary(to vocabularySize: Int) throws -> GPTLanguageModel {
        let old = configuration.vocabSize
        guard vocabularySize > old else { return self }
        var grown = configuration
        grown.vocabSize = vocabularySize
        try grown.validate()
        var generator = SeededGenerator.forLoading
        let copy = GPTLanguageModel(grown, generator: &generator)
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        for (name, tensor) in namedParameters() {
            let isVocabularyRows = ["transformer.wte.weight", "lm_head.weight", "lm_head.bias"].contains(name)
            guard isVocabularyRows else {
                tensors[name] = (tensor.shape, tensor.values)
                continue
            }
            let width = tensor.count / old  // C for the tables, 1 for the bias
            var values = tensor.values
            var mean = [Float](repeating: 0, count: width)
            for row in 0..<old { for j in 0..<width { mean[j] += values[row * width + j] / Float(old) } }
            for _ in old..<vocabularySize { values += mean }
            tensors[name] = ([vocabularySize] + tensor.shape.dropFirst(), values)
        }
        try copy.loadWeights(tensors, source: "the model grown to \(vocabularySize) tokens")
        copy.dropoutGenerator = dropoutGenerator
        return copy
    }
}

extension Checkpoint {
    /// This checkpoint ready to learn conversations: its own template (`chat_template.jinja` or
    /// `tokenizer_config.json`'s), or for a model without one (a model trained here) ChatML, whose special tokens are
    /// then added to the tokenizer, the model growing one row per token (``GPTLanguageModel/growingVocabulary(to:)``).
    /// The template is kept as `chat_template.jinja` either way, so every save of the run holds it.
    public mutating func preparingForChat(template: ChatTemplate?) throws -> ChatTemplate {
        let chosen = template ?? ChatTemplate.chatML
        var tokenizer = self.tokenizer, model = self.model
        if template == nil {
            tokenizer = try tokenizer.adding(specialTokens: ChatTemplate.chatMLSpecialTokens)
            if tokenizer.vocabularySize > model.configuration.vocabSize {
                guard let gpt = model as? GPTLanguageModel else {
                    throw GPTError.invalidArgument(name: "--init-from", reason: "only a GPT model can grow its vocabulary for chat tokens")
                }
                model = try gpt.growingVocabulary(to: tokenizer.vocabularySize)
            }
        }
        var prepared = Checkpoint(model: model, tokenizer: tokenizer)
        prepared.companionFiles = companionFiles
        prepared.companionFiles["chat_template.jinja"] = Data(chosen.source.utf8)
        prepared.family = family
        self = prepared
        return chosen
    }

    /// The template a chat run saved with the checkpoint (`chat_template.jinja`), if any.
    public var savedChatTemplate: ChatTemplate? {
        get throws {
            guard let data = companionFiles["chat_template.jinja"] else { return nil }
            return try ChatTemplate(source: String(decoding: data, as: UTF8.self))
        }
    }
}
