import Foundation
import GPTServer
import LanguageModels
import Testing
import _TestSupport

/// `POST /v1/chat/completions` over the tiny GPT-2 chat model (ChatML; greedy answers "That is the question."):
/// OpenAI's shapes plain and streamed, the same answer both ways for a seed, chat log-probabilities, limits, and
/// OpenAI-shaped errors; chats run in the decoding batch beside completions.
@Suite struct ChatCompletionTests {
    static func server(template: Bool = true, parallel: Int = 1) throws -> GPTServer {
        let service = CompletionService(checkpoint: try chatFixtureCheckpoint(template: template), modelName: "chat",
                                        parallel: parallel)
        return GPTServer(service: service)
    }

    static let messages = #"[{"role":"system","content":"You are a poet."},{"role":"user","content":"To be, or not to be?"}]"#

    static func chat(_ server: LiveServer, _ fields: String) async throws -> LiveServer.Answer {
        try await server.request("/v1/chat/completions", method: "POST", body: #"{"messages":\#(messages)\#(fields)}"#)
    }

    /// The JSON objects of a server-sent event stream, and whether it ended with `[DONE]`.
    static func events(_ answer: LiveServer.Answer) -> (chunks: [[String: Any]], done: Bool) {
        let events = answer.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        let chunks = events.filter { $0 != "data: [DONE]" }.map {
            (try? JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8))) as? [String: Any] ?? [:]
        }
        return (chunks, events.last == "data: [DONE]")
    }

    static func choices(_ object: [String: Any]) -> [[String: Any]] { object["choices"] as? [[String: Any]] ?? [] }

    /// Each choice's streamed content, joined.
    static func streamedContents(_ chunks: [[String: Any]]) -> [Int: String] {
        var contents: [Int: String] = [:]
        for choice in chunks.flatMap(choices) {
            let delta = choice["delta"] as? [String: Any]
            contents[choice["index"] as? Int ?? -1, default: ""] += delta?["content"] as? String ?? ""
        }
        return contents
    }

    @Test func greedyAnswerHasOpenAIsShapeAndStopsAtEndOfTurn() async throws {
        try await LiveServer.with(try Self.server()) { server in
            let answer = try await Self.chat(server, #","temperature":0,"model":"chat""#)
            #expect(answer.status == 200)
            #expect(answer.object["object"] as? String == "chat.completion")
            #expect((answer.object["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            let choice = try #require(Self.choices(answer.object).first)
            #expect(choice["message"] as? [String: String] == ["role": "assistant", "content": "That is the question."])
            #expect(choice["finish_reason"] as? String == "stop")
            #expect(answer.object["usage"] as? [String: Int] == ["prompt_tokens": 41, "completion_tokens": 11, "total_tokens": 52])
        }
    }

    @Test func streamSendsRoleThenContentThenFinishThenDone() async throws {
        try await LiveServer.with(try Self.server()) { server in
            let answer = try await Self.chat(server, #","temperature":0,"stream":true,"stream_options":{"include_usage":true}"#)
            #expect(answer.headers["content-type"] == "text/event-stream")
            let (chunks, done) = Self.events(answer)
            #expect(done)
            #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
            let deltas = chunks.flatMap(Self.choices).map { $0["delta"] as? [String: String] ?? ["?": "?"] }
            #expect(deltas.first == ["role": "assistant", "content": ""])
            #expect(deltas.last == [:])
            #expect(Self.choices(chunks[chunks.count - 2]).first?["finish_reason"] as? String == "stop")
            #expect(Self.streamedContents(chunks) == [0: "That is the question."])
            #expect(Self.choices(chunks.last!).isEmpty)
            #expect(chunks.last?["usage"] as? [String: Int] == ["prompt_tokens": 41, "completion_tokens": 11, "total_tokens": 52])
        }
    }

    @Test func chatsAndCompletionsShareTheDecodingBatch() async throws {
        // A chat sent while a long completion runs advances in the same steps, each answering as it does alone. On
        // a loaded machine the completion may end before the chat joins: up to 5 tries to see a shared step.
        let completion = #"{"prompt":"To be, or not","max_tokens":80,"temperature":0}"#
        try await LiveServer.with(try Self.server(parallel: 2)) { server in
            let alone = ServerTests.text(try await server.complete(completion))
            func shared(_ text: String) -> Double {
                (BatchingServerTests.sample("gpt_step_batch_size_count", in: text) ?? 0)
                    - (BatchingServerTests.sample("gpt_step_batch_size_bucket{le=\"1.0\"}", in: text) ?? 0)
            }
            var sharedSteps = false
            for _ in 0..<5 where !sharedSteps {
                let before = try await server.request("/metrics").text
                let text = Task { try await server.complete(completion) }
                for _ in 0..<2_000 {  // until the completion runs
                    if try await server.request("/health").object["running"] as? Int == 1 { break }
                    try await Task.sleep(for: .milliseconds(1))
                }
                let chat = try await Self.chat(server, #","temperature":0"#)
                let textAnswer = try await text.value
                let message = Self.choices(chat.object).first?["message"] as? [String: String]
                #expect(message?["content"] == "That is the question.")
                #expect(alone != nil && ServerTests.text(textAnswer) == alone)
                sharedSteps = shared(try await server.request("/metrics").text) > shared(before)
            }
            #expect(sharedSteps, "the chat and the completion shared steps")
        }
    }

    @Test func plainAndStreamedAgreeForASeed() async throws {
        try await LiveServer.with(try Self.server()) { server in
            let fields = #","temperature":1.2,"top_p":0.95,"seed":7,"n":2,"max_tokens":20"#
            let plain = try await Self.chat(server, fields)
            let streamed = try await Self.chat(server, fields + #","stream":true"#)
            let contents = Self.choices(plain.object).map { ($0["message"] as? [String: Any])?["content"] as? String }
            #expect(contents.count == 2)
            #expect(Self.streamedContents(Self.events(streamed).chunks) == [0: contents[0] ?? "?", 1: contents[1] ?? "?"])
            #expect(plain.object["seed"] as? Int == 7)
        }
    }

    @Test func logprobsHaveTheChatShape() async throws {
        try await LiveServer.with(try Self.server()) { server in
            let answer = try await Self.chat(server, #","temperature":0,"logprobs":true,"top_logprobs":2,"max_completion_tokens":4"#)
            let choice = try #require(Self.choices(answer.object).first)
            #expect(choice["finish_reason"] as? String == "length")
            let content = try #require((choice["logprobs"] as? [String: Any])?["content"] as? [[String: Any]])
            #expect(content.count == 4)
            let text = content.compactMap { $0["token"] as? String }.joined()
            #expect(text == (choice["message"] as? [String: Any])?["content"] as? String)
            for entry in content {
                let token = entry["token"] as? String ?? "", top = entry["top_logprobs"] as? [[String: Any]] ?? []
                #expect(entry["bytes"] as? [Int] == Array(token.utf8).map(Int.init))
                #expect((entry["logprob"] as? Double ?? 1) <= 0)
                #expect(top.count == 2 && top.first?["token"] as? String == token, "greedy picks the most likely")
            }
            let without = try await Self.chat(server, #","temperature":0,"max_tokens":2"#)
            #expect(Self.choices(without.object).first?["logprobs"] is NSNull)
        }
    }

    @Test func stopSequencesEndTheAnswer() async throws {
        try await LiveServer.with(try Self.server()) { server in
            let answer = try await Self.chat(server, #","temperature":0,"stop":["question"]"#)
            let choice = try #require(Self.choices(answer.object).first)
            #expect((choice["message"] as? [String: Any])?["content"] as? String == "That is the ")
            #expect(choice["finish_reason"] as? String == "stop")
        }
    }

    @Test func badRequestsGetOpenAIErrors() async throws {
        let long = String(repeating: "to be or not ", count: 40)
        let cases: [(String, String, String?)] = [
            (#"{"messages":[]}"#, "messages", nil), (#"{"prompt":"hi"}"#, "messages", nil),
            (#"{"messages":[{"role":"wizard","content":"hi"}]}"#, "messages", nil),
            (#"{"messages":[{"role":"user","content":3}]}"#, "messages", nil),
            (#"{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}"#, "messages", nil),
            (#"{"messages":[{"role":"user","content":"\#(long)"}]}"#, "messages", "context_length_exceeded"),
            (#"{"messages":[{"role":"user","content":"hi"}],"top_logprobs":2}"#, "top_logprobs", nil),
            (#"{"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":0}"#, "max_completion_tokens", nil),
            (#"{"messages":[{"role":"user","content":"hi"}],"logprobs":1}"#, "logprobs", nil),
        ]
        try await LiveServer.with(try Self.server()) { server in
            for (body, param, code) in cases {
                let answer = try await server.request("/v1/chat/completions", method: "POST", body: body)
                #expect(answer.status == 400, "\(body.prefix(60))")
                let error = answer.object["error"] as? [String: Any]
                #expect(error?["type"] as? String == "invalid_request_error", "\(body.prefix(60))")
                #expect(error?["param"] as? String == param, "\(body.prefix(60))")
                if let code { #expect(error?["code"] as? String == code) }
            }
        }
    }

    @Test func aModelWithoutTemplateIsA400NamingTheFix() async throws {
        try await LiveServer.with(try Self.server(template: false)) { server in
            let answer = try await Self.chat(server, "")
            #expect(answer.status == 400)
            let error = try #require(answer.object["error"] as? [String: Any])
            #expect(error["type"] as? String == "invalid_request_error" && error["code"] as? String == "no_chat_template")
            #expect((error["message"] as? String)?.contains("chat_template.jinja") == true)
            // Completions still work.
            #expect(try await server.complete(#"{"prompt":"To be","max_tokens":2}"#).status == 200)
        }
    }
}
