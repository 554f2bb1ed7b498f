import Foundation
@testable import GPTServer
import LanguageModels
import Testing

/// The channel between the stepping thread and a streamed response: the writer takes what waited at once, in order;
/// a full or finished channel refuses events; waiting pieces of one choice join into one.
@Suite struct EventChannelTests {
    static func piece(_ index: Int, _ text: String, _ token: Int) -> CompletionEvent {
        .piece(index: index, text: text, tokens: [TokenChoice(token: token, logprob: -Float(token), alternatives: [])])
    }

    /// The choice index, text and tokens of a piece, or nil.
    static func parts(_ event: CompletionEvent) -> (Int, String, [Int])? {
        guard case .piece(let index, let text, let tokens) = event else { return nil }
        return (index, text, tokens.map(\.token))
    }

    @Test func theWriterTakesEverythingThatWaitedInOrderThenNil() async {
        let channel = EventChannel(limit: 8)
        for (i, text) in ["a", "b", "c"].enumerated() { #expect(channel.yield(Self.piece(0, text, i))) }
        let first = await channel.next()
        #expect(first?.compactMap { Self.parts($0)?.1 } == ["a", "b", "c"])
        channel.yield(.finished(index: 0, reason: .length))
        channel.finish()
        #expect(!channel.yield(Self.piece(0, "late", 9)), "a finished channel refuses events")
        let last = await channel.next()
        #expect(last?.count == 1)
        #expect(await channel.next() == nil)
    }

    @Test func aWaitingWriterWakesForTheNextEvent() async {
        let channel = EventChannel(limit: 8)
        let writer = Task { await channel.next()?.compactMap { Self.parts($0)?.1 } }
        try? await Task.sleep(for: .milliseconds(20))
        #expect(channel.yield(Self.piece(0, "x", 1)))
        #expect(await writer.value == ["x"])
    }

    @Test func aFullChannelRefusesTheNextEvent() {
        let channel = EventChannel(limit: 2)
        #expect(channel.yield(Self.piece(0, "a", 0)) && channel.yield(Self.piece(0, "b", 1)))
        #expect(!channel.yield(Self.piece(0, "c", 2)))
    }

    @Test func aCancelledWriterEndsTheChannel() async {
        let channel = EventChannel(limit: 8)
        let writer = Task { await channel.next() }
        try? await Task.sleep(for: .milliseconds(20))
        writer.cancel()
        #expect(await writer.value == nil)
        #expect(!channel.yield(Self.piece(0, "a", 0)), "the producer learns that nobody reads")
    }

    @Test func piecesOfOneChoiceJoinUntilAnotherEvent() {
        let events: [CompletionEvent] = [Self.piece(0, "a", 1), Self.piece(0, "b", 2), Self.piece(1, "c", 3),
                                         Self.piece(1, "d", 4), .finished(index: 1, reason: .stop), Self.piece(0, "e", 5)]
        let merged = CompletionEvent.merged(events)
        #expect(merged.count == 4)
        #expect(Self.parts(merged[0])! == (0, "ab", [1, 2]))
        #expect(Self.parts(merged[1])! == (1, "cd", [3, 4]))
        guard case .finished(1, .stop) = merged[2] else {
            Issue.record("the finish stays where it was")
            return
        }
        #expect(Self.parts(merged[3])! == (0, "e", [5]))
    }
}
