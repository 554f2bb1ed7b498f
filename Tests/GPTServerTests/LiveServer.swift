import Foundation
import GPTServer
import Hummingbird
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A ``GPTServer`` listening on a free loopback port for the length of a test, and a plain HTTP client for it
/// (Foundation's URLSession), so the tests need no HTTP client package of their own.
struct LiveServer {
    let port: Int

    /// An HTTP answer: status, headers and the whole body.
    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        var object: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    /// Quiets the test servers' logs: Hummingbird's application logger reads `LOG_LEVEL` when the application is
    /// made. Its info lines ("Server started and listening") say nothing a test needs, and stopping a server by
    /// cancelling its task (there is no graceful-shutdown trigger without swift-service-lifecycle, which this target
    /// does not depend on) logs "Waiting on child channel: CancellationError()" and "Server shutdown error: Already
    /// closed" at error level for every server. `LOG_LEVEL=info swift test` shows them again.
    static let quietLogs: Void = { setenv("LOG_LEVEL", "critical", 0) }()

    /// Runs `body` while `server` listens on a free port, then stops the server.
    static func with<T: Sendable>(_ server: GPTServer, idleTimeout: Int64 = 60,
                                  _ body: (LiveServer) async throws -> T) async throws -> T {
        _ = quietLogs
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let application = server.application(host: "127.0.0.1", port: 0, idleTimeout: idleTimeout) { port in
            continuation.yield(port)
        }
        let running = Task { try await application.runService(gracefulShutdownSignals: []) }
        defer { running.cancel() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw URLError(.cannotConnectToHost) }
        return try await body(LiveServer(port: port))
    }

    /// Sends one request on a connection of its own and waits for the whole answer.
    func request(_ path: String, method: String = "GET", body: String? = nil, headers: [String: String] = [:],
                 timeout: TimeInterval = 60) async throws -> Answer {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!, timeoutInterval: timeout)
        request.httpMethod = method
        request.httpBody = body.map { Data($0.utf8) }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] {
            if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
        }
        return Answer(status: http?.statusCode ?? 0, headers: fields, body: data)
    }

    /// `POST /v1/completions` with a JSON body.
    func complete(_ body: String, headers: [String: String] = [:], timeout: TimeInterval = 60) async throws -> Answer {
        try await request("/v1/completions", method: "POST", body: body, headers: headers, timeout: timeout)
    }
}
