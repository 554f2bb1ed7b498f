import Foundation
import LanguageModels
import Testing

/// A `tokenizer.json` this package would not apply as `tokenizers` does is refused naming the field and what it is.
@Suite struct TokenizerFamilyRefusalTests {
    typealias Edit = @Sendable (inout [String: Any]) -> Void

    static func refusal(_ name: String, _ edit: Edit) -> String? {
        let url = TokenizerFamilyTests.fixtures.appendingPathComponent("\(name).json")
        var file = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&file)
        do {
            _ = try Tokenizer(huggingFaceJSON: JSONSerialization.data(withJSONObject: file), source: "bad.json")
            return nil
        } catch GPTError.invalidCheckpoint(_, let reason) {
            return reason
        } catch {
            return "\(error)"
        }
    }

    static func model(_ edit: @escaping @Sendable (inout [String: Any]) -> Void) -> Edit {
        { file in
            var model = file["model"] as! [String: Any]
            edit(&model)
            file["model"] = model
        }
    }

    static func firstAdded(_ key: String, _ value: Any & Sendable) -> Edit {
        { file in
            var added = file["added_tokens"] as! [[String: Any]]
            added[0][key] = value
            file["added_tokens"] = added
        }
    }

    static let cases: [(String, Edit, String)] = [
        ("llama3", model { $0["type"] = "Unigram" }, #"field model.type is "Unigram"; this package reads BPE and WordLevel"#),
        ("llama3", model { $0["ignore_merges"] = "yes" }, #"field model.ignore_merges must be true or false, not the string "yes""#),
        ("llama3", model { $0["merges"] = ["zzz qqq"] }, "field model.merges[0] uses a token missing from the vocabulary"),
        ("llama3", model { $0["dropout"] = 0.1 }, "field model.dropout is set"),
        ("llama2", model { $0["unk_token"] = "<nope>" }, "field model.unk_token names a token outside the vocabulary"),
        ("llama3", { $0["pre_tokenizer"] = ["type": "Whitespace"] }, #"field pre_tokenizer.type is "Whitespace", a pre-tokenizer this package does not apply"#),
        ("llama3", { $0["pre_tokenizer"] = ["type": "Split", "pattern": ["Regex": "(unclosed"], "behavior": "Isolated"] },
         "field pre_tokenizer.pattern.Regex is not a regular expression this package compiles"),
        ("llama3", { $0["pre_tokenizer"] = ["type": "Split", "pattern": ["String": " "], "behavior": "Sideways"] },
         #"field pre_tokenizer.behavior is "Sideways", not one of Removed, Isolated"#),
        ("llama3", { $0["decoder"] = ["type": "WordPiece"] }, #"field decoder.type is "WordPiece", a decoder this package does not apply"#),
        ("llama3", { $0["post_processor"] = ["type": "Foo"] }, #"field post_processor.type is "Foo", a post-processor"#),
        ("llama2", { $0["normalizer"] = ["type": "Replace", "pattern": ["Regex": " +"], "content": "▁"] },
         "field normalizer.pattern is a Regex; this package replaces String patterns only"),
        ("llama3", firstAdded("id", 5), "field added_tokens[0].id is 5, which the vocabulary gives to another token"),
        ("llama3", firstAdded("id", 1 << 40), "field added_tokens[0].id is 1099511627776, outside"),
        ("llama3", firstAdded("special", "yes"), #"field added_tokens[0].special must be true or false"#),
    ]

    @Test(arguments: cases.indices)
    func badFilesAreRefusedNamingTheField(index: Int) {
        let (name, edit, message) = Self.cases[index]
        let reason = Self.refusal(name, edit)
        #expect(reason?.contains(message) == true, "\(reason ?? "accepted") does not say \(message)")
    }
}
