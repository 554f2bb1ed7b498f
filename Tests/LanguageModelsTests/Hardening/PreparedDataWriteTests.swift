import Foundation
@testable import LanguageModels
import Testing
import _TestSupport

/// `gpt prepare` over an existing folder, killed before each of its file-system steps: the folder is the old set or
/// the new one, each whole (after the next start's ``PreparedData/recover(_:)``), and the user's own files in it stay.
@Suite struct PreparedDataWriteTests {
    static let oldText = String(repeating: "To be, or not to be: that is the question.\n", count: 30)
    static let newText = String(repeating: "Now is the winter of our discontent, made glorious summer.\n", count: 40)

    static func write(_ text: String, to folder: URL, stoppingBefore stop: Int? = nil) throws -> (finished: Bool, steps: Int) {
        var steps = SaveSequence(stoppingBefore: stop)
        do {
            _ = try PreparedData.write(text: text, tokenizer: .character(CharacterTokenizer(training: text)), to: folder, steps: &steps)
            return (true, steps.count)
        } catch is SaveInterrupted {
            return (false, steps.count)
        }
    }

    /// Which text the folder's four files were prepared from (nil: a mix, or not loadable).
    static func preparedText(_ folder: URL) -> String? {
        guard let (dataset, tokenizer) = try? PreparedData.load(folder.path) else { return nil }
        let text = tokenizer.decode(Array(dataset.trainTokens) + Array(dataset.validationTokens))
        return [oldText, newText].contains(text) ? text : nil
    }

    @Test func aPrepareKilledBeforeAnyStepLeavesAWholeFolder() throws {
        let parent = temporaryDirectory("prepare")
        defer { try? FileManager.default.removeItem(at: parent) }
        let folder = parent.appendingPathComponent("data")
        let count = try Self.write(Self.newText, to: folder).steps  // a first write: into a new folder
        #expect(Self.preparedText(folder) == Self.newText)
        try Data("the user's".utf8).write(to: folder.appendingPathComponent("input.txt"))
        let total = try Self.write(Self.newText, to: folder).steps  // over an existing folder: more steps
        #expect(total > count)
        for stop in 0...total {
            _ = try Self.write(Self.oldText, to: folder)
            #expect(Self.preparedText(folder) == Self.oldText)
            let (finished, _) = try Self.write(Self.newText, to: folder, stoppingBefore: stop)
            #expect(finished == (stop == total), "stop \(stop)")
            // Right after the kill the folder is whole (or, between the two renames, away while both sets wait).
            if FileManager.default.fileExists(atPath: folder.path) {
                #expect(Self.preparedText(folder) != nil, "stop \(stop): a mixed folder")
            }
            PreparedData.recover(folder)
            let text = Self.preparedText(folder)
            #expect(text != nil, "stop \(stop): no whole folder after recovery")
            if finished { #expect(text == Self.newText) }
            #expect(try Data(contentsOf: folder.appendingPathComponent("input.txt")) == Data("the user's".utf8), "stop \(stop)")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: parent.path).filter { $0 != "data" }
            #expect(leftovers.isEmpty, "stop \(stop): \(leftovers)")
            let inside = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
            #expect(inside == ["input.txt", "meta.json", "meta.pkl", "train.bin", "val.bin"], "stop \(stop)")
        }
    }

    @Test func aFileInTheWayIsAnError() throws {
        let parent = temporaryDirectory("prepare")
        defer { try? FileManager.default.removeItem(at: parent) }
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        let file = parent.appendingPathComponent("data")
        try Data("keep me".utf8).write(to: file)
        #expect(throws: GPTError.self) { try Self.write(Self.newText, to: file) }
        #expect(try Data(contentsOf: file) == Data("keep me".utf8))
    }

    /// The folder is replaced as a whole, so the current folder (`gpt prepare --out .`) or one holding it is refused
    /// before anything is written, rather than renamed from under the user's shell.
    @Test func theCurrentFolderAndItsParentsAreRefused() throws {
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for folder in [here, URL(fileURLWithPath: "."), here.deletingLastPathComponent()] {
            #expect(throws: GPTError.self) { try Self.write(Self.newText, to: folder) }
        }
        #expect(FileManager.default.fileExists(atPath: here.path))
    }
}
