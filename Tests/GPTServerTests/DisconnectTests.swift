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
    static func openStream(port: Int, body: String = #"{"prompt":"abc","max_tokens":4096,"stream":true}"#) async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: blockingOpenStream(port: port, body: body)) }.start()
        }
    }

    static func blockingOpenStream(port: Int, body: String) -> Int32 {
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
}
