import Foundation
import LanguageModels
import TensorModule
import Testing
import _TestSupport

/// ``scoreTokens(_:model:alternatives:stride:precision:weights:)`` gives transformers' log-probabilities and top
/// alternatives for the tiny GPT-2 of `Scripts/make_hf_fixtures.py`, in one window and in windows sliding past its
/// 32 positions (fixtures from `Scripts/make_logprob_fixtures.py`).
@Suite struct PromptScoringTests {
    static let golden = try! LogprobGolden.load()

    @Test(arguments: golden.cases.indices)
    func scoresEqualTransformers(index: Int) throws {
        let golden = Self.golden.cases[index]
        let model = try gpt2FixtureModel("tied")
        #expect(model.configuration.blockSize == Self.golden.window)
        let scores = try scoreTokens(golden.ids, model: model, alternatives: golden.top, stride: golden.stride)
        #expect(scores.count == golden.ids.count)
        #expect(scores.first! == nil)
        var worst: Double = 0
        for (position, (score, reference)) in zip(scores, golden.scores).enumerated().dropFirst() {
            guard let score, let reference else {
                Issue.record("position \(position): a score is missing")
                continue
            }
            #expect(score.token == golden.ids[position])
            #expect(score.alternatives.map(\.token) == reference.top.map { Int($0[0]) }, "position \(position)")
            worst = max(worst, abs(Double(score.logprob) - reference.logprob))
            for (alternative, expected) in zip(score.alternatives, reference.top) {
                worst = max(worst, abs(Double(alternative.logprob) - expected[1]))
            }
        }
        #expect(worst < 1e-4, "max |logprob difference| \(worst)")
    }

    @Test(arguments: [MatrixPrecision.bfloat16, .q8])
    func roundedPrecisionsStayClose(precision: MatrixPrecision) throws {
        // bf16 and 8-bit weights move a log-probability by about their relative rounding; the tokens are the same.
        let golden = Self.golden.cases[1]
        let model = try gpt2FixtureModel("tied")
        let scores = try scoreTokens(golden.ids, model: model, alternatives: 1, stride: golden.stride, precision: precision)
        let differences = zip(scores, golden.scores).compactMap { score, reference in
            score.map { abs(Double($0.logprob) - reference!.logprob) }
        }
        #expect(differences.count == golden.ids.count - 1)
        #expect(differences.max()! < 0.1, "max |logprob difference| \(differences.max()!) in \(precision)")
    }

    @Test func shortInputsAndBadArguments() throws {
        let model = try gpt2FixtureModel("tied")
        #expect(try scoreTokens([], model: model).isEmpty)
        #expect(try scoreTokens([5], model: model) == [nil])
        #expect(throws: GPTError.self) { try scoreTokens([1, 65], model: model) }
        #expect(throws: GPTError.self) { try scoreTokens([1, -1], model: model) }
        #expect(throws: GPTError.self) { try scoreTokens([1, 2], model: model, stride: 32) }
        #expect(throws: GPTError.self) { try scoreTokens([1, 2], model: model, stride: 0) }
    }
}
