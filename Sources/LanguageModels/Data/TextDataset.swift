import Foundation
import TensorModule

/// Reads a text file as UTF-8, with a typed error for each way it can be unusable.
public func readCorpus(at path: String) throws -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw GPTError.fileNotFound(path: path)
    }
    if isDirectory.boolValue {
        throw GPTError.unreadableFile(path: path, reason:
            "it is a directory without a meta.json (`gpt prepare`) or meta.pkl (nanoGPT's prepare.py); give a text file or such a folder")
    }
    let attributes = try? FileManager.default.attributesOfItem(atPath: path)
    guard attributes?[.type] as? FileAttributeType == .typeRegular else {
        throw GPTError.unreadableFile(path: path, reason: "it is not a regular file (a device, a FIFO or a socket); give a text file")
    }
    let size = (attributes?[.size] as? NSNumber)?.intValue ?? 0
    let limit = Int(clamping: ProcessInfo.processInfo.physicalMemory) / 8
    guard size <= limit else {
        throw GPTError.unreadableFile(path: path, reason:
            "it is \(formatBytes(size)), more text than this machine can tokenize in memory (\(formatBytes(limit))); "
            + "tokenize it with `gpt prepare` in parts")
    }
    let data: Data
    do {
        data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw GPTError.unreadableFile(path: path, reason: error.localizedDescription)
    }
    if data.isEmpty { throw GPTError.emptyCorpus(path: path) }
    // Validated, then decoded as it is: `String(data:encoding:)` would drop a leading byte-order mark.
    let invalid = firstInvalidUTF8Offset(data)
    guard invalid == data.count else { throw GPTError.invalidUTF8(path: path, byteOffset: invalid) }
    return String(decoding: data, as: UTF8.self)
}

/// The offset of the first byte that does not start or continue a valid UTF-8 sequence.
func firstInvalidUTF8Offset(_ data: Data) -> Int {
    var decoder = UTF8()
    var iterator = data.makeIterator()
    var offset = 0
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue(let scalar):
            offset += UTF8.width(scalar)
        case .emptyInput:
            return data.count
        case .error:
            return offset
        }
    }
}

/// The bundled default corpus: tiny shakespeare (1,115,394 characters), as the lecture trains on.
public func bundledCorpusPath() throws -> String {
    guard let url = Bundle.module.url(forResource: "tinyshakespeare", withExtension: "txt") else {
        throw GPTError.fileNotFound(path: "tinyshakespeare.txt (bundled resource)")
    }
    return url.path
}

/// A tokenized text split 90/10 into training and validation tokens, from which random `(x, y)` batches are drawn.
///
/// A batch is `batchSize` windows of `blockSize` consecutive tokens (`x`, shape `[B, T]`) and the same windows
/// shifted one token ahead (`y`): at every position the model learns to predict the next token.
public struct TextDataset: Sendable {
    public enum Split: String, Sendable, CaseIterable { case train, validation }

    public let trainTokens: TokenSequence
    public let validationTokens: TokenSequence
    /// Where the text came from, for messages.
    public let source: String

    /// Splits `tokens` at `trainFraction` (the lecture: first 90% train, last 10% validation).
    public init(tokens: [Int], trainFraction: Double = 0.9, source: String = "corpus") {
        let cut = Int(Double(tokens.count) * trainFraction)
        self.init(train: TokenSequence(Array(tokens[..<cut])), validation: TokenSequence(Array(tokens[cut...])),
                  source: source)
    }

    /// Uses given splits (e.g. memory-mapped `train.bin` and `val.bin`).
    public init(train: TokenSequence, validation: TokenSequence, source: String) {
        trainTokens = train
        validationTokens = validation
        self.source = source
    }

    public func tokens(_ split: Split) -> TokenSequence { split == .train ? trainTokens : validationTokens }

    /// Throws unless both splits hold at least one window of `blockSize + 1` tokens.
    public func validate(blockSize: Int) throws {
        let shortest = min(trainTokens.count, validationTokens.count)
        if shortest < blockSize + 1 {
            throw GPTError.corpusTooShort(path: source, tokens: shortest, needed: blockSize + 1)
        }
    }

    /// A random batch: `x` and `y` are `batchSize * blockSize` token ids, row-major `[B, T]`, `y` one ahead of `x`.
    public func batch(
        _ split: Split, batchSize: Int, blockSize: Int, generator: inout SeededGenerator
    ) -> (x: [Int], y: [Int]) {
        let data = tokens(split)
        var x: [Int] = [], y: [Int] = []
        x.reserveCapacity(batchSize * blockSize)
        y.reserveCapacity(batchSize * blockSize)
        for _ in 0..<batchSize {
            let start = generator.nextInt(below: data.count - blockSize)
            x.append(contentsOf: data[start..<(start + blockSize)])
            y.append(contentsOf: data[(start + 1)...(start + blockSize)])
        }
        return (x, y)
    }
}
