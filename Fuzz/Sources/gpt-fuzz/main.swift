import Foundation
import GPTServer
import LanguageModels
import TensorModule

/// One fuzz input: the first byte picks the reader, the rest is the file. Every reader must answer with a value
/// or a `GPTError` (or a decoding error); a trap, a crash, a hang or a runaway allocation is a bug.
///
/// - 0: a safetensors file (`SafeTensors.decode`)
/// - 1: `config.json` (decode, `validate()`, `parameterCount()`)
/// - 2: `tokenizer.json`, Hugging Face's format or the older one (read, then encode and decode a text with it)
/// - 3: `trainer.json` (decode, `validate(source:)`)
/// - 4: a `config.json` and a safetensors file together, as `Checkpoint.load` meets them (split at the first NUL)
/// - 5: a `torch.save` archive, nanoGPT's `ckpt.pt` (`TorchCheckpoint`: the ZIP and the restricted pickle)
/// - 6: nanoGPT's `meta.pkl` (the restricted pickle, then a character tokenizer)
/// - 7: a Hugging Face GPT-2 `config.json` (`HuggingFaceGPT2.configuration(configJSON:source:)`, then `validate()`)
/// - 8: GPT-2's `vocab.json` and `merges.txt` (split at the first NUL; read, then encode and decode a text)
/// - 9: a Hugging Face `model.safetensors.index.json` (`HuggingFaceGPT2.shards(indexJSON:source:)`)
/// - 10: a `POST /v1/completions` body (`CompletionRequest(json:)`, the server's only route with a body)
/// - 11: a GGUF file (`GGUF.File`, every tensor's values, then `GGUFFormat.checkpoint(from:source:)`: the
///   tokenizer from the metadata, the configuration, the model)
///
/// `GPT_FUZZ_READER=N` fuzzes reader N alone (every input's first byte is taken as N), to count its inputs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let bytes = Data(bytes: start, count: count)
    let body = bytes.dropFirst()
    switch onlyReader ?? bytes[bytes.startIndex] % readerCount {
    case 0:
        _ = try? SafeTensors.decode(Data(body))
    case 1:
        if let configuration = try? JSONDecoder().decode(ModelConfiguration.self, from: Data(body)) {
            if (try? configuration.validate()) != nil { _ = try? configuration.parameterCount() }
        }
    case 2:
        if let tokenizer = try? Tokenizer(huggingFaceJSON: Data(body), source: "fuzz") {
            let ids = (try? tokenizer.encode("To be, or not to be: ¿qué? 🙂\r\n")) ?? []
            _ = tokenizer.decode(ids + [-1, tokenizer.vocabularySize, Int.max])
        }
    case 3:
        if let state = try? JSONDecoder().decode(TrainingState.self, from: Data(body)) {
            try? state.validate(source: "fuzz")
        }
    case 5:
        if let checkpoint = try? TorchCheckpoint(data: Data(body), source: "fuzz") { _ = try? checkpoint.configuration(source: "fuzz") }
    case 6:
        _ = try? characterTokenizer(fromMetaPickle: Data(body), source: "fuzz")
    case 7:
        if let configuration = try? HuggingFaceGPT2.configuration(configJSON: Data(body), source: "fuzz"),
           (try? configuration.validate()) != nil {
            _ = try? configuration.parameterCount()
        }
    case 8:
        let parts = body.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2,
           let tokenizer = try? BytePairTokenizer(gpt2Vocabulary: Data(parts[0]), merges: String(decoding: parts[1], as: UTF8.self)) {
            _ = tokenizer.decode(tokenizer.encode("To be, or not to be: ¿qué? 🙂\r\n") + [-1, tokenizer.vocabularySize, Int.max])
        }
    case 9:
        _ = try? HuggingFaceGPT2.shards(indexJSON: Data(body), source: "fuzz")
    case 10:
        _ = try? CompletionRequest(json: Data(body))
    case 11:
        if let file = try? GGUF.File(Data(body)) {
            for tensor in file.tensors { _ = file.values(tensor) }
            _ = try? GGUFFormat().checkpoint(from: file, source: "fuzz")
        }
    default:  // 4
        let parts = body.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let configuration = try? JSONDecoder().decode(ModelConfiguration.self, from: Data(parts[0])),
              (try? configuration.validate()) != nil, let file = try? SafeTensors.decode(Data(parts[1])),
              let needed = try? configuration.parameterCount(),
              file.tensors.values.reduce(0, { $0 + $1.values.count }) == needed
        else { return 0 }
        var generator = SeededGenerator(seed: 0)
        if let model = try? makeModel(configuration, generator: &generator) {
            try? model.loadWeights(file.tensors, source: "fuzz")
        }
    }
    return 0
}

/// How many readers the first byte chooses among.
let readerCount: UInt8 = 12

/// The reader `GPT_FUZZ_READER` names, if any.
let onlyReader: UInt8? = ProcessInfo.processInfo.environment["GPT_FUZZ_READER"].flatMap { UInt8($0) }

/// libFuzzer's driver, linked in by `-sanitize=fuzzer`.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafeRawPointer, Int) -> CInt) -> CInt

/// The entry point SwiftPM names for this executable (the file is parsed as a library, so it has no `main`): hands
/// the command line to libFuzzer.
@_cdecl("gpt_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { start, length in fuzz(start, length) }
}
