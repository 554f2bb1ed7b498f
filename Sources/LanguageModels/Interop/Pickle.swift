import Foundation

/// A value of a restricted pickle: what nanoGPT's `ckpt.pt` and `meta.pkl` hold (dicts, lists, tuples, numbers,
/// strings, tensors). The reader runs no code: it knows a short list of opcodes and four globals, and refuses
/// anything else. (Only the tensor cases are boxed: a scalar on the reader's stack is no allocation.)
public enum PickleValue: Sendable {
    case none, bool(Bool), int(Int), float(Double), string(String), bytes([UInt8])
    case list([PickleValue]), tuple([PickleValue]), dict([(key: PickleValue, value: PickleValue)])
    /// A global the reader allows (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`, a storage type).
    case global(String)
    /// A tensor storage: its dtype's storage type, the key of its bytes in the archive, its element count.
    indirect case storage(type: String, key: String, count: Int)
    /// A tensor: its storage (key, type and the element count its record gives), element offset, shape and strides,
    /// as the file gives them (``TorchCheckpoint`` checks them against the storage's bytes).
    indirect case tensor(storage: String, type: String, storageCount: Int, offset: Int, shape: [Int], strides: [Int])

    public subscript(key: String) -> PickleValue? {
        guard case .dict(let items) = self else { return nil }
        return items.first { if case .string(key) = $0.key { true } else { false } }?.value
    }

    public var int: Int? { if case .int(let v) = self { v } else if case .bool(let b) = self { b ? 1 : 0 } else { nil } }
    public var string: String? { if case .string(let v) = self { v } else { nil } }
}

/// Reads a pickle (protocols 2 to 5) without running anything in it.
///
/// Lists, dicts and tuples are references while the pickle is read, as in Python: APPEND and SETITEM add to the
/// container in place (constant time, so the reader is linear in the pickle's size), and the memo, the stack and
/// other containers see the change. The finished value is built once at STOP, each container once however often
/// it is referenced.
public enum RestrictedPickle {
    /// The globals a state dict needs; any other is refused (a pickle that would run code names others).
    static let allowedGlobals: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage", "torch.HalfStorage",
        "torch.BFloat16Storage", "torch.DoubleStorage", "torch.LongStorage", "torch.IntStorage",
        "torch.BoolStorage", "torch.ByteStorage",
    ]
    /// Limits against absurd input: the stack, memo entries, and how deeply containers nest (a state dict nests
    /// about five deep; a container that holds itself nests without end).
    static let maximumStack = 100_000, maximumMemo = 1_000_000, maximumDepth = 64

    public static func read(_ data: Data, source: String) throws -> PickleValue {
        var reader = PickleReader(bytes: [UInt8](data), source: source)
        defer { reader.releaseContainers() }
        return try reader.run()
    }
}

/// A list, tuple or dict while a pickle is read: a reference, as Python's objects are.
final class PickleContainer {
    enum Kind { case list, tuple, dict }

    let kind: Kind
    /// A list's or tuple's elements; a dict's keys and values in turn.
    var items: [PickleNode] = []
    /// The position in ``items`` of each dict key that Python would hash (an int, a bool, a string): an equal key
    /// replaces the entry's value, as `d[k] = v` does.
    var intKeys: [Int: Int] = [:], stringKeys: [String: Int] = [:]

    init(_ kind: Kind, items: [PickleNode] = []) {
        self.kind = kind
        self.items = items
    }

    /// Where a dict already holds `key` (nil: a new key, recorded as the next entry).
    func position(of key: PickleNode) -> Int? {
        let next = items.count
        switch key {
        case .value(.int(let n)):
            if let earlier = intKeys[n] { return earlier }
            intKeys[n] = next
        case .value(.bool(let b)):  // True == 1 in Python
            if let earlier = intKeys[b ? 1 : 0] { return earlier }
            intKeys[b ? 1 : 0] = next
        case .value(.string(let s)):
            if let earlier = stringKeys[s] { return earlier }
            stringKeys[s] = next
        default: break
        }
        return nil
    }

    func set(_ key: PickleNode, _ value: PickleNode) {
        if let earlier = position(of: key) {
            items[earlier + 1] = value
        } else {
            items.append(key)
            items.append(value)
        }
    }
}

/// What the stack, the memo and containers hold while a pickle is read.
enum PickleNode {
    case value(PickleValue)
    case container(PickleContainer)
}

/// The state of one read: the bytes, the position, the stack, the marks and the memo.
struct PickleReader {
    let bytes: [UInt8], source: String
    var position = 0
    var stack: [PickleNode] = [], marks: [Int] = [], memo: [Int: PickleNode] = [:]
    /// Every container made, so that ``releaseContainers()`` can take them apart one by one: freeing a chain of
    /// nested containers recursively would overflow the thread's stack, and a container that holds itself would
    /// never be freed.
    var containers: [PickleContainer] = []

    init(bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
    }

    func fail(_ reason: String) -> GPTError { .invalidCheckpoint(path: source, reason: "pickle: \(reason)") }

    func releaseContainers() { for container in containers { container.items = [] } }

    // MARK: - Bytes

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - position else { throw fail("truncated at byte \(position)") }
        defer { position += n }
        return bytes[position..<(position + n)]
    }

    /// An unsigned little-endian integer of `n` bytes (8: any Int, two's complement).
    mutating func integer(_ n: Int) throws -> Int {
        guard n <= bytes.count - position else { throw fail("truncated at byte \(position)") }
        var value = 0, i = position + n
        while i > position {
            i -= 1
            value = value << 8 | Int(bytes[i])
        }
        position += n
        return value
    }

    /// The next opcode.
    mutating func opcode() throws -> UInt8 {
        guard position < bytes.count else { throw fail("truncated at byte \(position)") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func text(_ count: Int) throws -> PickleValue { .string(String(decoding: try take(count), as: UTF8.self)) }

    /// A line of a GLOBAL opcode (a module or a name), at most 256 bytes.
    mutating func line() throws -> String {
        guard let end = bytes[position..<min(bytes.count, position + 256)].firstIndex(of: 0x0A) else { throw fail("a bad GLOBAL") }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }

    // MARK: - The stack

    mutating func push(_ node: PickleNode) throws {
        guard stack.count < RestrictedPickle.maximumStack else { throw fail("too many values on the stack") }
        stack.append(node)
    }

    mutating func push(_ value: PickleValue) throws { try push(.value(value)) }

    mutating func pushContainer(_ kind: PickleContainer.Kind, _ items: [PickleNode] = []) throws {
        let container = PickleContainer(kind, items: items)
        containers.append(container)
        try push(.container(container))
    }

    mutating func pop() throws -> PickleNode {
        guard let node = stack.popLast() else { throw fail("stack underflow at byte \(position)") }
        return node
    }

    mutating func popMark() throws -> [PickleNode] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw fail("no mark at byte \(position)") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    /// The container on top of the stack (left there), if it is of `kind`.
    func top(_ kind: PickleContainer.Kind, for opcode: String) throws -> PickleContainer {
        guard case .container(let container)? = stack.last, container.kind == kind else { throw fail("\(opcode) on a non-\(kind)") }
        return container
    }

    mutating func remember(_ index: Int) throws {
        guard memo.count < RestrictedPickle.maximumMemo || memo[index] != nil else { throw fail("too many memo entries") }
        memo[index] = stack.last ?? .value(.none)
    }

    // MARK: - Globals and calls

    func global(_ module: String, _ name: String) throws -> PickleValue {
        let full = "\(module).\(name)"
        guard RestrictedPickle.allowedGlobals.contains(full) else {
            throw fail("refusing the global \(full.prefix(100)): this reader loads tensors and plain values only, never code")
        }
        return .global(full)
    }

    /// The elements of a tuple on the stack, without building anything.
    func elements(_ node: PickleNode) -> [PickleNode]? {
        guard case .container(let container) = node, container.kind == .tuple else { return nil }
        return container.items
    }

    func integers(_ node: PickleNode) -> [Int]? {
        guard let items = elements(node) else { return nil }
        let values = items.compactMap { if case .value(let value) = $0 { value.int } else { nil } }
        return values.count == items.count ? values : nil
    }

    mutating func reduce(_ callable: PickleNode, _ arguments: PickleNode) throws {
        guard case .value(.global(let name)) = callable, let args = elements(arguments) else { throw fail("REDUCE of a non-global") }
        switch name {
        case "collections.OrderedDict": try pushContainer(.dict)
        case "torch._utils._rebuild_tensor_v2":
            guard args.count >= 4, case .value(.storage(let type, let key, let count)) = args[0], case .value(let offset) = args[1],
                  let offset = offset.int, let shape = integers(args[2]), let strides = integers(args[3]) else {
                throw fail("a tensor without storage, offset, size and stride")
            }
            try push(.tensor(storage: key, type: type, storageCount: count, offset: offset, shape: shape, strides: strides))
        default: throw fail("refusing to call \(name)")
        }
    }

    // MARK: - The finished value

    /// The value `node` stands for, each container built once (`built`), refused past `maximumDepth`.
    func build(_ node: PickleNode, depth: Int, built: inout [ObjectIdentifier: PickleValue]) throws -> PickleValue {
        guard case .container(let container) = node else { if case .value(let value) = node { return value }; return .none }
        if let value = built[ObjectIdentifier(container)] { return value }
        guard depth < RestrictedPickle.maximumDepth else {
            throw fail("containers nested more than \(RestrictedPickle.maximumDepth) deep (or one that holds itself)")
        }
        let items = try container.items.map { try build($0, depth: depth + 1, built: &built) }
        let value: PickleValue = switch container.kind {
        case .list: .list(items)
        case .tuple: .tuple(items)
        case .dict: .dict(stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) })
        }
        built[ObjectIdentifier(container)] = value
        return value
    }

    // MARK: - Opcodes

    mutating func run() throws -> PickleValue {
        while true {
            let opcode = try opcode()
            switch opcode {
            case 0x80: _ = try take(1)  // PROTO
            case 0x95: _ = try take(8)  // FRAME
            case 0x2E:  // STOP
                var built: [ObjectIdentifier: PickleValue] = [:]
                return try build(try pop(), depth: 0, built: &built)
            case 0x28: marks.append(stack.count)  // MARK
            case 0x7D: try pushContainer(.dict)  // EMPTY_DICT
            case 0x5D: try pushContainer(.list)  // EMPTY_LIST
            case 0x29: try pushContainer(.tuple)  // EMPTY_TUPLE
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
                guard let node = memo[index] else { throw fail("memo \(index) is empty") }
                try push(node)
            case 0x74: try pushContainer(.tuple, try popMark())  // TUPLE
            case 0x85: try pushContainer(.tuple, [try pop()])  // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); try pushContainer(.tuple, [a, b])  // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); try pushContainer(.tuple, [a, b, c])  // TUPLE3
            case 0x6C: try pushContainer(.list, try popMark())  // LIST
            case 0x73:  // SETITEM
                let value = try pop(), key = try pop()
                try top(.dict, for: "SETITEM").set(key, value)
            case 0x75:  // SETITEMS
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("SETITEMS of an odd number of values") }
                let dict = try top(.dict, for: "SETITEMS")
                for i in stride(from: 0, to: items.count, by: 2) { dict.set(items[i], items[i + 1]) }
            case 0x61: let item = try pop(); try top(.list, for: "APPEND").items.append(item)  // APPEND
            case 0x65: let items = try popMark(); try top(.list, for: "APPENDS").items += items  // APPENDS
            case 0x63:  // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                try push(try global(module, name))
            case 0x93:  // STACK_GLOBAL
                guard case .value(.string(let name)) = try pop(), case .value(.string(let module)) = try pop() else {
                    throw fail("a bad STACK_GLOBAL")
                }
                try push(try global(module, name))
            case 0x52:  // REDUCE
                let arguments = try pop(), callable = try pop()
                try reduce(callable, arguments)
            case 0x62: _ = try pop()  // BUILD: a state dict's `_metadata`, not needed
            case 0x51:  // BINPERSID: ('storage', type, key, location, count)
                guard let id = elements(try pop()), id.count >= 5, case .value(.global(let type)) = id[1],
                      case .value(.string(let key)) = id[2], case .value(let count) = id[4], let count = count.int else {
                    throw fail("a bad persistent id")
                }
                try push(.storage(type: type, key: key, count: count))
            default:
                throw fail("opcode 0x\(String(opcode, radix: 16)) at byte \(position - 1) is not one a state dict needs")
            }
        }
    }
}
