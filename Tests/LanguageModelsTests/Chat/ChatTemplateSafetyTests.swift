import Foundation
import LanguageModels
import Testing

/// Hostile and broken templates fail quickly with a typed error that says where: never a crash, a hang or a runaway
/// allocation.
@Suite struct ChatTemplateSafetyTests {
    /// Renders `source` with no messages and returns the error it must throw.
    func failure(_ source: String, limits: JinjaLimits = JinjaLimits()) -> ChatTemplateError? {
        do {
            let template = try ChatTemplate(source: source)
            _ = try template.render(context: ["messages": []], limits: limits)
            return nil
        } catch {
            return error
        }
    }

    func isLimit(_ error: ChatTemplateError?) -> Bool {
        if case .limitExceeded? = error { return true }
        return false
    }

    func isSyntax(_ error: ChatTemplateError?) -> Bool {
        if case .syntax? = error { return true }
        return false
    }

    @Test func deepNestingIsRefusedWhenParsing() {
        let parentheses = "{{ " + String(repeating: "(", count: 5_000) + "1" + String(repeating: ")", count: 5_000) + " }}"
        #expect(isSyntax(failure(parentheses)))
        let ifs = String(repeating: "{% if true %}", count: 5_000) + String(repeating: "{% endif %}", count: 5_000)
        #expect(isSyntax(failure(ifs)))
        let nots = "{{ " + String(repeating: "not ", count: 5_000) + "true }}"
        #expect(isSyntax(failure(nots)))
        let filters = "{{ 1" + String(repeating: " | abs", count: 50) + " }}"
        #expect(failure(filters) == nil)
        // Long chains build deep trees too: refused when parsing, not evaluated or freed recursively.
        #expect(failure("{{ 1" + String(repeating: " ~ 1", count: 20_000) + " }}") == nil)
        for chain in [" + 1", " * 1", " and 1", " or 1", ".a", "[0]", " | abs", "(1)", " if 1 else 2"] {
            #expect(isSyntax(failure("{{ 1" + String(repeating: chain, count: 20_000) + " }}")), "\(chain)")
        }
    }

    @Test func recursionAndHugeLoopsStop() {
        #expect(isLimit(failure("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")))
        #expect(isLimit(failure("{% macro f(n) %}{% call f(n) %}x{% endcall %}{% endmacro %}{{ f(1) }}")))
        #expect(isLimit(failure("{% for i in range(10**9) %}x{% endfor %}")))
        var few = JinjaLimits()
        few.maximumSteps = 50_000
        let nested = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
        #expect(isLimit(failure(nested, limits: few)))
    }

    /// Macros recursing through deeply nested blocks and expressions stop at the nesting bound before the stack runs
    /// out, also on a task's thread.
    @Test func deepRecursionStaysOnTheStack() async {
        let expression = String(repeating: "(", count: 35) + "f(n - 1)" + String(repeating: ")", count: 35)
        let blocks = String(repeating: "{% if true %}", count: 35) + "{{ " + expression + " }}"
            + String(repeating: "{% endif %}", count: 35)
        let source = "{% macro f(n) %}{% if n > 0 %}" + blocks + "{% endif %}{% endmacro %}{{ f(39) }}"
        let error = await Task.detached { failure(source) }.value
        #expect(isLimit(error))
    }

    @Test func runawayValuesAndOutputStop() {
        #expect(isLimit(failure("{{ 'x' * 10**12 }}")))
        #expect(isLimit(failure("{{ [1] * 10**12 }}")))
        #expect(isLimit(failure("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}")))
        // Lists are measured element by element: a smaller bound keeps the debug-build test fast.
        var small = JinjaLimits()
        small.maximumValueSize = 100_000
        let listDoubling = "{% set ns = namespace(s=[1]) %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}"
        #expect(isLimit(failure(listDoubling, limits: small)))
        #expect(isLimit(failure("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}")))
        let long = "{% set s = 'x' * 100000 %}"
        #expect(isLimit(failure(long + "{{ s | replace('', s) }}")))
        #expect(isLimit(failure(long + "{{ s.replace('x', s) }}")))
        #expect(isLimit(failure(long + "{{ range(1000) | join(s) }}")))
        #expect(isLimit(failure(long + "{{ s.join(range(1000) | map('string') | list) }}")))
        #expect(isLimit(failure(long + "{{ ('{0}' * 1000).format(s) }}")))
        #expect(isLimit(failure(long + "{{ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s }}")))
        #expect(isLimit(failure("{{ ('x\n' * 1000) | indent(10**9) }}")))
        #expect(isLimit(failure("{{ [[[[[[[[[[1]]]]]]]]]] | tojson(indent=10**6) }}")))
        // Doubling by sharing: [x, x] is cheap to build but exponential to print.
        let doubling = "{% set ns = namespace(x=1) %}{% for i in range(80) %}{% set ns.x = [ns.x, ns.x] %}{% endfor %}"
        #expect(isLimit(failure(doubling + "{{ ns.x }}", limits: small)))
        let deep = "{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}"
        #expect(isLimit(failure(deep + "{{ ns.x }}")))
        let selfish = "{% set ns = namespace() %}{% set ns.me = ns %}{% set ns.list = [ns] %}{{ ns }}{{ ns.list }}"
        #expect(failure(selfish) == nil)
        if case .render(let message, _)? = failure("{{ 2 ** 10000 }}") {
            #expect(message.contains("overflow"))
        } else {
            Issue.record("2 ** 10000 should fail with an overflow")
        }
    }

    @Test func syntaxErrorsSayWhere() {
        guard case .syntax(_, let line, let column, let excerpt)? = failure("one\ntwo {{ 1 + }} three") else {
            Issue.record("expected a syntax error")
            return
        }
        #expect(line == 2)
        #expect(column == 12)
        #expect(excerpt.contains("1 + }}"))
        guard case .syntax(let message, let endLine, _, _)? = failure("{% if x %}\n\nno end") else {
            Issue.record("expected a syntax error")
            return
        }
        #expect(endLine == 3)
        #expect(message.contains("endif"))
    }

    @Test func renderErrorsSayWhichLine() {
        guard case .render(let message, let line)? = failure("a\r\nb\n{{ 'x' + 1 }}") else {
            Issue.record("expected a render error")
            return
        }
        #expect(line == 3)
        #expect(message.contains("str"))
        #expect(failure("{{ raise_exception('no system role') }}") == .raised(message: "no system role"))
        if case .render(let unsafe, _)? = failure("{{ messages.append(1) }}") { #expect(unsafe.contains("unsafe")) }
    }

    @Test func everyErrorHasAOneLineDescription() {
        let errors = [failure("{{ 1 + }}"), failure("{{ x.y }}"), failure("{{ raise_exception('r') }}"),
                      failure("{{ range(10**9) }}")]
        for error in errors {
            let text = error.map(\.description) ?? ""
            #expect(!text.isEmpty && !text.contains("\n"))
        }
    }
}
