import Foundation
@testable import GPTServer
import Testing

/// The server's JSON writer against Foundation's parser: what it writes reads back as the same values, keys sorted;
/// what JSON cannot hold is refused.
@Suite struct JSONTextTests {
    static var answer: [String: Any] { [
        "id": "cmpl-1", "object": "text_completion", "created": 1_733_000_000, "seed": UInt64.max, "n": NSNull(),
        "choices": [["index": 0, "text": "quote \" slash \\ line\n tab\t bell \u{7} é 漢 🎭", "finish_reason": NSNull(),
                     "logprobs": ["tokens": ["a", "\u{1}"], "token_logprobs": [-0.125, -1e-7, 0.0, -42.0],
                                  "top_logprobs": [["a": -0.125, "b": -3.5]]]]],
        "flags": [true, false], "float": Float(0.25), "small": 1.5e-300, "large": 1e300,
    ] }

    @Test func itReadsBackAsTheSameValuesWithSortedKeys() throws {
        let text = try #require(JSONText.encode(Self.answer))
        let back = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary)
        let reference = try JSONSerialization.jsonObject(with: JSONSerialization.data(withJSONObject: Self.answer))
        #expect(back == reference as? NSDictionary)
        let keys = ["choices", "created", "flags", "float", "id", "large", "n", "object", "seed", "small"]
        let positions = keys.map { text.range(of: "\"\($0)\":")!.lowerBound }
        #expect(positions == positions.sorted(), "keys in sorted order")
        #expect(!text.contains("\n") && !text.contains("\u{7}"), "control characters escaped")
    }

    @Test func whatJSONCannotHoldIsRefused() {
        #expect(JSONText.encode(["x": Double.nan]) == nil)
        #expect(JSONText.encode([Double.infinity]) == nil)
        #expect(JSONText.encode(["x": Date()]) == nil)
        #expect(JSONText.encodeOrEmpty(["x": -Float.infinity]) == "{}")
    }
}
