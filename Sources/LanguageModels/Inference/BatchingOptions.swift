/// How a ``DecodingBatch`` prefills joining prompts, how much it remembers of earlier ones and how each sequence's
/// KV cache holds keys and values (`gpt serve --prefill-chunk`, `--cache-mb`, `--kv-cache`).
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

    public init(prefillChunk: Int = 128, prefixCacheMegabytes: Int = 256, kvCache: KVCachePrecision = .float32) {
        (self.prefillChunk, self.prefixCacheMegabytes, self.kvCache) = (prefillChunk, prefixCacheMegabytes, kvCache)
    }

    /// Throws ``GPTError/invalidArgument(name:reason:)`` for a chunk outside 1...65536 or a cache outside
    /// 0...1048576 MB.
    public func validate() throws {
        guard (1...65536).contains(prefillChunk) else {
            throw GPTError.invalidArgument(name: "--prefill-chunk", reason: "use 1...65536 tokens")
        }
        guard (0...(1 << 20)).contains(prefixCacheMegabytes) else {
            throw GPTError.invalidArgument(name: "--cache-mb", reason: "use 0...1048576 (0 turns the prefix cache off)")
        }
    }

    /// A prefix cache of ``prefixCacheMegabytes``, or nil when that is 0.
    public func makePrefixCache() -> PrefixCache? {
        prefixCacheMegabytes > 0 ? PrefixCache(byteLimit: prefixCacheMegabytes << 20) : nil
    }
}
