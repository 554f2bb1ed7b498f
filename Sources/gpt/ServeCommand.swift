import ArgumentParser
import Foundation
import GPTServer
import Hummingbird
import LanguageModels

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over an OpenAI-style HTTP API, with a playground page at /.")

    @OptionGroup var model: CheckpointOptions
    @Option(help: "The address to listen on (0.0.0.0: every interface).") var host = "127.0.0.1"
    @Option(help: "The port to listen on (0: any free port, printed).") var port = 8080
    @Option(help: "Require `Authorization: Bearer KEY` on the API.") var apiKey: String?
    @Option(help: "Generations that run at once: the batch limit of each decoding step.") var parallel = 2
    @Option(help: "Requests that may wait for a free slot before the server answers 503.") var queue = 16
    @Option(help: "The most UTF-8 bytes a request's prompts may hold (400 above it), checked before it queues.")
    var maxPromptBytes = PromptLimits().bytes
    @Option(help: "The most tokens a request's prompts may hold (400 above it); longer prompts are cropped to the block size.")
    var maxPromptTokens = PromptLimits().tokens
    @Option(help: "Matrix products in fp32 (exact), bf16 (bfloat16 weights: half the memory traffic per token; logits rounded) or q8 (8-bit weights in Q8_0 blocks: about half the bytes of bf16; activations quantised per block).")
    var precision = MatrixPrecision.float32
    @Option(help: "Prompt tokens a joining request prefills per step, so running streams keep decoding (1...65536).")
    var prefillChunk = BatchingOptions().prefillChunk
    @Option(help: "Megabytes of keys and values kept for prompts that start like an earlier one (0: no prefix cache).")
    var cacheMb = BatchingOptions().prefixCacheMegabytes
    @Option(help: KVCachePrecision.help)
    var kvCache = KVCachePrecision.float32
    @Option(help: "Cores the decoding steps use (default: every core, or GPT_THREADS); fewer leave the HTTP side a core of its own.")
    var threads: Int?

    func run() async throws {
        let url = model.url
        var loaded: Checkpoint?
        let batching = BatchingOptions(prefillChunk: prefillChunk, prefixCacheMegabytes: cacheMb, kvCache: kvCache,
                                       threads: threads)
        try reportingErrors {
            try batching.validate()
            guard (1...64).contains(parallel), (0...10_000).contains(queue) else {
                throw GPTError.invalidArgument(name: "--parallel/--queue", reason: "use 1...64 and 0...10000")
            }
            guard (1...(1 << 30)).contains(maxPromptBytes), (1...(1 << 30)).contains(maxPromptTokens) else {
                throw GPTError.invalidArgument(name: "--max-prompt-bytes/--max-prompt-tokens", reason: "use 1...1073741824")
            }
            loaded = try Checkpoint.load(from: url)
        }
        guard let loaded else { return }
        let service = CompletionService(checkpoint: loaded, modelName: url.standardizedFileURL.lastPathComponent,
                                        parallel: parallel, queueLimit: queue, precision: precision,
                                        promptLimits: PromptLimits(bytes: maxPromptBytes, tokens: maxPromptTokens),
                                        batching: batching)
        let server = GPTServer(service: service, apiKey: apiKey)
        let name = service.modelName, host = self.host
        try await server.application(host: host, port: port, onListening: { port in
            print("serving \(name) on http://\(host):\(port)/ (API: /v1/completions, /v1/chat/completions, /v1/models; playground: /)")
        }).runService()
    }
}
