import Foundation
import GPTServer
import LanguageModels
import TensorModule
import Testing
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A client that goes away mid-stream must free its generation slot at once, not when its generation would end.
@Suite struct DisconnectTests {
    /// Opens a connection, sends a streaming request with `body` and waits for the first bytes of the answer;
    /// returns the socket, still open (close it to hang up). The blocking calls run on a thread of their own: on
    /// one of the cooperative pool's few threads they could starve the server they wait for.
    static func openStream(port: Int, body: String = #"{"prompt":"abc","max_tokens":4096,"stream":true}"#,
                           waitForBytes: Bool = true) async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: blockingOpenStream(port: port, body: body, waitForBytes: waitForBytes)) }.start()
        }
    }

    static func blockingOpenStream(port: Int, body: String, waitForBytes: Bool) -> Int32 {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        #expect(descriptor >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        let request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        _ = request.withCString { send(descriptor, $0, strlen($0), 0) }
        guard waitForBytes else { return descriptor }
        var buffer = [UInt8](repeating: 0, count: 512)
        let received = recv(descriptor, &buffer, buffer.count, 0)
        #expect(received > 0, "no streamed bytes")
        return descriptor
    }

    /// Sends a streaming request on a raw socket, reads the first bytes of the answer, and closes the connection.
    static func startStreamAndHangUp(port: Int) async {
        close(await openStream(port: port))
    }

    @Test func hangingUpFreesTheSlot() async throws {
        // One slot and no queue: while the slot is taken, any other request is refused with 503.
        let server = ServerTests.makeServer(parallel: 1, queue: 0, blockSize: 64, layers: 4, width: 64, seed: 4)
        try await LiveServer.with(server) { client in
            await Self.startStreamAndHangUp(port: client.port)
            // 4,096 tokens past the block size take seconds; a freed slot answers within a few hundred ms.
            var status = 0
            let deadline = Date().addingTimeInterval(1.5)
            repeat {
                try await Task.sleep(for: .milliseconds(100))
                status = try await client.complete(#"{"prompt":"abc","max_tokens":2}"#).status
            } while status != 200 && Date() < deadline
            #expect(status == 200, "the slot was still taken after the client hung up")
        }
    }

    /// Polls `/health` until `condition` holds for its counts or `seconds` pass; returns whether it held.
    static func waitForLoad(_ client: LiveServer, seconds: Double, _ condition: (Int, Int) -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            let load = try await client.request("/health").object
            if condition(load["running"] as? Int ?? -1, load["waiting"] as? Int ?? -1) { return true }
            try await Task.sleep(for: .milliseconds(20))
        } while Date() < deadline
        return false
    }

    @Test func aNonStreamedClientThatHangsUpFreesItsSlotWithinASecond() async throws {
        let server = ServerTests.makeServer(parallel: 1, queue: 0, blockSize: 64, layers: 4, width: 64, seed: 4)
        try await LiveServer.with(server) { client in
            let socket = await Self.openStream(port: client.port, body: #"{"prompt":"abc","max_tokens":4096}"#, waitForBytes: false)
            let started = try await Self.waitForLoad(client, seconds: 5) { running, _ in running == 1 }
            #expect(started)
            close(socket)
            let freed = try await Self.waitForLoad(client, seconds: 1) { running, _ in running == 0 }
            #expect(freed, "the generation went on after its client hung up")
        }
    }

    @Test func aQueuedClientThatLeavesFreesItsPlace() async throws {
        let server = ServerTests.makeServer(parallel: 1, queue: 1, blockSize: 64, layers: 4, width: 64, seed: 4)
        try await LiveServer.with(server) { client in
            let running = await Self.openStream(port: client.port)
            defer { close(running) }
            let queued = await Self.openStream(port: client.port, body: #"{"prompt":"abc","max_tokens":4096,"stream":true}"#,
                                               waitForBytes: false)
            let queuedUp = try await Self.waitForLoad(client, seconds: 5) { running, waiting in running == 1 && waiting == 1 }
            #expect(queuedUp)
            close(queued)
            let left = try await Self.waitForLoad(client, seconds: 1) { running, waiting in running == 1 && waiting == 0 }
            #expect(left, "the queued request kept its place after its client left")
        }
    }

    @Test func aRequestOverTheTokenBudgetIsRefusedNamingMaxTokens() async throws {
        try await LiveServer.with(ServerTests.makeServer()) { client in
            let prompts = Array(repeating: "\"abc\"", count: 16).joined(separator: ",")
            let answer = try await client.complete(#"{"prompt":[\#(prompts)],"n":16,"max_tokens":4096}"#)
            #expect(answer.status == 400)
            #expect((answer.object["error"] as? [String: Any])?["param"] as? String == "max_tokens")
        }
    }
}
