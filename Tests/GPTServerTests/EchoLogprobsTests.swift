import Foundation
import GPTServer
import LanguageModels
import TensorModule
import Testing
import _TestSupport

/// `echo` with `logprobs` on `/v1/completions`: the prompt's tokens scored as transformers scores them (the tiny
/// GPT-2 of `Scripts/make_hf_fixtures.py`, golden values from `Scripts/make_logprob_fixtures.py`), in the legacy
/// completion shape lm-evaluation-harness reads, and bad requests refused with 400s.
@Suite struct EchoLogprobsTests {
    static let golden = try! LogprobGolden.load()

    /// A server over the fixture GPT-2 (65 tokens), with a character tokenizer of 65 one-scalar texts `0`...`p`.
    static func gpt2Server() throws -> GPTServer {
        let tokenizer = Tokenizer.character(CharacterTokenizer(training: String((48..<113).map { Character(UnicodeScalar($0)!) })))
        let service = CompletionService(checkpoint: Checkpoint(model: try gpt2FixtureModel("tied"), tokenizer: tokenizer),
                                        modelName: "gpt2-tiny", parallel: 1)
        return GPTServer(service: service, maximumBodySize: 1 << 16)
    }

    static func logprobs(_ answer: LiveServer.Answer, choice: Int = 0) -> [String: Any] {
        ((answer.object["choices"] as? [[String: Any]])?[choice]["logprobs"] as? [String: Any]) ?? [:]
    }

    @Test(arguments: [0, 1])
    func echoScoresThePromptAsTransformersDoes(index: Int) async throws {
        // Case 1 (70 tokens) slides past the 32 positions by half a window, the server's stride.
        let golden = Self.golden.cases[index]
        #expect(golden.stride == Self.golden.window / 2 || golden.ids.count <= Self.golden.window)
        try await LiveServer.with(try Self.gpt2Server()) { server in
            let answer = try await server.complete(#"{"prompt":\#(golden.ids),"max_tokens":0,"echo":true,"logprobs":\#(golden.top)}"#)
            #expect(answer.status == 200, "\(answer.text)")
            let choice = (answer.object["choices"] as? [[String: Any]])?.first ?? [:]
            #expect(choice["finish_reason"] as? String == "length")
            let logprobs = Self.logprobs(answer)
            let texts = logprobs["tokens"] as? [String] ?? []
            let values = logprobs["token_logprobs"] as? [Any] ?? []
            let tops = logprobs["top_logprobs"] as? [Any] ?? []
            #expect(texts.count == golden.ids.count && values.count == golden.ids.count && tops.count == golden.ids.count)
            #expect(choice["text"] as? String == texts.joined())
            #expect(logprobs["text_offset"] as? [Int] == Array(golden.ids.indices))  // one scalar per token
            #expect(values.first is NSNull && tops.first is NSNull)
            var worst = 0.0
            for (position, reference) in golden.scores.enumerated().dropFirst() {
                guard let reference, let value = values[position] as? Double, let top = tops[position] as? [String: Double] else {
                    Issue.record("position \(position) has no score")
                    continue
                }
                worst = max(worst, abs(value - reference.logprob))
                #expect(top.count == golden.top)
                for pair in reference.top {
                    worst = max(worst, abs((top[Self.text(Int(pair[0]))] ?? .infinity) - pair[1]))
                }
            }
            #expect(worst < 1e-4, "max |logprob difference| \(worst)")
            #expect((answer.object["usage"] as? [String: Int])?["completion_tokens"] == 0)
        }
    }

    /// The text of token `id` in ``gpt2Server()``'s tokenizer.
    static func text(_ id: Int) -> String { String(Character(UnicodeScalar(48 + id)!)) }

    @Test func lmEvaluationHarnessLoglikelihoodRequest() async throws {
        // lm-evaluation-harness's local-completions payload for loglikelihood, answered and read as its
        // parse_logprobs reads it: the continuation's log-probabilities token_logprobs[ctxlen:-1] (the last is the
        // one generated token), greedy when each equals the largest of its top_logprobs.
        let golden = Self.golden.cases[0], ctxlen = 8
        try await LiveServer.with(try Self.gpt2Server()) { server in
            let answer = try await server.complete(#"{"model":"gpt2-tiny","prompt":[\#(golden.ids)],"temperature":0,"max_tokens":1,"logprobs":1,"seed":1234,"echo":true}"#)
            #expect(answer.status == 200, "\(answer.text)")
            let logprobs = Self.logprobs(answer)
            let values = logprobs["token_logprobs"] as? [Any] ?? []
            let tops = logprobs["top_logprobs"] as? [Any] ?? []
            #expect(values.count == golden.ids.count + 1)
            let continuation = values[ctxlen..<(values.count - 1)].compactMap { $0 as? Double }
            let expected = golden.scores[ctxlen...].compactMap { $0?.logprob }
            #expect(continuation.count == expected.count)
            #expect(abs(continuation.reduce(0, +) - expected.reduce(0, +)) < 1e-3)
            let greedy = zip(continuation, tops[ctxlen..<(tops.count - 1)]).allSatisfy { value, top in
                value == (top as? [String: Double])?.values.max()
            }
            let expectedGreedy = zip(golden.ids[ctxlen...], golden.scores[ctxlen...]).allSatisfy { id, score in
                Int(score!.top[0][0]) == id
            }
            #expect(greedy == expectedGreedy)
        }
    }

    @Test func echoWithTextPromptsAndSeveralChoices() async throws {
        try await LiveServer.with(ServerTests.makeServer()) { server in
            let answer = try await server.complete(#"{"prompt":["abc","de"],"n":2,"max_tokens":3,"echo":true,"logprobs":1,"seed":5}"#)
            #expect(answer.status == 200, "\(answer.text)")
            let choices = answer.object["choices"] as? [[String: Any]] ?? []
            #expect(choices.count == 4)
            for (index, choice) in choices.enumerated() {
                let prompt = index < 2 ? "abc" : "de", text = choice["text"] as? String ?? ""
                #expect(text.hasPrefix(prompt), "\(index)")
                let logprobs = Self.logprobs(answer, choice: index)
                let texts = logprobs["tokens"] as? [String] ?? []
                #expect(texts.count == prompt.count + 3 && texts.joined() == text, "\(index)")
                let offsets = logprobs["text_offset"] as? [Int] ?? []
                #expect(offsets == Array(texts.indices), "\(index)")  // one character per token
                #expect((logprobs["token_logprobs"] as? [Any])?.first is NSNull)
            }
            // The generated tokens' log-probabilities are those the prompt's scoring gives the same text.
            let first = choices[0]["text"] as? String ?? ""
            let rescored = try await server.complete(#"{"prompt":"\#(first)","max_tokens":0,"echo":true,"logprobs":1}"#)
            let generated = (Self.logprobs(answer)["token_logprobs"] as? [Any] ?? []).suffix(3).compactMap { $0 as? Double }
            let scored = (Self.logprobs(rescored)["token_logprobs"] as? [Any] ?? []).suffix(3).compactMap { $0 as? Double }
            #expect(generated.count == 3 && zip(generated, scored).allSatisfy { abs($0 - $1) < 1e-4 }, "\(generated) \(scored)")
            // Without logprobs, echo repeats the text alone.
            let plain = try await server.complete(#"{"prompt":[1,2,3],"max_tokens":2,"echo":true}"#)
            let choice = (plain.object["choices"] as? [[String: Any]])?.first ?? [:]
            #expect((choice["text"] as? String)?.hasPrefix("abc") == true && choice["logprobs"] is NSNull)
        }
    }

    @Test(arguments: [
        (#"{"prompt":"abc","max_tokens":0}"#, "max_tokens"),
        (#"{"prompt":"abc","echo":true,"stream":true}"#, "echo"),
        (#"{"prompt":"abc","echo":"yes"}"#, "echo"),
        (#"{"prompt":[[]]}"#, "prompt"),
        (#"{"prompt":[]}"#, "prompt"),
        (#"{"prompt":[1,"a"]}"#, "prompt"),
        (#"{"prompt":[1,-1]}"#, "prompt"),
        (#"{"prompt":[1,2.5]}"#, "prompt"),
        (#"{"prompt":[1,11],"echo":true,"logprobs":1}"#, "prompt"),
        (#"{"prompt":[[1],"ab",3]}"#, "prompt"),
    ])
    func badEchoRequestsAre400s(body: String, parameter: String) async throws {
        try await LiveServer.with(ServerTests.makeServer()) { server in
            let answer = try await server.complete(body)
            #expect(answer.status == 400, "\(body): \(answer.text)")
            let error = answer.object["error"] as? [String: Any]
            #expect(error?["param"] as? String == parameter, "\(body): \(answer.text)")
        }
    }
}
