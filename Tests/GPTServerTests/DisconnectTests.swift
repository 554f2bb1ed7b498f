import Foundation
import GPTServer
import Hummingbird
import HummingbirdTesting
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
    /// Sends a streaming request on a raw socket, reads the first bytes of the answer, and closes the connection.
    static func startStreamAndHangUp(port: Int) throws {
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
        let body = #"{"prompt":"abc","max_tokens":4096,"stream":true}"#
        let request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        _ = request.withCString { send(descriptor, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let received = recv(descriptor, &buffer, buffer.count, 0)
        #expect(received > 0, "no streamed bytes before hanging up")
        close(descriptor)
    }

    @Test func hangingUpFreesTheSlot() async throws {
        // One slot and no queue: while the slot is taken, any other request is refused with 503.
        let server = ServerTests.makeServer(parallel: 1, queue: 0, blockSize: 64, layers: 4, width: 64, seed: 4)
        let app = Application(router: server.router())
        try await app.test(.live) { client in
            let port = client.port!
            try Self.startStreamAndHangUp(port: port)
            // 4,096 tokens past the block size take seconds; a freed slot answers within a few hundred ms.
            var status = 0
            let deadline = Date().addingTimeInterval(1.5)
            repeat {
                try await Task.sleep(for: .milliseconds(100))
                var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/completions")!)
                request.httpMethod = "POST"
                request.httpBody = Data(#"{"prompt":"abc","max_tokens":2}"#.utf8)
                let (_, response) = try await URLSession.shared.data(for: request)
                status = (response as? HTTPURLResponse)?.statusCode ?? 0
            } while status != 200 && Date() < deadline
            #expect(status == 200, "the slot was still taken after the client hung up")
        }
    }
}
