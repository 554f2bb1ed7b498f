import Foundation
import TensorModule

/// Continuous batching: every running generation advances by one token per step, the sequences whose caches hold
/// their context in one forward pass (``GPTLanguageModel/decode(_:caches:)``: each weight read once for all of
/// them, a matrix-matrix product instead of one matrix-vector product per sequence), each at its own position with
/// its own KV cache and sampling generator. Requests join and leave between steps: a new one is prefilled on its own
/// (as is a sequence whose window slid past the block size), ``prefillChunk`` tokens per step
/// (``GPTLanguageModel/extend(_:cache:)``), so that a long prompt does not stall the running streams, then decodes
/// with the rest. With a ``PrefixCache``, a prompt starts from the longest cached prefix of it, and every sequence
/// is offered to the cache once prefilled and when it finishes.
///
/// A request's tokens are those ``TextGenerator/generate(prompt:options:sample:onPiece:)`` chooses for it alone
/// (greedy and seeded sampling alike), up to the summation order of the matrix kernel.
///
/// ```swift
/// let batch = DecodingBatch(model: model, tokenizer: tokenizer, limit: 8)
/// Thread { batch.run() }.start()
/// batch.submit(DecodingBatch.Request(prompt: tokens, options: options, onPiece: { print($0.text); return true },
///                                    onFinish: { print($0) }))
/// ```
/// ``step()`` and ``run()`` belong to one thread; ``submit(_:)``, ``load`` and ``shutDown()`` to any.
public final class DecodingBatch: @unchecked Sendable {
    /// A generation to run: its prompt's tokens (not empty), options (their precision is the batch's) and sample
    /// number (seed `options.seed + sample`). `onPiece` hears text as soon as it is safe to show and returns `false`
    /// to stop; `isCancelled` is asked before every step; `onFinish` hears why it ended, once. The three run on
    /// the stepping thread: keep them short.
    public struct Request: Sendable {
        public var prompt: [Int]
        public var options: SamplingOptions
        public var sample: Int
        public var onPiece: @Sendable (GeneratedPiece) -> Bool
        public var isCancelled: @Sendable () -> Bool
        public var onFinish: @Sendable (Result<FinishReason, any Error>) -> Void

        public init(prompt: [Int], options: SamplingOptions, sample: Int = 0,
                    onPiece: @escaping @Sendable (GeneratedPiece) -> Bool, isCancelled: @escaping @Sendable () -> Bool = { false },
                    onFinish: @escaping @Sendable (Result<FinishReason, any Error>) -> Void) {
            (self.prompt, self.options, self.sample) = (prompt, options, sample)
            (self.onPiece, self.isCancelled, self.onFinish) = (onPiece, isCancelled, onFinish)
        }
    }

    /// What one step did, for metrics: the sequences decoded together in one pass, those prefilled on their own
    /// (a chunk each) and the prompt tokens that took, and the tokens chosen.
    public struct StepReport: Sendable {
        public var batched = 0, prefilled = 0, prefilledTokens = 0, tokens = 0
    }

    public let model: any LanguageModel
    public let tokenizer: Tokenizer
    /// The most sequences running at once; more wait in order of arrival.
    public let limit: Int
    /// The precision of every product, with `roundedWeights` (made here when nil and needed).
    public let precision: MatrixPrecision
    private let roundedWeights: RoundedWeights?
    /// The most prompt tokens a sequence runs through the model in one step.
    public let prefillChunk: Int
    /// Where prompts find their cached prefixes, or nil.
    public let prefixCache: PrefixCache?
    /// Cores each step's kernels use (nil: the caller's ``KernelSettings/threads``).
    public let threads: Int?
    /// Called after every step with what it did (on the stepping thread).
    public var onStep: (@Sendable (StepReport) -> Void)?

    private let condition = NSCondition()
    private var waiting: [Request] = []
    private var runningCount = 0
    private var closed = false
    /// The stepping thread's own.
    private var running: [(request: Request, sequence: GenerationSequence)] = []

    public init(model: any LanguageModel, tokenizer: Tokenizer, limit: Int, precision: MatrixPrecision = .float32,
                roundedWeights: RoundedWeights? = nil, prefillChunk: Int = BatchingOptions().prefillChunk,
                prefixCache: PrefixCache? = nil, threads: Int? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.limit = max(1, limit)
        self.precision = precision
        self.prefillChunk = max(1, prefillChunk)
        self.prefixCache = prefixCache
        self.threads = threads.map { max(1, $0) }
        let gpt = model as? GPTLanguageModel
        self.roundedWeights = precision == .float32 ? nil : roundedWeights ?? gpt.map { RoundedWeights($0.matrices) }
    }

    /// Queues `request`; it joins at the next step with room. Invalid options or an empty prompt finish it at once
    /// with the error, as does a batch that was shut down.
    public func submit(_ request: Request) {
        do {
            try request.options.validate()
            guard !request.prompt.isEmpty else {
                throw GPTError.invalidArgument(name: "prompt", reason: "has no tokens")
            }
        } catch {
            request.onFinish(.failure(error))
            return
        }
        let accepted = condition.withLock {
            guard !closed else { return false }
            waiting.append(request)
            condition.signal()
            return true
        }
        if !accepted { request.onFinish(.failure(CancellationError())) }
    }

    /// Sequences running and waiting.
    public var load: (running: Int, waiting: Int) { condition.withLock { (runningCount, waiting.count) } }

    /// Drops cancelled sequences, admits waiting requests up to ``limit``, and runs every running sequence once:
    /// those with a pending token decode it in one batched pass and advance by a token; the rest (new ones, slid
    /// windows) run one chunk of their window each, and advance when that chunk was their last.
    @discardableResult
    public func step() -> StepReport {
        running.removeAll { entry in
            guard entry.request.isCancelled() else { return false }
            entry.request.onFinish(.success(.stop))
            return true
        }
        let joining = condition.withLock {
            let count = min(waiting.count, limit - running.count)
            defer { waiting.removeFirst(count) }
            return Array(waiting.prefix(count))
        }
        for request in joining {
            if request.isCancelled() {
                request.onFinish(.success(.stop))
                continue
            }
            running.append((request, GenerationSequence(prompt: request.prompt, options: request.options,
                                                        sample: request.sample, model: model, tokenizer: tokenizer)))
        }
        var report = StepReport()
        var settings = KernelSettings.current
        (settings.precision, settings.roundedWeights) = (precision, roundedWeights)
        if let threads { settings.threads = threads }
        let logits = KernelSettings.with(settings) { nextLogits(&report) }
        var finished = IndexSet()
        for i in running.indices {
            guard let logits = logits[i] else { continue }  // still prefilling
            report.tokens += 1
            guard let reason = running[i].sequence.advance(logits: logits, onPiece: running[i].request.onPiece) else { continue }
            running[i].request.onFinish(.success(reason))
            offer(running[i].sequence)
            finished.insert(i)
        }
        running = running.indices.filter { !finished.contains($0) }.map { running[$0] }
        condition.withLock { runningCount = running.count }
        onStep?(report)
        return report
    }

    /// Every running sequence's next-token logits, in order (nil: a sequence whose prompt is not all in its cache
    /// yet).
    private func nextLogits(_ report: inout StepReport) -> [[Float]?] {
        var logits = [[Float]?](repeating: nil, count: running.count)
        let blockSize = model.configuration.blockSize
        var batched: [Int] = []
        for i in running.indices {
            guard let gpt = model as? GPTLanguageModel else {
                logits[i] = running[i].sequence.nextLogits(model: model)
                report.prefilled += 1
                continue
            }
            if running[i].sequence.pendingToken(blockSize: blockSize) != nil {
                batched.append(i)
                continue
            }
            let chunk = running[i].sequence.prefillChunk(model: gpt, limit: prefillChunk, prefixCache: prefixCache)
            logits[i] = chunk.logits
            report.prefilled += 1
            report.prefilledTokens += chunk.tokens
            if running[i].sequence.isPrefilled { offer(running[i].sequence) }
        }
        if let gpt = model as? GPTLanguageModel, !batched.isEmpty {
            let rows = gpt.decode(batched.map { running[$0].sequence.pendingToken(blockSize: blockSize)! },
                                  caches: batched.map { running[$0].sequence.cache! })
            for (row, i) in batched.enumerated() { logits[i] = rows[row] }
            report.batched = batched.count
        }
        return logits
    }

    /// Offers `sequence`'s cached context to the prefix cache, unless its window slid (a slid window is prefilled
    /// again at every step, and another prompt rarely starts with it).
    private func offer(_ sequence: GenerationSequence) {
        guard let prefixCache, let cache = sequence.cache, sequence.cacheStart == 0 else { return }
        prefixCache.offer(sequence.cachedWindow, cache: cache)
    }

    /// Steps while there is work, sleeping while there is none, until ``shutDown()``.
    public func run() {
        while true {
            let open = condition.withLock {
                while !closed && waiting.isEmpty && running.isEmpty { condition.wait() }
                return !closed
            }
            guard open else { break }
            step()
        }
        let left = condition.withLock {
            defer { waiting.removeAll() }
            return waiting
        }
        for request in left + running.map(\.request) { request.onFinish(.failure(CancellationError())) }
        running.removeAll()
    }

    /// Ends ``run()`` after its current step; the requests still there finish with a `CancellationError`.
    public func shutDown() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
    }
}

extension DecodingBatch {
    /// Aggregate decoding speed of `sequences` generations advancing together in one batch on the calling thread (no
    /// server around it): each starts from a one-token prompt (token `s % V`, seed `seed + s`) and generates
    /// `tokens` tokens at temperature 1; returns the tokens generated over the seconds the steps took.
    public static func aggregateTokensPerSecond(model: any LanguageModel, tokenizer: Tokenizer, sequences: Int, tokens: Int,
                                                precision: MatrixPrecision, kvCache: KVCachePrecision = .float32,
                                                seed: UInt64 = 0) -> Double {
        let batch = DecodingBatch(model: model, tokenizer: tokenizer, limit: sequences, precision: precision)
        let generated = TokenCounter()
        for s in 0..<sequences {
            var options = SamplingOptions()
            (options.precision, options.maxNewTokens, options.seed) = (precision, tokens, seed + UInt64(s))
            options.kvCache = kvCache
            batch.submit(Request(prompt: [s % model.configuration.vocabSize], options: options,
                                 onPiece: { generated.add($0.tokens.count); return true }, onFinish: { _ in }))
        }
        let start = ContinuousClock.now
        while batch.load != (0, 0) { batch.step() }
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        return Double(generated.total) / max(1e-9, seconds)
    }
}

/// Tokens counted from the stepping thread's callbacks.
private final class TokenCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add(_ tokens: Int) { lock.withLock { count += tokens } }
    var total: Int { lock.withLock { count } }
}
