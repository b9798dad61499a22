@preconcurrency import Glibc

/// Where and how the web console is served (`--http`, `--http-read-only`).
public struct ConsoleSettings: Sendable {
    public var address: ListenAddress
    /// Only the read ops; the page shows no actions.
    public var readOnly = false

    public init(address: ListenAddress, readOnly: Bool = false) {
        self.address = address
        self.readOnly = readOnly
    }
}

/// An HTTP listener on the gateway's loop: `GET /metrics` always, and the web console when it
/// has one (`--http`; `--metrics` serves metrics alone).
public final class HTTPServer {
    public typealias RenderMetrics = (@escaping ([UInt8]) -> Void) -> Void

    static let maxExchanges = 256
    static let readTimeoutMs: UInt64 = 10_000

    public let listener: Listener
    private let loop: EventLoop
    private let renderMetrics: RenderMetrics
    private let console: Console?
    private var exchanges: [ObjectIdentifier: HTTPExchange] = [:]
    private var reaper: LoopTimer?

    public init(loop: EventLoop, hub: ConnectionHub, address: ListenAddress, unixMode: mode_t, unixGroup: gid_t?,
                tlsContext: @escaping () -> TLSContext?, metrics: @escaping RenderMetrics,
                console settings: ConsoleSettings?, gateway: RequestHandler, token: [UInt8]?) throws {
        self.loop = loop
        renderMetrics = metrics
        console = try settings.map { s in
            try Console(settings: s, gateway: gateway, token: token, loop: loop)
        }
        // The listener's handler needs `self`, which exists only once the listener does.
        var accept: (Connection) -> Void = { connection in connection.close() }
        listener = try Listener(loop: loop, hub: hub, address: address, unixMode: unixMode, unixGroup: unixGroup,
                                tlsContext: tlsContext) { connection in accept(connection) }
        accept = { [unowned self] connection in self.accept(connection) }
        let reaper = LoopTimer(loop) { [unowned self] in self.dropStalledRequests() }
        reaper.start(afterMs: 1000, repeatMs: 1000)
        reaper.unref()
        self.reaper = reaper
    }

    /// What the gateway logs once this listener accepts connections.
    public var servingMessage: String { console == nil ? "serving metrics" : "serving the web console and metrics" }

    private func accept(_ connection: Connection) {
        let exchange = HTTPExchange(connection: connection, startedMs: loop.nowMs, maxBody: 1 << 20,
                                    respond: { [unowned self] request, connection, done in self.route(request, connection, done) },
                                    onClose: { [unowned self] e in self.exchanges[ObjectIdentifier(e)] = nil })
        exchanges[ObjectIdentifier(exchange)] = exchange
        if exchanges.count > HTTPServer.maxExchanges {
            connection.write(HTTPResponse.text(503, "too many open HTTP connections; try again\n").bytes)
            connection.close()
        }
    }

    /// Closes connections whose request has not arrived in full in time (a slow or idle client
    /// must not hold one of the few HTTP slots).
    private func dropStalledRequests() { closeUnread(olderThanMs: HTTPServer.readTimeoutMs) }

    /// At shutdown: connections without a whole request (a browser's spare ones) close now, so
    /// they do not hold the drain up; requests being answered still get their response.
    public func closeIdleConnections() { closeUnread(olderThanMs: 0) }

    private func closeUnread(olderThanMs age: UInt64) {
        let now = loop.nowMs
        for exchange in Array(exchanges.values) where !exchange.read && now - exchange.startedMs >= age {
            exchange.connection.close()
        }
    }

    /// `/metrics` needs no login: Prometheus scrapes it as before the console existed.
    private func route(_ request: HTTPRequest, _ connection: Connection, _ done: @escaping (HTTPResponse) -> Void) {
        if request.method == "GET" && request.path == "/metrics" {
            return renderMetrics { body in
                done(HTTPResponse(contentType: "text/plain; version=0.0.4; charset=utf-8", body: body))
            }
        }
        guard let console else {
            return done(request.method == "GET" ? .text(404, "try /metrics\n") : .text(400, "only GET /metrics is served here\n"))
        }
        console.respond(to: request, over: connection, done)
    }
}
