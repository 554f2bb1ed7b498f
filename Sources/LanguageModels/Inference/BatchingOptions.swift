/// How a ``DecodingBatch`` prefills joining prompts, how much it remembers of earlier ones, how each sequence's KV
/// cache holds keys and values and how many cores its steps use (`gpt serve --prefill-chunk`, `--cache-mb`,
/// `--kv-cache`, `--threads`).
///
/// A smaller chunk lets the running streams take their next token sooner while a long prompt joins, at a little
/// more per-step overhead; the prefix cache trades memory for prompts that start as an earlier one did.
public struct BatchingOptions: Sendable, Equatable {
    /// Prompt tokens a joining sequence runs through the model per step.
    public var prefillChunk: Int
    /// Megabytes of keys and values the ``PrefixCache`` keeps (0: no prefix cache).
    public var prefixCacheMegabytes: Int
    /// The KV caches' precision (every request's ``SamplingOptions/kvCache``).
    public var kvCache: KVCachePrecision
    /// Cores a step's kernels split their work across (nil: the process's ``KernelSettings/threads``). A server's
    /// own threads (HTTP, tokenizing, streaming) need a core too: kernels that split across every core wait for
    /// whichever part lost its core to them.
    public var threads: Int?

    public init(prefillChunk: Int = 128, prefixCacheMegabytes: Int = 256, kvCache: KVCachePrecision = .float32,
                threads: Int? = nil) {
        (self.prefillChunk, self.prefixCacheMegabytes, self.kvCache) = (prefillChunk, prefixCacheMegabytes, kvCache)
        self.threads = threads
    }

    /// Throws ``GPTError/invalidArgument(name:reason:)`` for a chunk outside 1...65536, a cache outside
    /// 0...1048576 MB or threads outside 1...1024.
    public func validate() throws {
        guard (1...65536).contains(prefillChunk) else {
            throw GPTError.invalidArgument(name: "--prefill-chunk", reason: "use 1...65536 tokens")
        }
        guard (0...(1 << 20)).contains(prefixCacheMegabytes) else {
            throw GPTError.invalidArgument(name: "--cache-mb", reason: "use 0...1048576 (0 turns the prefix cache off)")
        }
        if let threads, !(1...1024).contains(threads) {
            throw GPTError.invalidArgument(name: "--threads", reason: "use 1...1024")
        }
    }

    /// A prefix cache of ``prefixCacheMegabytes``, or nil when that is 0.
    public func makePrefixCache() -> PrefixCache? {
        prefixCacheMegabytes > 0 ? PrefixCache(byteLimit: prefixCacheMegabytes << 20) : nil
    }
}
