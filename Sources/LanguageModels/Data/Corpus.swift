import Foundation

/// Where a run's text comes from, told apart by what the path is: nothing (the bundled tiny shakespeare), a UTF-8
/// text file, a folder of `.txt` files (joined in name order), or a folder that `gpt prepare` or nanoGPT's
/// `prepare.py` wrote (token ids already, memory-mapped, with their tokenizer), or a `.jsonl` file of
/// conversations (``ConversationFile``, for fine-tuning a chat model). The one loader of training,
/// fine-tuning, resuming, evaluation and `gpt prepare`.
public enum Corpus: Equatable, Sendable {
    case bundled
    case file(String)
    /// A folder and its `.txt` files, sorted by name.
    case folder(String, files: [String])
    case prepared(String)
    /// A `.jsonl` file of conversations (``ConversationFile``).
    case conversations(String)

    /// The corpus at `path` (`nil`: the bundled one). Throws for a path that does not exist or a folder that holds
    /// neither text files nor a prepared corpus.
    public init(_ path: String?) throws {
        guard let path else { self = .bundled; return }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw GPTError.fileNotFound(path: path) }
        guard isDirectory.boolValue else {
            self = ConversationFile.isConversationFile(path) ? .conversations(path) : .file(path)
            return
        }
        if PreparedData.isPrepared(path) { self = .prepared(path); return }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        let files = names.filter { $0.hasSuffix(".txt") && !$0.hasPrefix(".") }.sorted()
        guard !files.isEmpty else {
            throw GPTError.unreadableFile(path: path, reason: "the folder holds no .txt files and no prepared corpus "
                + "(meta.json from `gpt prepare`, or nanoGPT's meta.pkl); give a text file or such a folder")
        }
        self = .folder(path, files: files.map { URL(fileURLWithPath: path).appendingPathComponent($0).path })
    }

    /// The path a run records to find the corpus again (`nil` for the bundled one).
    public var path: String? {
        switch self {
        case .bundled: nil
        case .file(let path), .folder(let path, _), .prepared(let path), .conversations(let path): path
        }
    }

    /// The corpus as a person reads it in a run's first line.
    public var description: String {
        switch self {
        case .bundled: return "the bundled tiny shakespeare"
        case .file(let path): return path
        case .prepared(let path): return "\(path) (prepared)"
        case .conversations(let path): return "\(path) (conversations)"
        case .folder(let path, let files):
            let names = files.prefix(3).map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", ")
            return "\(files.count) text file\(files.count == 1 ? "" : "s") of \(path) joined in name order (\(names)\(files.count > 3 ? ", ..." : ""))"
        }
    }

    /// The text (a folder's files joined, a newline between two files where the first does not end in one). Throws
    /// for a prepared corpus, which holds token ids, and before reading when the files are larger than memory allows.
    public func text() throws -> String {
        switch self {
        case .bundled: return try readCorpus(at: bundledCorpusPath())
        case .file(let path): return try readCorpus(at: path)
        case .prepared(let path):
            throw GPTError.unreadableFile(path: path, reason: "it is a prepared corpus (token ids), not text; give a text file")
        case .conversations(let path):
            throw GPTError.unreadableFile(path: path, reason: "it is a file of conversations (.jsonl): fine-tune a model "
                + "on it with --init-from DIR, or give a text file")
        case .folder(let path, let files):
            let limit = Int(clamping: ProcessInfo.processInfo.physicalMemory) / 8
            var total = 0
            for file in files {
                let size = ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? NSNumber)?.intValue ?? 0
                total = total.addingReportingOverflow(size).partialValue
                guard total <= limit else {
                    throw GPTError.unreadableFile(path: path, reason: "its text files hold more than this machine can "
                        + "tokenize in memory (\(formatBytes(limit))); tokenize them with `gpt prepare` in parts")
                }
            }
            var joined = ""
            for file in files {
                if !joined.isEmpty && !joined.hasSuffix("\n") { joined += "\n" }
                joined += try readCorpus(at: file)
            }
            return joined
        }
    }

    /// The dataset (90/10 split) and its tokenizer: a prepared corpus's own (which must equal `tokenizer` when one is
    /// given), else the text encoded with `tokenizer`, or with a new tokenizer of `kind` trained on it. Text outside
    /// `tokenizer`'s vocabulary is an error that counts and names it, or is left out when `skippingUnknown`
    /// (``UnknownText`` says what was).
    public func dataset(tokenizer: Tokenizer? = nil, kind: String = "char", vocabularySize: Int = 512,
                        skippingUnknown: Bool = false) throws -> (dataset: TextDataset, tokenizer: Tokenizer, skipped: UnknownText?) {
        if case .prepared(let path) = self {
            let prepared = try PreparedData.load(path)
            if let tokenizer, tokenizer != prepared.tokenizer {
                throw GPTError.invalidArgument(name: "--data", reason: "was prepared with another tokenizer than the model's")
            }
            return (prepared.dataset, prepared.tokenizer, nil)
        }
        let text = try self.text()
        let chosen = try tokenizer ?? Tokenizer.training(kind, on: text, vocabularySize: vocabularySize)
        let (tokens, skipped) = try chosen.encode(text, skippingUnknown: skippingUnknown)
        return (TextDataset(tokens: tokens, source: path ?? "tiny shakespeare"), chosen, skipped.isEmpty ? nil : skipped)
    }
}
