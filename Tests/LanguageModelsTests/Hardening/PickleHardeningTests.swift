import Foundation
@testable import LanguageModels
import Testing

/// The restricted pickle reader of `ckpt.pt` and `meta.pkl`: linear in the pickle's size, and faithful to
/// Python's references (a list or dict is one object, however many places hold it).
@Suite struct PickleHardeningTests {
    /// The time `body` takes, in seconds: the fastest of up to three runs, stopping at the first under a second
    /// (the machine may be busy with other work).
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        var fastest = Double.infinity
        for _ in 0..<3 where fastest >= 1 {
            let start = ContinuousClock.now
            try body()
            let elapsed = ContinuousClock.now - start
            fastest = min(fastest, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        return fastest
    }

    @Test func twoHundredThousandAppendsReadInLinearTime() throws {
        // pickle.dumps of a list built one APPEND at a time (Python writes APPENDS; a hostile file need not).
        let count = 200_000
        var bytes: [UInt8] = [0x80, 0x02, 0x5D]  // PROTO 2, EMPTY_LIST
        for i in 0..<count { bytes += [0x4B, UInt8(i % 256), 0x61] }  // BININT1, APPEND
        bytes.append(0x2E)
        var value: PickleValue = .none
        let time = try Self.seconds { value = try RestrictedPickle.read(Data(bytes), source: "appends.pkl") }
        guard case .list(let items) = value else { Issue.record("not a list"); return }
        #expect(items.count == count && items[257].int == 1)
        #expect(time < 10, "\(time) s")  // quadratic copying took 74-196 s; 10 s leaves room for a loaded machine
    }

    @Test func twoHundredThousandSetItemsReadInLinearTime() throws {
        // A meta.pkl whose itos is built one SETITEM at a time: {"itos": {0: "a", 1: "a", ...}}.
        let count = 200_000
        var bytes: [UInt8] = [0x80, 0x02, 0x7D, 0x58, 4, 0, 0, 0] + Array("itos".utf8) + [0x7D]
        for i in 0..<count {
            bytes.append(0x4A)  // BININT
            withUnsafeBytes(of: Int32(i).littleEndian) { bytes += $0 }
            bytes += [0x8C, 1, 0x61, 0x73]  // SHORT_BINUNICODE "a", SETITEM
        }
        bytes += [0x73, 0x2E]  // SETITEM (root["itos"] = the dict), STOP
        var value: PickleValue = .none
        let time = try Self.seconds { value = try RestrictedPickle.read(Data(bytes), source: "meta.pkl") }
        guard case .dict(let items)? = value["itos"] else { Issue.record("no itos"); return }
        #expect(items.count == count && items.last?.key.int == count - 1)
        #expect(time < 10, "\(time) s")  // quadratic copying took 74-196 s; 10 s leaves room for a loaded machine
        // As a meta.pkl: a clear error (every id maps to "a"), in linear time too.
        #expect(throws: GPTError.self) { try characterTokenizer(fromMetaPickle: Data(bytes), source: "meta.pkl") }
    }

    @Test func aListHeldTwiceIsOneList() throws {
        // pickle.dumps(d, protocol=2) after a = []; d = {"x": a, "y": a}; a.append(1) (Python 3): the list is
        // memoized empty, filled, then fetched from the memo for "y".
        let bytes: [UInt8] = [128, 2, 125, 113, 0, 40, 88, 1, 0, 0, 0, 120, 113, 1, 93, 113, 2, 75, 1, 97,
                              88, 1, 0, 0, 0, 121, 113, 3, 104, 2, 117, 46]
        let value = try RestrictedPickle.read(Data(bytes), source: "shared.pkl")
        guard case .list(let x)? = value["x"], case .list(let y)? = value["y"] else { Issue.record("no lists"); return }
        #expect(x.map(\.int) == [1] && y.map(\.int) == [1])
    }

    @Test func aListThatHoldsItselfIsAnError() {
        // a = []; a.append(a); pickle.dumps(a, protocol=2)
        let bytes: [UInt8] = [128, 2, 93, 113, 0, 104, 0, 97, 46]
        #expect {
            try RestrictedPickle.read(Data(bytes), source: "cycle.pkl")
        } throws: { error in
            "\(error)".contains("holds itself")
        }
    }

    @Test func aRepeatedKeyKeepsItsLastValueAsPythonDoes() throws {
        // {"a": 1} then d["a"] = 2 through a second SETITEM.
        let key: [UInt8] = [0x8C, 1, 0x61]
        let bytes: [UInt8] = [0x80, 0x02, 0x7D] + key + [0x4B, 1, 0x73] + key + [0x4B, 2, 0x73, 0x2E]
        let value = try RestrictedPickle.read(Data(bytes), source: "repeat.pkl")
        guard case .dict(let items) = value else { Issue.record("not a dict"); return }
        #expect(items.count == 1 && value["a"]?.int == 2)
    }

    @Test func aLengthNearIntMaxIsTruncationNotATrap() {
        // BINUNICODE8 and a length of 2^63 - 1.
        let bytes: [UInt8] = [0x80, 0x04, 0x8D, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x2E]
        #expect(throws: GPTError.self) { try RestrictedPickle.read(Data(bytes), source: "long.pkl") }
    }
}
