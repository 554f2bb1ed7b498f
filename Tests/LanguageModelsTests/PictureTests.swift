import Foundation
import LanguageModels
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Counts elements by name while checking that a document is well-formed XML.
final class ElementCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        counts[name, default: 0] += 1
    }

    static func parse(_ svg: String) -> [String: Int]? {
        let parser = XMLParser(data: Data(svg.utf8))
        let counter = ElementCounter()
        parser.delegate = counter
        return parser.parse() ? counter.counts : nil
    }
}

@Suite struct PictureTests {
    @Test func trainingLogWritesJSONLinesAndAWellFormedLossChart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gpt-log-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = TrainingLog(directory: directory)
        log.record(.evaluation(step: 0, trainLoss: 4.2, validationLoss: 4.3), learningRate: 0)
        for step in 1...10 {
            log.record(.step(step: step, loss: 4 - Float(step) * 0.1, tokensPerSecond: 1000, secondsLeft: 1), learningRate: 1e-3)
        }
        log.record(.evaluation(step: 10, trainLoss: 3.1, validationLoss: 3.3 as Float), learningRate: 0)
        try log.write()
        #expect(TrainingLog.entries(in: directory) == log.entries)
        #expect(log.entries.count == 12)
        let svg = try String(contentsOf: directory.appendingPathComponent("loss.svg"), encoding: .utf8)
        let counts = try #require(ElementCounter.parse(svg), "loss.svg is not well-formed XML")
        #expect(counts["polyline"] == 3)
        #expect(svg.contains("val loss") && svg.contains("step"))
    }

    @Test func labelsAreEscaped() throws {
        let chart = LineChart(title: "a < b & \"c\"", xLabel: "x", yLabel: "y",
                              series: [.init(name: "<tag>", color: "red", points: [(0, 1), (1, 2)])])
        #expect(ElementCounter.parse(chart.svg()) != nil)
    }
}
