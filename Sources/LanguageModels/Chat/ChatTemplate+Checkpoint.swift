import Foundation

extension ChatTemplate {
    /// ChatML, the format Qwen and Hugging Face's default use: `<|im_start|>role\ncontent<|im_end|>\n` per message,
    /// and `<|im_start|>assistant\n` as the generation prompt. The assistant's turns are marked with
    /// `{% generation %}` (which does not change the text) so that training can find them.
    public static let chatMLSource = """
        {% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}\
        {% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}\
        {{ '\\n' }}{% else %}{{ message['content'] + '<|im_end|>' + '\\n' }}{% endif %}{% endfor %}\
        {% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
        """

    /// The ChatML template, for models trained here.
    // The source is a constant that parses (the tests render it); a failure here is a bug in this file.
    public static let chatML = try! ChatTemplate(source: chatMLSource)

    /// The special tokens ChatML adds to a vocabulary.
    public static let chatMLSpecialTokens = ["<|im_start|>", "<|im_end|>"]

    /// The template text a checkpoint folder keeps: `chat_template.jinja`, else `tokenizer_config.json`'s
    /// `chat_template` (a string, or a list of `{"name", "template"}` of which the one named `default` is taken).
    /// Returns nil when the folder has neither.
    public static func source(inCheckpoint directory: URL) throws(ChatTemplateError) -> String? {
        let jinja = directory.appendingPathComponent("chat_template.jinja")
        let config = directory.appendingPathComponent("tokenizer_config.json")
        let manager = FileManager.default
        var jinjaData: Data?, configData: Data?
        if manager.fileExists(atPath: jinja.path) {
            guard let data = try? Data(contentsOf: jinja) else {
                throw .missingTemplate(path: jinja.path, reason: "the file is not readable")
            }
            jinjaData = data
        } else if manager.fileExists(atPath: config.path) {
            guard let data = try? Data(contentsOf: config) else {
                throw .missingTemplate(path: config.path, reason: "the file is not readable")
            }
            configData = data
        }
        return try source(jinja: jinjaData, tokenizerConfig: configData, folder: directory.path)
    }

    /// The template text from the contents of a folder's `chat_template.jinja` and `tokenizer_config.json` (either
    /// may be nil), as ``source(inCheckpoint:)`` reads them; `folder` names the folder in errors.
    public static func source(jinja: Data?, tokenizerConfig: Data?, folder: String) throws(ChatTemplateError) -> String? {
        let jinjaPath = (folder as NSString).appendingPathComponent("chat_template.jinja")
        let configPath = (folder as NSString).appendingPathComponent("tokenizer_config.json")
        if let jinja {
            guard let text = String(data: jinja, encoding: .utf8) else {
                throw .missingTemplate(path: jinjaPath, reason: "the file is not readable UTF-8 text")
            }
            return text
        }
        guard let tokenizerConfig else { return nil }
        let json: OrderedJSON
        do {
            json = try OrderedJSON(parsing: tokenizerConfig)
        } catch {
            throw .missingTemplate(path: configPath, reason: "cannot read it as JSON: \(error)")
        }
        guard case .object(let members) = json else {
            throw .missingTemplate(path: configPath, reason: "the file is not a JSON object")
        }
        switch members.first(where: { $0.key == "chat_template" })?.value {
        case nil, .null?: return nil
        case .string(let text)?: return text
        case .array(let entries)?:
            var names: [String] = []
            for case .object(let fields) in entries {
                let name = fields.first { $0.key == "name" }?.value
                let template = fields.first { $0.key == "template" }?.value
                if case .string(let entryName)? = name { names.append(entryName) }
                if case .string("default")? = name, case .string(let text)? = template { return text }
            }
            throw .missingTemplate(path: configPath, reason: "chat_template lists \(names.joined(separator: ", ")) "
                                   + "but none named default")
        default:
            throw .missingTemplate(path: configPath, reason: "chat_template is neither a string nor a list of templates")
        }
    }

    /// Writes the template as `chat_template.jinja` in a checkpoint folder (which must exist), where
    /// ``source(inCheckpoint:)`` and transformers look first.
    public func save(inCheckpoint directory: URL) throws(ChatTemplateError) {
        let url = directory.appendingPathComponent("chat_template.jinja")
        do {
            try Data(source.utf8).write(to: url, options: .atomic)
        } catch {
            throw .unwritableFile(path: url.path, reason: error.localizedDescription)
        }
    }

    /// The checkpoint's template, parsed; nil when the folder has none.
    public init?(checkpoint directory: URL) throws(ChatTemplateError) {
        guard let source = try Self.source(inCheckpoint: directory) else { return nil }
        try self.init(source: source)
    }
}
