import Foundation
import TensorModule

/// The KV entries of sequences the server has already run, kept so that a request whose prompt begins with the same
/// tokens (a shared system prompt, the earlier turns of a chat, a document asked about twice) copies them instead of
/// computing them again, and prefills only the rest.
///
/// The keys and values of position `t` depend only on tokens `0...t` (attention is causal), so any cached sequence
/// that starts with a prompt's first `n` tokens holds that prompt's first `n` positions exactly. Sequences are kept
/// in whole granules of ``granule`` tokens, indexed by a hash of every granule-long prefix (each hash chained from
/// the one before), so finding the longest cached prefix of a prompt costs one hash per granule; a match is then
/// checked token by token. Memory is bounded by `byteLimit` (keys and values: `2 · layers · positions · KV·D`
/// elements of the cache's precision per sequence); the least recently used sequences go first. A prefix is
/// restored only into a cache of the precision it was kept in. A sequence that extends a cached one
/// replaces it. Thread-safe.
///
/// ```swift
/// let prefixes = PrefixCache(byteLimit: 256 << 20)
/// prefixes.restore(prompt[...], into: cache)  // cache.count: the positions copied (0: none)
/// _ = model.extend(Array(prompt[cache.count...]), cache: cache)
/// prefixes.offer(prompt[...], cache: cache)
/// ```
public final class PrefixCache: @unchecked Sendable {
    /// Tokens per granule: sequences are kept, and prefixes matched, in multiples of it.
    public static let granule = 16

    /// What the cache did so far and holds now.
    public struct Statistics: Sendable, Equatable {
        /// Restores that copied at least one position, and those that found nothing.
        public var hits = 0, misses = 0
        /// Positions copied instead of computed.
        public var reusedTokens = 0
        /// Bytes of keys and values held, and the sequences holding them.
        public var bytes = 0, entries = 0
        /// Sequences dropped to stay under the limit.
        public var evictions = 0
    }

    /// One sequence's keys and values, per layer `[positions, KV·D]`.
    private final class Entry {
        let tokens: [Int]
        let keys: [KVRows], values: [KVRows]
        let width: Int, bytes: Int
        var lastUse: Int

        init(tokens: [Int], keys: [KVRows], values: [KVRows], width: Int, bytes: Int, lastUse: Int) {
            (self.tokens, self.keys, self.values, self.width) = (tokens, keys, values, width)
            (self.bytes, self.lastUse) = (bytes, lastUse)
        }
    }

    /// The most bytes of keys and values held.
    public let byteLimit: Int
    private let lock = NSLock()
    private var entries: [ObjectIdentifier: Entry] = [:]
    /// The hash of every granule-long prefix of every entry -> the entries with that prefix.
    private var index: [UInt64: [ObjectIdentifier]] = [:]
    private var clock = 0
    private var counts = Statistics()

    public init(byteLimit: Int) { self.byteLimit = max(0, byteLimit) }

    public var statistics: Statistics { lock.withLock { counts } }

    /// Copies into the empty `cache` the keys and values of the longest cached prefix of `tokens`, at most
    /// `tokens.count - 1` positions (the last token is always computed, for its logits), and sets `cache.count` to
    /// it. Returns the positions copied.
    @discardableResult
    public func restore(_ tokens: ArraySlice<Int>, into cache: KVCache) -> Int {
        precondition(cache.count == 0, "restore into an empty cache")
        return lock.withLock {
            let found = longestPrefix(of: tokens)
            let reused = min(found?.length ?? 0, tokens.count - 1, cache.capacity)
            guard let entry = found?.entry, reused > 0, entry.keys.count == cache.layerCount,
                  entry.width == cache.width, entry.keys.first?.precision == cache.precision else {
                counts.misses += 1
                return 0
            }
            for layer in 0..<cache.layerCount {
                cache.keys[layer].update(from: entry.keys[layer], elements: reused * cache.width)
                cache.values[layer].update(from: entry.values[layer], elements: reused * cache.width)
            }
            cache.count = reused
            clock += 1
            entry.lastUse = clock
            counts.hits += 1
            counts.reusedTokens += reused
            return reused
        }
    }

    /// Keeps the keys and values of `cache`, which holds `tokens` (its first positions), in whole granules: unless
    /// a cached sequence already starts with them, they are copied (replacing any cached sequence they extend) and
    /// the least recently used sequences are dropped until the bytes fit the limit.
    public func offer(_ tokens: ArraySlice<Int>, cache: KVCache) {
        let length = min(tokens.count, cache.count) / Self.granule * Self.granule
        let bytes = 2 * cache.layerCount * length * cache.width * cache.precision.bytesPerValue
        guard length > 0, bytes <= byteLimit else { return }
        let kept = Array(tokens.prefix(length))
        lock.withLock {
            clock += 1
            if let found = longestPrefix(of: kept[...]), found.length == length {  // already held
                found.entry.lastUse = clock
                return
            }
            for id in Set(prefixHashes(kept[...]).flatMap { index[$0] ?? [] }) {  // cached sequences this one extends
                if let entry = entries[id], entry.tokens.count <= length, kept.starts(with: entry.tokens) { remove(id) }
            }
            let copy = { (source: [KVRows]) in source.map { $0.prefix(length * cache.width) } }
            let entry = Entry(tokens: kept, keys: copy(cache.keys), values: copy(cache.values), width: cache.width,
                              bytes: bytes, lastUse: clock)
            let id = ObjectIdentifier(entry)
            entries[id] = entry
            for hash in prefixHashes(kept[...]) { index[hash, default: []].append(id) }
            counts.bytes += bytes
            while counts.bytes > byteLimit, let oldest = entries.values.min(by: { $0.lastUse < $1.lastUse }) {
                remove(ObjectIdentifier(oldest))
                counts.evictions += 1
            }
            counts.entries = entries.count
        }
    }

    // MARK: - Index

    /// The entry holding the most whole granules of `tokens`' start, and how many tokens that is. Under the lock.
    private func longestPrefix(of tokens: ArraySlice<Int>) -> (entry: Entry, length: Int)? {
        var best: (entry: Entry, length: Int)?
        for (k, hash) in prefixHashes(tokens).enumerated() {
            let length = (k + 1) * Self.granule
            let granule = tokens.dropFirst(k * Self.granule).prefix(Self.granule)
            // The entry so far only needs its next granule checked; another one, its whole prefix.
            let candidates = (index[hash] ?? []).compactMap { entries[$0] }
            let next = candidates.first { candidate in
                if let best, candidate === best.entry { return candidate.tokens[(length - Self.granule)..<length].elementsEqual(granule) }
                return candidate.tokens.count >= length && candidate.tokens[0..<length].elementsEqual(tokens.prefix(length))
            }
            guard let next else { break }
            best = (next, length)
        }
        return best
    }

    /// The chained hash of each whole granule-long prefix of `tokens`: 64-bit FNV-1a over the token values, so a
    /// hash names a whole prefix, not one granule.
    private func prefixHashes(_ tokens: ArraySlice<Int>) -> [UInt64] {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var hashes: [UInt64] = []
        hashes.reserveCapacity(tokens.count / Self.granule)
        for (i, token) in tokens.enumerated() {
            var value = UInt64(bitPattern: Int64(token))
            for _ in 0..<8 {
                hash = (hash ^ (value & 0xff)) &* 0x100_0000_01b3
                value >>= 8
            }
            if (i + 1) % Self.granule == 0 { hashes.append(hash) }
        }
        return hashes
    }

    /// Drops an entry and its index lines. Under the lock.
    private func remove(_ id: ObjectIdentifier) {
        guard let entry = entries.removeValue(forKey: id) else { return }
        for hash in prefixHashes(entry.tokens[...]) {
            index[hash]?.removeAll { $0 == id }
            if index[hash]?.isEmpty == true { index[hash] = nil }
        }
        counts.bytes -= entry.bytes
        counts.entries = entries.count
    }
}
