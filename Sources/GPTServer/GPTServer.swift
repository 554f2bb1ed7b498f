import Foundation
import Hummingbird
import LanguageModels
import NIOCore
import TensorModule

/// The HTTP API: OpenAI-style completions (`POST /v1/completions`) and chat completions (`POST /v1/chat/completions`,
/// for a model with a chat template), streamed as server-sent events when asked, `GET /v1/models`, `GET /health`,
/// `GET /metrics` (Prometheus' text format), `POST /tokenize` and `/detokenize` (llama-server's shapes), and the
/// playground page at `/`.
public struct GPTServer: Sendable {
    public let service: CompletionService
    public let apiKey: String?
    /// The largest request body accepted (413 above it): by default room for the largest prompt the service accepts.
    public let maximumBodySize: Int
    /// Streamed events held for a client that reads slower than the model writes; one more and it is dropped.
    static let streamBufferLimit = 4096

    public init(service: CompletionService, apiKey: String? = nil, maximumBodySize: Int? = nil) {
        self.service = service
        self.apiKey = apiKey
        self.maximumBodySize = maximumBodySize ?? max(1 << 20, service.promptLimits.bytes + (64 << 10))
    }

    /// The application, listening on `host:port` once run (port 0: any free port); `onListening` hears the port
    /// it listens on. A connection idle for `idleTimeout` seconds is closed.
    public func application(host: String = "127.0.0.1", port: Int = 8080, idleTimeout: Int64 = 60,
                            onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(router: router(), server: .http1(configuration: .init(
                        additionalChannelHandlers: [ClientHangUpHandler()], idleTimeout: .seconds(idleTimeout))),
                    configuration: .init(address: .hostname(host, port: port), serverName: "swift-gpt"),
                    onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) })
    }

    public func router() -> Router<GPTRequestContext> {
        let router = Router(context: GPTRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())  // first: it wraps every route and the not-found answer
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: playgroundPage)))
        }
        router.get("/health") { _, _ in
            let load = service.slots.load
            return json(["status": "ok", "running": load.running, "waiting": load.waiting])
        }
        router.get("/metrics") { _, _ in
            let load = service.slots.load
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: service.metrics.exposition(
                                running: load.running, waiting: load.waiting,
                                prefixCache: service.batch.prefixCache?.statistics))))
        }
        post(router, "/tokenize") { body, _ in json(["tokens": try await service.tokenize(body)]) }
        post(router, "/detokenize") { body, _ in json(["content": try service.detokenize(body)]) }
        router.get("/v1/models") { request, _ in
            do {
                try authorize(request)
                return json(["object": "list", "data": [modelEntry()]])
            } catch { return errorResponse(error) }
        }
        post(router, "/v1/completions") { body, context in
            try await complete(CompletionRequest(json: body), connection: context.channel)
        }
        post(router, "/v1/chat/completions") { body, context in
            try await chat(CompletionRequest(json: body, chat: true), connection: context.channel)
        }
        return router
    }

    /// A POST route that checks the API key, reads the body (at most ``maximumBodySize``) and answers any error
    /// thrown as OpenAI's error JSON.
    func post(_ router: Router<GPTRequestContext>, _ path: RouterPath,
              _ handle: @escaping @Sendable (Data, GPTRequestContext) async throws -> Response) {
        router.post(path) { request, context in
            do {
                try authorize(request)
                var request = request
                return try await handle(Data(buffer: try await request.collectBody(upTo: maximumBodySize)), context)
            } catch { return errorResponse(error) }
        }
    }

    func authorize(_ request: Request) throws {
        guard let apiKey else { return }
        guard request.headers[.authorization] == "Bearer \(apiKey)" else {
            throw APIError(status: 401, message: "missing or wrong API key: send the header Authorization: Bearer <key>",
                           type: "invalid_request_error", param: nil, code: "invalid_api_key")
        }
    }

    func modelEntry() -> [String: Any] {
        let configuration = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(service.model.configuration))) ?? [:]
        return ["id": service.modelName, "object": "model", "created": service.created, "owned_by": "swift-gpt",
                "config": configuration, "vocab_size": service.tokenizer.vocabularySize]
    }

    /// Admits `request` (its prompts' text in `request.prompts`), lets `shape` check the admitted prompts, adjust
    /// the request and choose the answer's JSON, then generates: streamed as server-sent events, or whole.
    func serve(_ request: CompletionRequest, connection: any Channel,
               shape: (CompletionService.Admission, inout CompletionRequest) async throws -> any ResponseShape) async throws -> Response {
        var request = request
        let arrival = ContinuousClock.now
        service.metrics.requestReceived()
        if let model = request.model, model != service.modelName {
            throw APIError(status: 404, message: "the model \(model) does not exist; this server serves \(service.modelName)",
                           type: "invalid_request_error", param: "model", code: "model_not_found")
        }
        var checked = request.options
        checked.maxNewTokens = max(1, checked.maxNewTokens)  // 0: echo scores the prompt only
        try checked.validate()
        let cancelled = CancellationFlag(), ticket = UUID()
        let slots = service.slots
        slots.register(ticket)
        // One watch per request, dropped when it ends (callbacks on the connection's closeFuture would pile up, one
        // per request, on a connection kept alive for thousands of them).
        let onClose: @Sendable () -> Void = {
            cancelled.set()
            slots.abandon(ticket)
        }
        let hangUp = try? await connection.pipeline.handler(type: ClientHangUpHandler.self).get()
        if let hangUp {
            hangUp.watch(ticket, onClose)
        } else {  // a router served without ``application(host:port:idleTimeout:onListening:)``'s handler
            connection.closeFuture.whenComplete { _ in onClose() }
        }
        let admission: CompletionService.Admission
        let envelope: any ResponseShape
        do {
            guard let admitted = try await service.admit(request.prompts, ticket: ticket) else {
                throw APIError(status: 499, message: "the client closed the connection", type: "invalid_request_error",
                               param: nil, code: "client_closed")
            }
            admission = admitted
            do { envelope = try await shape(admission, &request) } catch {
                admission.slot.release()
                throw error
            }
        } catch {
            hangUp?.unwatch(ticket)
            throw error
        }
        let prompts = admission.prompts
        let promptTokens = prompts.reduce(0) { $0 + $1.tokens.count } * request.options.samples
        service.metrics.promptTokens(promptTokens)
        if request.stream {
            // At most `streamBufferLimit` events wait for a client that stops reading; past that it is dropped.
            let events = EventChannel(limit: Self.streamBufferLimit)
            let service = self.service, request = request
            Task {
                do {
                    try await service.generate(request, prompts: prompts.map(\.tokens), cancelled: cancelled, arrival: arrival) { event in
                        if !events.yield(event) { cancelled.set() }
                    }
                } catch {
                    events.yield(.failed(error as? APIError ?? APIError(status: 500, message: "\(error)", type: "server_error",
                                                                        param: nil, code: nil)))
                }
                admission.slot.release()
                hangUp?.unwatch(ticket)
                events.finish()
            }
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                            body: ResponseBody { writer in
                var envelope = envelope, completionTokens = 0
                do {
                    // Whatever waited goes out in one write: a writer behind the model sends a chunk per choice.
                    while let waiting = await events.next() {
                        var text = ""
                        for event in CompletionEvent.merged(waiting) {
                            if case .failed(let error) = event {  // OpenAI's mid-stream error: the error object, no [DONE]
                                text += "data: " + String(decoding: error.body, as: UTF8.self) + "\n\n"
                                try await writer.write(ByteBuffer(string: text))
                                try await writer.finish(nil)
                                return
                            }
                            if case .piece(_, _, let tokens) = event { completionTokens += tokens.count }
                            for chunk in envelope.chunks(event) { text += "data: " + chunk + "\n\n" }
                        }
                        try await writer.write(ByteBuffer(string: text))
                    }
                    for chunk in envelope.closing(promptTokens: promptTokens, completionTokens: completionTokens) {
                        try await writer.write(ByteBuffer(string: "data: " + chunk + "\n\n"))
                    }
                    try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                    try await writer.finish(nil)
                } catch {
                    cancelled.set()  // the client went away: free the slot at the next token
                    throw error
                }
            })
        }
        defer {
            admission.slot.release()
            hangUp?.unwatch(ticket)
        }
        let collector = ChoiceCollector(count: prompts.count * request.options.samples)
        try await service.generate(request, prompts: prompts.map(\.tokens), cancelled: cancelled, arrival: arrival) { collector.add($0) }
        return json(envelope.completion(collector.choices, promptTokens: promptTokens))
    }
}

/// Gathers the events of a non-streamed completion.
final class ChoiceCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [(text: String, tokens: [TokenChoice], reason: FinishReason)]

    init(count: Int) { storage = Array(repeating: ("", [], .length), count: count) }

    func add(_ event: CompletionEvent) {
        lock.withLock {
            switch event {
            case .piece(let index, let text, let tokens):
                storage[index].text += text
                storage[index].tokens += tokens
            case .finished(let index, let reason): storage[index].reason = reason
            case .failed: break  // thrown to the request instead
            }
        }
    }

    var choices: [(text: String, tokens: [TokenChoice], reason: FinishReason)] { lock.withLock { storage } }
}

/// The request context of the server's routes: Hummingbird's, plus the connection, whose closing cancels the
/// request's generation.
public struct GPTRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's connection.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// Closes a connection whose client closed its side: the server keeps half-closed connections open, so without this
/// a client that hangs up while its non-streamed completion runs would go unnoticed until the generation ends.
/// (A client that half-closes on purpose and waits for the answer gets none; HTTP clients do not do that.)
/// It also tells the connection's requests that their client left: each ``watch(_:_:)``es while it runs.
final class ClientHangUpHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = Never
    private let lock = NSLock()
    private var watchers: [UUID: @Sendable () -> Void] = [:]
    private var closed = false

    /// Calls `onClose` once when the connection closes (at once if it already has), unless ``unwatch(_:)`` first.
    func watch(_ ticket: UUID, _ onClose: @escaping @Sendable () -> Void) {
        let alreadyClosed = lock.withLock {
            if !closed { watchers[ticket] = onClose }
            return closed
        }
        if alreadyClosed { onClose() }
    }

    func unwatch(_ ticket: UUID) { _ = lock.withLock { watchers.removeValue(forKey: ticket) } }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent {
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        notifyClosed()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { notifyClosed() }

    private func notifyClosed() {
        let pending = lock.withLock {
            closed = true
            defer { watchers.removeAll() }
            return Array(watchers.values)
        }
        pending.forEach { $0() }
    }
}

/// Answers an unknown path or method with OpenAI's error JSON instead of an empty body.
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = GPTRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPResponseError where error.status == .notFound || error.status == .methodNotAllowed {
            let path = String(request.uri.path.prefix(80))
            let message = error.status == .notFound
                ? "no route \(path): this server offers POST /v1/completions, POST /v1/chat/completions, GET /v1/models, GET /health, GET /metrics, POST /tokenize, POST /detokenize and the playground at /"
                : "\(request.method) is not allowed on \(path)"
            let apiError = APIError(status: Int(error.status.code), message: message, type: "invalid_request_error",
                                    param: nil, code: error.status == .notFound ? "unknown_url" : "method_not_allowed")
            return Response(status: error.status, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: apiError.body)))
        }
    }
}

/// A JSON response; an object that JSON cannot hold (a NaN, an infinity) is a 500 naming the problem, never `{}`.
func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
    guard let text = JSONText.encode(object) else {
        return errorResponse(APIError(status: 500, message: "the answer holds a value JSON cannot encode (NaN or infinity)",
                                      type: "server_error", param: nil, code: "unencodable_answer"))
    }
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
}

/// Any error as OpenAI's error JSON: API errors as they are, oversized bodies as 413, the rest as 400.
func errorResponse(_ error: Error) -> Response {
    let apiError: APIError
    if let known = error as? APIError {
        apiError = known
    } else if let known = error as? GPTError {
        apiError = .invalid(nil, known.description)
    } else if let http = error as? HTTPResponseError, http.status == .contentTooLarge {
        apiError = APIError(status: 413, message: "the request body is too large", type: "invalid_request_error",
                            param: nil, code: "request_too_large")
    } else {
        apiError = .invalid(nil, "the request could not be read")
    }
    return Response(status: .init(code: apiError.status), headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(bytes: apiError.body)))
}
