import Foundation
@testable import GPTServer
import LanguageModels
import TensorModule
import Testing

/// `--parallel N` is a bound under any order of arrivals and departures: requests arrive, enter the queue, leave it
/// (their client hangs up), are cancelled while running, and complete, in an order drawn at random.
@Suite struct SlotChurnTests {
    /// The requests of one churn, as the test sees them; the slot holders are counted as they enter and leave.
    final class Ledger: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var holders: Set<UUID> = []
        private(set) var mostAtOnce = 0

        func enter(_ ticket: UUID) {
            lock.withLock {
                holders.insert(ticket)
                mostAtOnce = max(mostAtOnce, holders.count)
            }
        }

        /// Takes a holder out; `false` if `ticket` held no slot.
        func leave(_ ticket: UUID) -> Bool { lock.withLock { holders.remove(ticket) != nil } }

        var current: Set<UUID> { lock.withLock { holders } }
        var most: Int { lock.withLock { mostAtOnce } }
    }

    /// Runs `steps` random actions against slots of `parallel` and `queueLimit`, checking after each that no more
    /// than `parallel` requests hold a slot; then ends every request and checks that every slot came back.
    static func churn(seed: UInt64, parallel: Int, queueLimit: Int, steps: Int) async throws {
        var random = SeededGenerator(seed: seed)
        let slots = GenerationSlots(parallel: parallel, queueLimit: queueLimit)
        let ledger = Ledger()
        var registered: [UUID] = []  // announced, not yet in acquire
        var entered: [UUID: Task<Void, Never>] = [:]  // in acquire, holding, or finished
        func enter(_ ticket: UUID) {
            entered[ticket] = Task {
                if (try? await slots.acquire(ticket)) == true { ledger.enter(ticket) }
            }
        }
        for step in 0..<steps {
            let holders = ledger.current
            let inQueue = entered.keys.filter { !holders.contains($0) }
            switch Int(random.next() % 100) {
            case 0..<30:  // a request arrives: announced now, in acquire at once or later
                let ticket = UUID()
                slots.register(ticket)
                if random.next() % 2 == 0 { enter(ticket) } else { registered.append(ticket) }
            case 30..<45 where !registered.isEmpty:  // an announced request reaches acquire
                enter(registered.remove(at: Int(random.next() % UInt64(registered.count))))
            case 45..<55 where !registered.isEmpty:  // a client leaves before its request reaches acquire
                let ticket = registered.remove(at: Int(random.next() % UInt64(registered.count)))
                slots.abandon(ticket)
                enter(ticket)  // it still arrives, and must be turned away without a slot
            case 55..<70 where !inQueue.isEmpty:  // a queued client leaves (or one just handed a slot)
                slots.abandon(inQueue[Int(random.next() % UInt64(inQueue.count))])
            case 70..<80 where !holders.isEmpty:  // a running client leaves: its generation stops and releases
                let ticket = Array(holders)[Int(random.next() % UInt64(holders.count))]
                slots.abandon(ticket)
                if ledger.leave(ticket) { slots.release() }
            case 80..<100 where !holders.isEmpty:  // a generation completes
                let ticket = Array(holders)[Int(random.next() % UInt64(holders.count))]
                if ledger.leave(ticket) { slots.release() }
            default: break
            }
            for _ in 0..<Int(random.next() % 4) { await Task.yield() }
            let load = slots.load
            #expect(load.running <= parallel && ledger.current.count <= parallel,
                    "step \(step): \(load.running) running, \(ledger.current.count) holding, with --parallel \(parallel)")
            #expect(load.waiting <= queueLimit)
            if load.running > parallel { return }
        }
        // Everyone goes: the announced arrive abandoned, the queued leave, the holders complete.
        for ticket in registered {
            slots.abandon(ticket)
            enter(ticket)
        }
        for ticket in entered.keys { slots.abandon(ticket) }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            for ticket in ledger.current where ledger.leave(ticket) { slots.release() }
            if slots.load == (0, 0), ledger.current.isEmpty, slots.isSettled { break }
            try await Task.sleep(for: .milliseconds(1))
        }
        for task in entered.values { await task.value }
        #expect(ledger.most <= parallel, "\(ledger.most) held a slot at once with --parallel \(parallel)")
        #expect(slots.load == (0, 0), "slots not returned: \(slots.load)")
        #expect(slots.isSettled, "a ticket was left behind")
    }

    @Test(arguments: [(UInt64(1), 1, 0), (2, 2, 4), (3, 2, 16), (4, 3, 2), (5, 4, 32)])
    func parallelIsABoundUnderRandomChurn(seed: UInt64, parallel: Int, queueLimit: Int) async throws {
        try await Self.churn(seed: seed, parallel: parallel, queueLimit: queueLimit, steps: 3000)
    }

    @Test func aQueuedClientThatLeavesHandsOutNoExtraSlot() async throws {
        // The reproduction: two running, two queued; the first queued client leaves. Its place must not
        // become a third running generation.
        let slots = GenerationSlots(parallel: 2, queueLimit: 4)
        let tickets = (0..<4).map { _ in UUID() }
        tickets.forEach(slots.register)
        #expect(try await slots.acquire(tickets[0]))
        #expect(try await slots.acquire(tickets[1]))
        let leaving = Task { try await slots.acquire(tickets[2]) }
        while slots.load.waiting < 1 { await Task.yield() }
        let staying = Task { try await slots.acquire(tickets[3]) }
        while slots.load.waiting < 2 { await Task.yield() }
        slots.abandon(tickets[2])
        #expect(try await leaving.value == false)
        #expect(slots.load == (2, 1), "\(slots.load)")
        slots.release()  // a running generation completes: the one still waiting takes its slot
        #expect(try await staying.value == true)
        #expect(slots.load == (2, 0))
        slots.release()
        slots.release()
        #expect(slots.load == (0, 0))
        #expect(slots.isSettled)
    }
}
