import Foundation

// Fine-tuning on conversations (supervised fine-tuning): a `.jsonl` corpus becomes a ConversationDataset rendered by
// the model's chat template, or by ChatML for a model without one, whose tokens the model then learns.

extension TrainingRun {
    /// The data a run of `checkpoint`'s model trains on: text encoded with its tokenizer, or for a corpus of
    /// conversations a ``ConversationDataset``. A fine-tune (`templateFolder` is the `--init-from` folder) takes
    /// the folder's chat template or else ChatML (``Checkpoint/preparingForChat(template:)``, which may grow
    /// `checkpoint`); a resume (`templateFolder` nil) takes the template its saves kept.
    static func trainingData(_ corpus: Corpus, checkpoint: inout Checkpoint, templateFolder: URL?,
                             skippingUnknown: Bool, validationFraction: Double? = nil) throws
        -> (data: any TrainingData, skipped: UnknownText?) {
        guard case .conversations(let path) = corpus else {
            if validationFraction != nil { throw validationFractionRefusal }
            let (dataset, _, skipped) = try corpus.dataset(tokenizer: checkpoint.tokenizer, skippingUnknown: skippingUnknown)
            return (dataset, skipped)
        }
        let template: ChatTemplate
        if let templateFolder {
            template = try checkpoint.preparingForChat(template: try ChatTemplate(checkpoint: templateFolder))
        } else {
            guard let saved = try checkpoint.savedChatTemplate else {
                throw GPTError.invalidCheckpoint(path: path, reason: "the run was saved without its chat_template.jinja")
            }
            template = saved
        }
        let conversations = try ConversationFile.read(path)
        return (try ConversationDataset(conversations, template: template, tokenizer: checkpoint.tokenizer,
                                        validationFraction: validationFraction ?? ConversationDataset.defaultValidationFraction,
                                        skippingUnknown: skippingUnknown, source: path), nil)
    }

    /// `--val-fraction` given for a text corpus, whose split is fixed.
    static let validationFractionRefusal = GPTError.invalidArgument(name: "--val-fraction", reason:
        "applies to a fine-tune on a .jsonl of conversations; a text corpus holds out its last 10%")

    /// For a run on conversations: how many there are, how many are held out, and how many the block size cuts.
    var conversationSummary: String? {
        guard let conversations = trainer.dataset as? ConversationDataset else { return nil }
        let blockSize = trainer.settings.blockSize
        return "\(conversations.train.count) training and \(conversations.validation.count) held-out conversations, "
            + "the loss on the assistant's tokens only; \(conversations.cutCount(blockSize: blockSize)) longer than "
            + "\(blockSize + 1) tokens are cut"
    }
}
