import Foundation
import LanguageModels

/// Compact JSON text of the server's answers, keys sorted, written straight into a string: the objects that
/// `JSONSerialization` takes (`[String: Any]`, `[Any]`, `String`, `Bool`, integers, `Float`, `Double`, `NSNull`),
/// at a fraction of its cost (a streamed answer writes one chunk per token; through `JSONSerialization` that was a
/// tenth of a busy server's time). Numbers print as Swift prints them (the shortest text that reads back the same).
enum JSONText {
    /// The text of `object`, or nil when it holds what JSON cannot (a NaN, an infinity, a value of another type).
    static func encode(_ object: Any) -> String? {
        var text = ""
        text.reserveCapacity(256)
        return write(object, into: &text) ? text : nil
    }

    /// `encode(object)`, or `{}` for an object JSON cannot hold (answers built here never hold one).
    static func encodeOrEmpty(_ object: Any) -> String { encode(object) ?? "{}" }

    private static func write(_ value: Any, into text: inout String) -> Bool {
        switch value {
        case let string as String:
            appendJSONString(string, to: &text)
        case let flag as Bool:
            text += flag ? "true" : "false"
        case let number as Int:
            text += String(number)
        case let number as UInt64:
            text += String(number)
        case let number as Int64:
            text += String(number)
        case let number as Int32:
            text += String(number)
        case let number as Double:
            guard number.isFinite else { return false }
            text += number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case let number as Float:
            guard number.isFinite else { return false }
            text += String(number)
        case is NSNull:
            text += "null"
        case let object as [String: Any]:
            text += "{"
            for (i, key) in object.keys.sorted().enumerated() {
                if i > 0 { text += "," }
                appendJSONString(key, to: &text)
                text += ":"
                guard write(object[key]!, into: &text) else { return false }
            }
            text += "}"
        case let array as [Any]:
            text += "["
            for (i, item) in array.enumerated() {
                if i > 0 { text += "," }
                guard write(item, into: &text) else { return false }
            }
            text += "]"
        default:
            return false
        }
        return true
    }
}
