import Foundation
import LanguageModels
import Testing

/// Mutated fixture templates (characters dropped, doubled, swapped, tags cut) parse and render to a result or a
/// typed error: nothing traps.
@Suite struct ChatTemplateFuzzTests {
    /// A small deterministic generator (SplitMix64), so that a failure can be replayed.
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(max(bound, 1)))
        }
    }

    static func mutate(_ source: String, _ generator: inout Generator) -> String {
        var scalars = Array(source.unicodeScalars)
        let pieces: [String] = ["{{", "}}", "{%", "%}", "{#", "#}", "-", "+", "(", ")", "[", "]", "'", "\"", "|", ".",
                                "endfor", "endif", "else", " if ", " in ", "loop", "ns.", "**", "~", "\\", "\n", "9e999",
                                "range(100000)", "caller()", ":", ",", "=", "not", "is", "é"]
        for _ in 0..<1 + generator.next(3) {
            guard !scalars.isEmpty else { break }
            let at = generator.next(scalars.count)
            switch generator.next(4) {
            case 0: scalars.remove(at: at)
            case 1: scalars.insert(contentsOf: pieces[generator.next(pieces.count)].unicodeScalars, at: at)
            case 2:
                let end = min(scalars.count, at + 1 + generator.next(20))
                scalars.insert(contentsOf: scalars[at..<end], at: end)
            default:
                let other = generator.next(scalars.count)
                scalars.swapAt(at, other)
            }
        }
        return String(String.UnicodeScalarView(scalars))
    }

    @Test func mutatedTemplatesNeverTrap() throws {
        let cases = try ChatTemplateFixtureTests.cases()
        var generator = Generator(state: 25)
        var rendered = 0
        var limits = JinjaLimits()
        limits.maximumSteps = 200_000
        for round in 0..<1_500 {
            let fixture = cases[round % cases.count]
            let source = Self.mutate(fixture.template, &generator)
            if let template = try? ChatTemplate(source: source),
               (try? template.render(context: fixture.context, limits: limits)) != nil {
                rendered += 1
            }
        }
        #expect(rendered > 100)
    }
}
