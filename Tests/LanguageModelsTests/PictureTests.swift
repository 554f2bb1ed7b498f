import Foundation
import LanguageModels
import TensorModule
import Testing
#if canImport(FoundationXML)
import FoundationXML
import _TestSupport
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

/// The token labels of a scatter plot (`<text class="label">`) with their boxes, and its frame, read back from the SVG.
final class LabelReader: NSObject, XMLParserDelegate {
    var frame: (left: Double, top: Double, right: Double, bottom: Double)?
    var labels: [(text: String, left: Double, top: Double, right: Double, bottom: Double)] = []
    var fontSize = 0.0
    private var open: (x: Double, y: Double)?
    private var text = ""

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        func number(_ key: String) -> Double { Double(attributes[key] ?? "") ?? .nan }
        if name == "svg" { fontSize = number("font-size") }
        if name == "rect", attributes["class"] == "frame" {
            frame = (number("x"), number("y"), number("x") + number("width"), number("y") + number("height"))
        }
        if name == "text", attributes["class"] == "label", attributes["text-anchor"] == nil {
            (open, text) = ((number("x"), number("y")), "")
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { if open != nil { text += string } }

    /// A label's box: from its start `x`, 0.6 em per character of a monospace font, from the baseline up one em.
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        guard name == "text", let (x, y) = open else { return }
        labels.append((text, x, y - fontSize, x + 0.6 * fontSize * Double(text.unicodeScalars.count), y))
        open = nil
    }

    static func read(_ svg: String) -> LabelReader? {
        let parser = XMLParser(data: Data(svg.utf8)), reader = LabelReader()
        parser.delegate = reader
        return parser.parse() ? reader : nil
    }
}

@Suite struct PictureTests {
    /// Labels inside the frame, at most `limit`, no `�`, no two overlapping.
    func expectReadable(_ svg: String, limit: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let reader = try #require(LabelReader.read(svg), "not well-formed XML", sourceLocation: sourceLocation)
        let frame = try #require(reader.frame, "no frame", sourceLocation: sourceLocation)
        #expect(!reader.labels.isEmpty && reader.labels.count <= limit, "\(reader.labels.count) labels", sourceLocation: sourceLocation)
        for label in reader.labels {
            #expect(label.left >= frame.left && label.right <= frame.right && label.top >= frame.top
                    && label.bottom <= frame.bottom, "\(label.text.debugDescription) leaves the frame", sourceLocation: sourceLocation)
            #expect(!label.text.contains("\u{FFFD}"), sourceLocation: sourceLocation)
        }
        for (i, a) in reader.labels.enumerated() {
            for b in reader.labels[(i + 1)...] where a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom {
                Issue.record("labels \(a.text.debugDescription) and \(b.text.debugDescription) overlap", sourceLocation: sourceLocation)
            }
        }
    }

    static func randomTable(_ rows: Int, _ columns: Int) -> Tensor {
        var generator = SeededGenerator(seed: 5)
        return Tensor.normal([rows, columns], generator: &generator)
    }

    @Test func wordMapOfTheWholeCorpusNamesTheMostFrequentHundred() throws {
        let text = try readCorpus(at: try bundledCorpusPath())
        let words = WordTokenizer(training: text), tokenizer = Tokenizer.word(words)
        #expect(words.vocabularySize > 10_000)
        let counts = EmbeddingAnalysis.counts(of: try tokenizer.encode(text), vocabularySize: words.vocabularySize)
        let map = EmbeddingAnalysis(table: Self.randomTable(words.vocabularySize, 8)).map(tokenizer: tokenizer, counts: counts)
        let svg = map.svg()
        try expectReadable(svg, limit: 100)
        #expect(ElementCounter.parse(svg)?["circle"] == words.vocabularySize)
        // The ten most frequent words, counted here without the tokenizer's help, are all named.
        let named = Set(try #require(LabelReader.read(svg)).labels.map(\.text))
        var frequency: [String: Int] = [:]
        for word in WordTokenizer.split(text) { frequency[word, default: 0] += 1 }
        for (word, _) in frequency.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }).prefix(10) {
            #expect(named.contains(visibleLabel(word)), "\(word.debugDescription) is not named")
        }
    }

    @Test func bytePairMapSkipsUnusedByteTokensAndNamesNoReplacementCharacter() throws {
        let text = String(repeating: "the café serves naïve crème brûlée — twice. ", count: 40)
        let bpe = try BytePairTokenizer(training: text, vocabularySize: 300), tokenizer = Tokenizer.bytePair(bpe)
        let size = bpe.vocabularySize  // fewer than 300 when the text runs out of pairs to merge
        let used = Set(bpe.encode(text)), counts = EmbeddingAnalysis.counts(of: bpe.encode(text), vocabularySize: size)
        // A row past the vocabulary (padding) is never shown either.
        let analysis = EmbeddingAnalysis(table: Self.randomTable(size + 4, 6))
        for (map, shown) in [(analysis.map(tokenizer: tokenizer, counts: counts, maximumLabels: 20),
                              (0..<size).filter { $0 >= 256 || used.contains($0) }.count),
                             (analysis.map(tokenizer: tokenizer, maximumLabels: 20),
                              (0..<size).filter { $0 >= 256 || $0 < 128 }.count)] {
            let svg = map.svg()
            try expectReadable(svg, limit: 20)
            #expect(ElementCounter.parse(svg)?["circle"] == shown)
        }
        // A byte that is half of "é" (0xC3), when it occurs on its own, is named by its byte, never `�`.
        var halfOnly = [Int](repeating: 0, count: size)
        halfOnly[0xC3] = 1
        let labels = try #require(LabelReader.read(analysis.map(tokenizer: tokenizer, counts: halfOnly).svg())).labels
        #expect(labels.map(\.text) == ["\\xC3"])
    }

    @Test func labelsStayInsideTheFrameWhenPointsCrowdItsEdges() throws {
        let points = (0..<200).map { i in (x: Double(i % 2), y: Double(i % 3) / 2, label: "token\(i)") }
        try expectReadable(ScatterPlot(title: "t", xLabel: "x", yLabel: "y", points: points, maximumLabels: 50).svg(), limit: 50)
    }

    @Test func trainingLogWritesJSONLinesAndAWellFormedLossChart() throws {
        let directory = temporaryDirectory("log")
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
