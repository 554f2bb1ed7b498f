import Foundation
import LanguageModels
import TensorModule
import Testing
import _TestSupport

@Suite struct InspectionTests {
    @Test func seedExamplePutsDogsAndCatsFirstAfterILove() throws {
        let example = SeedExample()
        let before = example.outputVectors()
        let loss = try example.train()
        let ranked = try example.nextWordProbabilities(after: "I love")
        #expect(example.vocabulary == ["and", "are", "cats", "dogs", "i", "love", "pets"])
        #expect(Set(ranked.prefix(2).map(\.word)) == ["dogs", "cats"])
        #expect(ranked[0].probability > 0.4 && ranked[1].probability > 0.4)
        #expect(loss < 0.6)
        // dogs and cats both follow "love": their output vectors end as each other's nearest, which they were not.
        let nearest = Dictionary(uniqueKeysWithValues: example.nearestWords().map { ($0.word, $0.nearest) })
        #expect(nearest["dogs"] == "cats" && nearest["cats"] == "dogs")
        #expect(example.nearestWords(in: before).first { $0.word == "cats" }?.nearest != "dogs")
        // Both pictures on one scale.
        let after = example.outputVectors()
        let plots = [before, after].map { example.plot($0, title: "t", scale: before + after) }
        #expect(plots[0].xRange == plots[1].xRange && plots[0].yRange == plots[1].yRange)
        for plot in plots {
            for vector in before + after { #expect(plot.xRange!.contains(vector.x) && plot.yRange!.contains(vector.y)) }
        }
        #expect(ElementCounter.parse(plots[1].svg())?["circle"] == 7)
    }

    @Test func wordTokenizerSplitsAsDocumentedAndRoundTrips() throws {
        #expect(WordTokenizer.split("I love dogs,  and\ncats!") == ["I", " love", " dogs", ",", "  and", "\n", "cats", "!"])
        let text = "Dogs and cats are pets.\r\nCafé 42 — naïve  \n"
        let tokenizer = WordTokenizer(training: text)
        #expect(tokenizer.decode(try tokenizer.encode(text)) == text)
        #expect(throws: GPTError.self) { try tokenizer.encode("unseen words") }
    }

    @Test func principalComponentsRecoverAPlane() {
        // Points on a plane spanned by two orthogonal directions in 3-D: the projection keeps their distances.
        let rows: [[Float]] = [[0, 0, 0], [2, 0, 2], [0, 1, 0], [2, 1, 2], [1, 0.5, 1]]
        let analysis = EmbeddingAnalysis(table: Tensor(shape: [5, 3], values: rows.flatMap { $0 }))
        let projected = analysis.principalComponents()
        func distance(_ a: (x: Double, y: Double), _ b: (x: Double, y: Double)) -> Double {
            ((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot()
        }
        for i in 0..<5 {
            for j in 0..<5 {
                let original = zip(rows[i], rows[j]).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +).squareRoot()
                #expect(abs(distance(projected[i], projected[j]) - original) < 1e-6)
            }
        }
    }

    @Test func analogyAndNeighboursUseCosine() {
        // king - man + woman = queen in a hand-made table.
        // king (3, 1), man (1, 1), woman (1, 3), queen (3, 3): king - man + woman = queen.
        let table = Tensor(shape: [4, 2], values: [3, 1, 1, 1, 1, 3, 3, 3])
        let analysis = EmbeddingAnalysis(table: table)
        let (king, man, woman, queen) = (0, 1, 2, 3)
        #expect(analysis.analogy(king, minus: man, plus: woman, count: 1).first?.token == queen)
        #expect(abs(EmbeddingAnalysis.cosineSimilarity([1, 0], [0, 2])) < 1e-12)
        #expect(analysis.neighbours(of: man, count: 1).first?.token == queen)
    }

    @Test func attentionMapsAreCausalDistributionsAndPicturesParse() throws {
        let model = SamplingTests.tinyGPT()
        let (maps, probabilities) = model.attentionMaps([1, 2, 3, 4, 5])
        #expect(maps.count == 2 && maps[0].count == 2)
        for layer in maps {
            for map in layer {
                for i in 0..<5 {
                    #expect(abs(map[(i * 5)..<(i * 5 + 5)].reduce(0, +) - 1) < 1e-5)
                    for j in (i + 1)..<5 { #expect(map[i * 5 + j] == 0) }
                }
            }
        }
        #expect(abs(probabilities.reduce(0, +) - 1) < 1e-5)
        let svg = AttentionHeatmaps(tokens: ["a", "b", "<", "&", "\n"], weights: maps).svg()
        #expect(ElementCounter.parse(svg)?["title"] == 4 * 25)
        #expect(ElementCounter.parse(ProbabilityBars(title: "next", bars: [("a", 0.7), ("\n", 0.3)]).svg()) != nil)
    }

    @Test func scatterLabelsOfAFullVocabularyDoNotOverlap() throws {
        // 65 tokens squeezed into a small area: every label box must end up clear of the others.
        let tokenizer = CharacterTokenizer(training: try readCorpus(at: try bundledCorpusPath()))
        var points: [(x: Double, y: Double, label: String)] = []
        for i in 0..<65 {
            let x = Double(i % 3) * 0.01, y = Double(i % 5) * 0.01
            points.append((x: x, y: y, label: String(tokenizer.vocabulary[i])))
        }
        let svg = ScatterPlot(title: "t", xLabel: "x", yLabel: "y", points: points).svg()
        try PictureTests().expectReadable(svg, limit: 65)
        #expect(LabelReader.read(svg)?.labels.count == 65)
    }
}
