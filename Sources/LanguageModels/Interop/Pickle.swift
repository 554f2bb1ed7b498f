import Foundation

/// A value of a restricted pickle: what nanoGPT's `ckpt.pt` and `meta.pkl` hold (dicts, lists, tuples, numbers,
/// strings, tensors). The reader runs no code: it knows a short list of opcodes and four globals, and refuses
/// anything else.
public indirect enum PickleValue: Sendable {
    case none, bool(Bool), int(Int), float(Double), string(String), bytes([UInt8])
    case list([PickleValue]), tuple([PickleValue]), dict([(key: PickleValue, value: PickleValue)])
    /// A global the reader allows (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`, a storage type).
    case global(String)
    /// A tensor storage: its dtype's storage type, the key of its bytes in the archive, its element count.
    case storage(type: String, key: String, count: Int)
    /// A tensor: its storage, element offset, shape and strides.
    case tensor(storage: String, type: String, offset: Int, shape: [Int], strides: [Int])

    public subscript(key: String) -> PickleValue? {
        guard case .dict(let items) = self else { return nil }
        return items.first { if case .string(key) = $0.key { true } else { false } }?.value
    }

    public var int: Int? { if case .int(let v) = self { v } else if case .bool(let b) = self { b ? 1 : 0 } else { nil } }
    public var string: String? { if case .string(let v) = self { v } else { nil } }
}

/// Reads a pickle (protocols 2 to 5) without running anything in it.
public enum RestrictedPickle {
    /// The globals a state dict needs; any other is refused (a pickle that would run code names others).
    static let allowedGlobals: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage", "torch.HalfStorage",
        "torch.BFloat16Storage", "torch.DoubleStorage", "torch.LongStorage", "torch.IntStorage",
        "torch.BoolStorage", "torch.ByteStorage",
    ]
    /// Limits against absurd input: the stack, memo entries, and how deeply containers nest (a state dict nests
    /// about five deep; a value nested a hundred thousand deep would overflow the thread's stack when freed).
    static let maximumStack = 100_000, maximumMemo = 1_000_000, maximumDepth = 64

    public static func read(_ data: Data, source: String) throws -> PickleValue {
        func fail(_ reason: String) -> GPTError { .invalidCheckpoint(path: source, reason: "pickle: \(reason)") }
        let bytes = [UInt8](data)
        var position = 0
        // Each value with its nesting depth (a scalar 0, a container one more than its deepest element).
        var stack: [(value: PickleValue, depth: Int)] = [], marks: [Int] = [], memo: [Int: (value: PickleValue, depth: Int)] = [:]
        func take(_ n: Int) throws -> ArraySlice<UInt8> {
            guard n >= 0, position + n <= bytes.count else { throw fail("truncated at byte \(position)") }
            defer { position += n }
            return bytes[position..<(position + n)]
        }
        func integer(_ n: Int) throws -> Int {
            try take(n).reversed().reduce(0) { $0 << 8 | Int($1) }
        }
        func popEntry() throws -> (value: PickleValue, depth: Int) {
            guard let entry = stack.popLast() else { throw fail("stack underflow at byte \(position)") }
            return entry
        }
        func pop() throws -> PickleValue { try popEntry().value }
        var depthOfLastPopped = 0
        func popMark() throws -> [PickleValue] {
            guard let mark = marks.popLast(), mark <= stack.count else { throw fail("no mark at byte \(position)") }
            defer { stack.removeSubrange(mark...) }
            depthOfLastPopped = stack[mark...].map(\.depth).max() ?? 0
            return stack[mark...].map(\.value)
        }
        /// Pushes a value `depth` deep (0: a scalar).
        func push(_ value: PickleValue, depth: Int = 0) throws {
            guard stack.count < maximumStack else { throw fail("too many values on the stack") }
            guard depth <= maximumDepth else { throw fail("containers nested more than \(maximumDepth) deep") }
            stack.append((value, depth))
        }
        func text(_ count: Int) throws -> PickleValue {
            guard count <= bytes.count - position else { throw fail("a string runs past the end") }
            return .string(String(decoding: try take(count), as: UTF8.self))
        }
        func remember(_ index: Int) throws {
            guard memo.count < maximumMemo || memo[index] != nil else { throw fail("too many memo entries") }
            memo[index] = stack.last ?? (.none, 0)
        }
        func setItems(_ items: [PickleValue], depth: Int) throws {
            let target = try popEntry()
            guard items.count % 2 == 0, case .dict(var entries) = target.value else { throw fail("SETITEMS on a non-dict") }
            for i in stride(from: 0, to: items.count, by: 2) { entries.append((items[i], items[i + 1])) }
            try push(.dict(entries), depth: max(target.depth, depth + 1))
        }
        func appendItems(_ items: [PickleValue], depth: Int) throws {
            let target = try popEntry()
            guard case .list(let list) = target.value else { throw fail("APPENDS on a non-list") }
            try push(.list(list + items), depth: max(target.depth, depth + 1))
        }
        func container(_ make: ([PickleValue]) -> PickleValue, _ entries: [(value: PickleValue, depth: Int)]) throws {
            try push(make(entries.map(\.value)), depth: 1 + (entries.map(\.depth).max() ?? 0))
        }
        func global(_ module: String, _ name: String) throws -> PickleValue {
            let full = "\(module).\(name)"
            guard allowedGlobals.contains(full) else {
                throw fail("refusing the global \(full.prefix(100)): this reader loads tensors and plain values only, never code")
            }
            return .global(full)
        }
        func reduce(_ callable: PickleValue, _ arguments: PickleValue) throws -> PickleValue {
            guard case .global(let name) = callable, case .tuple(let args) = arguments else { throw fail("REDUCE of a non-global") }
            switch name {
            case "collections.OrderedDict": return .dict([])
            case "torch._utils._rebuild_tensor_v2":
                guard args.count >= 4, case .storage(let type, let key, _) = args[0], let offset = args[1].int,
                      case .tuple(let size) = args[2], case .tuple(let stride) = args[3] else {
                    throw fail("a tensor without storage, offset, size and stride")
                }
                let shape = size.compactMap(\.int), strides = stride.compactMap(\.int)
                guard shape.count == size.count, strides.count == stride.count, shape.count == strides.count,
                      shape.allSatisfy({ (0...(1 << 40)).contains($0) }), offset >= 0 else { throw fail("a tensor of bad shape") }
                return .tensor(storage: key, type: type, offset: offset, shape: shape, strides: strides)
            default: throw fail("refusing to call \(name)")
            }
        }
        while true {
            let opcode = try integer(1)
            switch opcode {
            case 0x80: _ = try take(1)  // PROTO
            case 0x95: _ = try take(8)  // FRAME
            case 0x2E: return try pop()  // STOP
            case 0x28: marks.append(stack.count)  // MARK
            case 0x7D: try push(.dict([]), depth: 1)  // EMPTY_DICT
            case 0x5D: try push(.list([]), depth: 1)  // EMPTY_LIST
            case 0x29: try push(.tuple([]), depth: 1)  // EMPTY_TUPLE
            case 0x4E: try push(.none)  // NONE
            case 0x88: try push(.bool(true))  // NEWTRUE
            case 0x89: try push(.bool(false))  // NEWFALSE
            case 0x4B: try push(.int(try integer(1)))  // BININT1
            case 0x4D: try push(.int(try integer(2)))  // BININT2
            case 0x4A: try push(.int(Int(Int32(truncatingIfNeeded: try integer(4)))))  // BININT
            case 0x8A:  // LONG1
                let n = try integer(1)
                guard n <= 8 else { throw fail("an integer of \(n) bytes") }
                let raw = try take(n)
                var value = raw.reversed().reduce(0) { $0 << 8 | Int($1) }
                if n > 0, n < 8, raw.last! & 0x80 != 0 { value -= 1 << (8 * n) }
                try push(.int(value))
            case 0x47:  // BINFLOAT, big-endian
                try push(.float(Double(bitPattern: UInt64(truncatingIfNeeded: try take(8).reduce(0) { $0 << 8 | Int($1) }))))
            case 0x58: try push(try text(try integer(4)))  // BINUNICODE
            case 0x8C: try push(try text(try integer(1)))  // SHORT_BINUNICODE
            case 0x8D: try push(try text(try integer(8)))  // BINUNICODE8
            case 0x43: try push(.bytes(Array(try take(try integer(1)))))  // SHORT_BINBYTES
            case 0x42: try push(.bytes(Array(try take(try integer(4)))))  // BINBYTES
            case 0x71: try remember(try integer(1))  // BINPUT
            case 0x72: try remember(try integer(4))  // LONG_BINPUT
            case 0x94: try remember(memo.count)  // MEMOIZE
            case 0x68, 0x6A:  // BINGET, LONG_BINGET
                let index = try integer(opcode == 0x68 ? 1 : 4)
                guard let entry = memo[index] else { throw fail("memo \(index) is empty") }
                try push(entry.value, depth: entry.depth)
            case 0x74:  // TUPLE
                let items = try popMark()
                try push(.tuple(items), depth: depthOfLastPopped + 1)
            case 0x85: try container(PickleValue.tuple, [try popEntry()])  // TUPLE1
            case 0x86: let b = try popEntry(), a = try popEntry(); try container(PickleValue.tuple, [a, b])  // TUPLE2
            case 0x87:  // TUPLE3
                let c = try popEntry(), b = try popEntry(), a = try popEntry()
                try container(PickleValue.tuple, [a, b, c])
            case 0x6C:  // LIST
                let items = try popMark()
                try push(.list(items), depth: depthOfLastPopped + 1)
            case 0x73:  // SETITEM
                let value = try popEntry(), key = try popEntry()
                try setItems([key.value, value.value], depth: max(key.depth, value.depth))
            case 0x75:  // SETITEMS
                let items = try popMark()
                try setItems(items, depth: depthOfLastPopped)
            case 0x61: let item = try popEntry(); try appendItems([item.value], depth: item.depth)  // APPEND
            case 0x65:  // APPENDS
                let items = try popMark()
                try appendItems(items, depth: depthOfLastPopped)
            case 0x63:  // GLOBAL "module\nname\n"
                func line() throws -> String {
                    guard let end = bytes[position...].firstIndex(of: 0x0A), end - position < 256 else { throw fail("a bad GLOBAL") }
                    defer { position = end + 1 }
                    return String(decoding: bytes[position..<end], as: UTF8.self)
                }
                let module = try line(), name = try line()
                try push(try global(module, name))
            case 0x93:  // STACK_GLOBAL
                guard case .string(let name) = try pop(), case .string(let module) = try pop() else { throw fail("a bad STACK_GLOBAL") }
                try push(try global(module, name))
            case 0x52:  // REDUCE
                let arguments = try popEntry(), callable = try pop()
                try push(try reduce(callable, arguments.value), depth: arguments.depth)
            case 0x62: _ = try pop()  // BUILD: a state dict's `_metadata`, not needed
            case 0x51:  // BINPERSID: ('storage', type, key, location, count)
                guard case .tuple(let id) = try pop(), id.count >= 5, case .global(let type) = id[1],
                      let key = id[2].string, let count = id[4].int, count >= 0 else { throw fail("a bad persistent id") }
                try push(.storage(type: type, key: key, count: count))
            default:
                throw fail("opcode 0x\(String(opcode, radix: 16)) at byte \(position - 1) is not one a state dict needs")
            }
        }
    }
}
