import Foundation
import TensorModule

/// What a ``Trainer`` draws its batches from: a ``TextDataset`` (windows of one long text) or a
/// ``ConversationDataset`` (one conversation a row, the loss on the assistant's tokens).
public protocol TrainingData: Sendable {
    /// Where the data came from, for messages.
    var source: String { get }
    /// The tokens of a split, for the run's summary.
    func tokenCount(_ split: TextDataset.Split) -> Int
    /// Throws unless both splits can fill a row of `blockSize` inputs.
    func validate(blockSize: Int) throws
    /// A random batch: `x` and `y` are `batchSize * blockSize` token ids, row-major `[B, T]`; `y[t]` is the token
    /// after `x[t]`, or ``Tensor/ignoredTarget`` where the loss leaves it out.
    func batch(_ split: TextDataset.Split, batchSize: Int, blockSize: Int, generator: inout SeededGenerator)
        -> (x: [Int], y: [Int])
}

extension TextDataset: TrainingData {
    public func tokenCount(_ split: Split) -> Int { tokens(split).count }
}

/// Conversations to fine-tune on (supervised fine-tuning, nanochat's SFT): each one rendered by a chat template
/// and tokenized with its assistant tokens marked (``EncodedConversation``), split into training and held-out
/// conversations by position (the last `validationFraction` held out).
///
/// A batch row is one conversation from its start, padded after its end (or cut at the block size): no row mixes
/// two conversations, so attention never crosses from one to another, and the targets are the assistant's next
/// tokens only; every other target is ``Tensor/ignoredTarget``, left out of the loss.
///
/// ```swift
/// let conversations = try ConversationFile.read("chats.jsonl")
/// let dataset = try ConversationDataset(conversations, template: .chatML, tokenizer: tokenizer, source: "chats.jsonl")
/// ```
public struct ConversationDataset: TrainingData {
    public let train: [EncodedConversation]
    public let validation: [EncodedConversation]
    public let source: String
    /// The token inputs are padded with (after a conversation's end, never a target).
    public let padding: Int
    /// The share of the conversations held out.
    public let validationFraction: Double
    public static let defaultValidationFraction = 0.1

    /// Encodes every conversation (a conversation the template or tokenizer refuses names its line; text outside
    /// the vocabulary is left out when `skippingUnknown`) and holds out the last `validationFraction` of them (at
    /// least one, when there are two or more).
    public init(_ conversations: [Conversation], template: ChatTemplate, tokenizer: Tokenizer,
                validationFraction: Double = defaultValidationFraction, skippingUnknown: Bool = false, source: String) throws {
        guard (0..<1).contains(validationFraction) else {
            throw GPTError.invalidArgument(name: "validationFraction", reason: "must be in 0..<1, got \(validationFraction)")
        }
        var encoded: [EncodedConversation] = []
        encoded.reserveCapacity(conversations.count)
        for conversation in conversations {
            do {
                encoded.append(try EncodedConversation(conversation, template: template, tokenizer: tokenizer,
                                                       skippingUnknown: skippingUnknown))
            } catch {
                throw ConversationFileError.badLine(path: source, line: conversation.line, problem: "\(error)")
            }
        }
        let held = encoded.count < 2 ? 0 : max(1, Int((Double(encoded.count) * validationFraction).rounded()))
        train = Array(encoded.dropLast(held))
        validation = held == 0 ? train : Array(encoded.suffix(held))
        self.source = source
        self.validationFraction = validationFraction
        padding = 0
    }

    public func conversations(_ split: TextDataset.Split) -> [EncodedConversation] {
        split == .train ? train : validation
    }

    public func tokenCount(_ split: TextDataset.Split) -> Int { conversations(split).reduce(0) { $0 + $1.tokens.count } }

    /// The conversations of both splits longer than a row of `blockSize`, which batches cut.
    public func cutCount(blockSize: Int) -> Int {
        (train + (validation == train ? [] : validation)).filter { $0.isCut(blockSize: blockSize) }.count
    }

    public func validate(blockSize: Int) throws {
        for split in TextDataset.Split.allCases {
            guard conversations(split).contains(where: { $0.trainedTargets(blockSize: blockSize) > 0 }) else {
                throw GPTError.invalidArgument(name: "--data \(source)", reason: "no \(split.rawValue) conversation has an "
                    + "assistant token within the first \(blockSize + 1) tokens; use a larger --block-size")
            }
        }
    }

    public func batch(_ split: TextDataset.Split, batchSize: Int, blockSize: Int, generator: inout SeededGenerator)
        -> (x: [Int], y: [Int]) {
        let pool = conversations(split)
        var x: [Int] = [], y: [Int] = []
        x.reserveCapacity(batchSize * blockSize)
        y.reserveCapacity(batchSize * blockSize)
        for _ in 0..<batchSize {
            let row = pool[generator.nextInt(below: pool.count)].row(blockSize: blockSize, padding: padding)
            x += row.x
            y += row.y
        }
        return (x, y)
    }
}
