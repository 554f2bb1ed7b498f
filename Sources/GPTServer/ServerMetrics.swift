import Foundation
import LanguageModels

/// The server's counters and histograms, written in Prometheus' text format (version 0.0.4) at `GET /metrics`:
/// requests, prompt and generated tokens, requests running and queued, the batch of every decoding step, time to
/// first token and the latency of each later token, prompt tokens prefilled, and the prefix cache's hits, misses,
/// reused tokens and bytes. Thread-safe; cheap enough to update on every token.
final class ServerMetrics: @unchecked Sendable {
    /// A cumulative histogram: a count per upper bound (`le`), plus the sum and the count of every observation.
    struct Histogram {
        let bounds: [Double]
        var counts: [Int]
        var sum = 0.0, count = 0

        init(bounds: [Double]) {
            self.bounds = bounds
            counts = Array(repeating: 0, count: bounds.count)
        }

        mutating func observe(_ value: Double) {
            for i in bounds.indices where value <= bounds[i] { counts[i] += 1 }
            sum += value
            count += 1
        }
    }

    private let lock = NSLock()
    private var requests = 0, promptTokens = 0, generatedTokens = 0, steps = 0, prefilledTokens = 0
    private var lastBatchSize = 0
    private var timeToFirstToken = Histogram(bounds: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])
    private var tokenLatency = Histogram(bounds: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1])
    private var batchSize = Histogram(bounds: [1, 2, 4, 8, 16, 32, 64])

    func requestReceived() { lock.withLock { requests += 1 } }
    func promptTokens(_ count: Int) { lock.withLock { promptTokens += count } }

    /// `count` tokens generated, `seconds` after the previous token of their choice (or after the request arrived,
    /// for the first): the first is a time to first token, each of the others a per-token latency.
    func tokens(_ count: Int, seconds: Double, first: Bool) {
        guard count > 0 else { return }
        lock.withLock {
            generatedTokens += count
            if first {
                timeToFirstToken.observe(seconds)
                for _ in 1..<count { tokenLatency.observe(0) }  // released together with the first
            } else {
                for _ in 0..<count { tokenLatency.observe(seconds / Double(count)) }
            }
        }
    }

    /// One decoding step of the batch.
    func step(_ report: DecodingBatch.StepReport) {
        let size = report.batched + report.prefilled
        lock.withLock {
            steps += 1
            prefilledTokens += report.prefilledTokens
            lastBatchSize = size
            batchSize.observe(Double(size))
        }
    }

    /// The text exposition, with the requests `running` and `waiting` now and the prefix cache's statistics (none:
    /// no prefix cache, no series).
    func exposition(running: Int, waiting: Int, prefixCache: PrefixCache.Statistics? = nil) -> String {
        lock.withLock {
            var text = ""
            func metric(_ name: String, _ type: String, _ help: String, _ value: Int) {
                text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
            }
            func histogram(_ name: String, _ help: String, _ h: Histogram) {
                text += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
                for (bound, count) in zip(h.bounds, h.counts) { text += "\(name)_bucket{le=\"\(bound)\"} \(count)\n" }
                text += "\(name)_bucket{le=\"+Inf\"} \(h.count)\n\(name)_sum \(h.sum)\n\(name)_count \(h.count)\n"
            }
            metric("gpt_requests_total", "counter", "Completion and chat completion requests received.", requests)
            metric("gpt_prompt_tokens_total", "counter", "Prompt tokens of admitted requests.", promptTokens)
            metric("gpt_generated_tokens_total", "counter", "Tokens generated.", generatedTokens)
            metric("gpt_requests_running", "gauge", "Requests holding a generation slot.", running)
            metric("gpt_requests_waiting", "gauge", "Requests queued for a slot.", waiting)
            metric("gpt_decode_steps_total", "counter", "Steps of the decoding batch.", steps)
            metric("gpt_batch_size", "gauge", "Sequences advanced by the latest step.", lastBatchSize)
            metric("gpt_prefill_tokens_total", "counter", "Prompt tokens run through the model (chunked prefill).",
                   prefilledTokens)
            if let cache = prefixCache {
                metric("gpt_prefix_cache_hits_total", "counter", "Prompts that reused a cached prefix.", cache.hits)
                metric("gpt_prefix_cache_misses_total", "counter", "Prompts that found no cached prefix.", cache.misses)
                metric("gpt_prefix_cache_reused_tokens_total", "counter", "Prompt positions copied from the prefix cache.",
                       cache.reusedTokens)
                metric("gpt_prefix_cache_evictions_total", "counter", "Cached sequences dropped to stay in bounds.",
                       cache.evictions)
                metric("gpt_prefix_cache_bytes", "gauge", "Bytes of keys and values in the prefix cache.", cache.bytes)
                metric("gpt_prefix_cache_entries", "gauge", "Sequences in the prefix cache.", cache.entries)
            }
            histogram("gpt_step_batch_size", "Sequences advanced per step.", batchSize)
            histogram("gpt_time_to_first_token_seconds", "From a request's arrival to its first generated token.",
                      timeToFirstToken)
            histogram("gpt_token_latency_seconds", "Between consecutive generated tokens of a choice.", tokenLatency)
            return text
        }
    }
}
