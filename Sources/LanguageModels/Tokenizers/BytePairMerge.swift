/// BPE's merging of one piece's symbols, as `tokenizers`' `Word::merge_all`: lowest rank first, leftmost among equal
/// ranks, with a queue over a linked list of symbols (linear-logarithmic in the length).
///
/// A SentencePiece-style tokenizer (Llama 2) has no pre-tokenizer, so a whole text is one piece. It is merged in
/// runs cut where no merge can ever join the symbols on both sides (``BytePairTokenizer/junctions(merges:)``): each
/// run merges as it would inside the whole, since merges on one side never change the pairs of the other, and the
/// queue's order restricted to a run is the run's own order. Equal runs (a repeated word) are merged once.
extension BytePairTokenizer {
    /// Pieces shorter than this are merged whole: cutting them saves nothing.
    static let shortestCutPiece = 32

    /// `symbols` merged as BPE does.
    func mergeAll(_ symbols: [Int]) -> [Int] {
        guard let junctions, symbols.count >= Self.shortestCutPiece else { return mergeRun(symbols[...]) }
        var merged: [[Int]: [Int]] = [:]
        var tokens: [Int] = []
        tokens.reserveCapacity(symbols.count)
        var start = 0
        func flush(_ end: Int) {
            let run = Array(symbols[start..<end])
            if let known = merged[run] { tokens += known } else {
                let result = mergeRun(run[...])
                merged[run] = result
                tokens += result
            }
            start = end
        }
        for index in 1..<symbols.count where !junctions.contains(Self.key(symbols[index - 1], symbols[index])) { flush(index) }
        flush(symbols.count)
        return tokens
    }

    /// One run of symbols merged with the queue.
    func mergeRun(_ symbols: ArraySlice<Int>) -> [Int] {
        let count = symbols.count
        guard count > 1 else { return Array(symbols) }
        var ids = Array(symbols), next = Array(1...count), previous = Array(-1..<(count - 1))
        var alive = [Bool](repeating: true, count: count)
        var queue = RankQueue()
        func push(_ index: Int) {
            guard next[index] < count, let found = rankOfPair[Self.key(ids[index], ids[next[index]])] else { return }
            queue.push(rank: found.rank, position: index)
        }
        for index in 0..<(count - 1) { push(index) }
        while let (rank, index) = queue.pop() {
            guard alive[index], next[index] < count, let found = rankOfPair[Self.key(ids[index], ids[next[index]])],
                  found.rank == rank else { continue }
            let right = next[index]
            ids[index] = found.result
            alive[right] = false
            next[index] = next[right]
            if next[right] < count { previous[next[right]] = index }
            if previous[index] >= 0 { push(previous[index]) }
            push(index)
        }
        return (0..<count).filter { alive[$0] }.map { ids[$0] }
    }

    /// The pairs of symbols `(x, y)` that some merge can join across: a merge `(a, b)` joins the last symbol `a`
    /// was made of with the first `b` was made of. Any other neighbours stay apart, so a piece can be merged in
    /// runs cut between them. Nil when it cannot be told cheaply (merges that use tokens made by later merges
    /// again and again, or too many pairs), and then pieces are merged whole.
    static func junctions(merges: [[Int]]) -> Set<Int64>? {
        // The symbols each token can begin and end with: itself (a symbol a piece starts from), and for a merge's
        // result those of its left part's beginning and its right part's end. To a fixed point, since a file's
        // merges may use a token before the merge that makes it.
        var firsts: [Int: Set<Int>] = [:], lasts: [Int: Set<Int>] = [:]
        func ends(_ table: [Int: Set<Int>], _ token: Int) -> Set<Int> { table[token, default: []].union([token]) }
        let limit = 16 * merges.count + 4096
        for _ in 0..<4 {
            var changed = false, total = 0
            for merge in merges {
                let (left, right, result) = (merge[0], merge[1], merge[2])
                let first = ends(firsts, left), last = ends(lasts, right)
                if !first.isSubset(of: firsts[result, default: []]) { firsts[result, default: []].formUnion(first); changed = true }
                if !last.isSubset(of: lasts[result, default: []]) { lasts[result, default: []].formUnion(last); changed = true }
                total += firsts[result]!.count + lasts[result]!.count
            }
            guard total <= limit else { return nil }
            guard changed else {
                var pairs = Set<Int64>()
                for merge in merges {
                    for x in ends(lasts, merge[0]) {
                        for y in ends(firsts, merge[1]) {
                            pairs.insert(key(x, y))
                            if pairs.count > limit { return nil }
                        }
                    }
                }
                return pairs
            }
        }
        return nil
    }
}

/// A binary min-heap of (rank, position), smaller position first among equal ranks.
private struct RankQueue {
    private var items: [UInt64] = []

    mutating func push(rank: Int, position: Int) {
        items.append(UInt64(rank) << 32 | UInt64(position))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (rank: Int, position: Int)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < items.count, items[left] < items[smallest] { smallest = left }
                if right < items.count, items[right] < items[smallest] { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return (Int(top >> 32), Int(top & 0xFFFF_FFFF))
    }
}
