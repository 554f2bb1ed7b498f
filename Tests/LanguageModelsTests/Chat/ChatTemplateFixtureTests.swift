import Foundation
import LanguageModels
import Testing

/// The engine against jinja2 configured as transformers configures it: every case of
/// `Scripts/make_jinja_fixtures.py` renders byte for byte the same, or fails with the same kind of error.
@Suite struct ChatTemplateFixtureTests {
    struct Case {
        var name: String
        var template: String
        var context: [String: JinjaValue]
        var expected: String?
        var error: String?
        var message: String?
    }

    static func cases() throws -> [Case] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/jinja_templates", withExtension: "json"))
        guard case .object(let root) = try JinjaValue(json: try Data(contentsOf: url)),
              case .object(let templates)? = root["templates"], case .array(let cases)? = root["cases"]
        else { throw ChatTemplateError.invalidValue("the fixture file has an unexpected shape") }
        return cases.compactMap { value in
            guard case .object(let fields) = value, case .string(let name)? = fields["name"],
                  case .string(let templateName)? = fields["template"], case .string(let template)? = templates[templateName],
                  case .object(let context)? = fields["context"]
            else { return nil }
            func text(_ key: String) -> String? {
                if case .string(let text)? = fields[key] { return text }
                return nil
            }
            return Case(name: name, template: template, context: Dictionary(uniqueKeysWithValues: context.pairs),
                        expected: text("expected"), error: text("error"), message: text("message"))
        }
    }

    /// Where two strings first differ, for a readable failure.
    static func firstDifference(_ a: String, _ b: String) -> String {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        let index = (0..<min(x.count, y.count)).first { x[$0] != y[$0] } ?? min(x.count, y.count)
        func around(_ s: [Unicode.Scalar]) -> String {
            String(String.UnicodeScalarView(s[max(0, index - 30)..<min(s.count, index + 30)])).debugDescription
        }
        return "at scalar \(index): got \(around(x)), expected \(around(y))"
    }

    @Test func everyCaseRendersAsJinja2Does() throws {
        let cases = try Self.cases()
        #expect(cases.count >= 90)
        for fixture in cases {
            let result: Result<String, ChatTemplateError>
            do {
                let template = try ChatTemplate(source: fixture.template)
                result = .success(try template.render(context: fixture.context).text)
            } catch {
                result = .failure(error)
            }
            switch (result, fixture.expected) {
            case (.success(let text), let expected?):
                #expect(text == expected, "\(fixture.name): \(Self.firstDifference(text, expected))")
            case (.success(let text), nil):
                Issue.record("\(fixture.name): expected a \(fixture.error ?? "") error, rendered \(text.prefix(80).debugDescription)")
            case (.failure(let error), nil):
                switch (fixture.error, error) {
                case ("syntax", .syntax), ("render", .render), ("render", .limitExceeded): break
                case ("raised", .raised(let message)): #expect(message == fixture.message, "\(fixture.name)")
                default: Issue.record("\(fixture.name): expected a \(fixture.error ?? "") error, got \(error)")
                }
            case (.failure(let error), _?):
                Issue.record("\(fixture.name): \(error)")
            }
        }
    }
}
