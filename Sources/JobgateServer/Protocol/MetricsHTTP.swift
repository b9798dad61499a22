/// Just enough HTTP/1.0 for Prometheus to scrape `GET /metrics` from the gateway's own loop.
/// One request per connection; anything else gets 404 or 400.
public final class MetricsHTTP: ConnectionDelegate {
    public typealias Render = (@escaping ([UInt8]) -> Void) -> Void

    private let connection: Connection
    private let render: Render
    private var head: [UInt8] = []
    private var answered = false
    private let onClose: (MetricsHTTP) -> Void

    public init(connection: Connection, render: @escaping Render, onClose: @escaping (MetricsHTTP) -> Void) {
        self.connection = connection
        self.render = render
        self.onClose = onClose
        connection.delegate = self
    }

    public func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {
        guard !answered else { return }
        head.append(contentsOf: bytes)
        guard let end = headEnd() else {
            if head.count > 8192 { respond(400, "Bad Request", Array("request head too large\n".utf8)) }
            return
        }
        answered = true
        let requestLine = String(decoding: head[..<(head.firstIndex(of: 0x0D) ?? end)], as: UTF8.self)
        let parts = requestLine.split(separator: " ")
        guard parts.count >= 2, parts[0] == "GET" else {
            respond(400, "Bad Request", Array("only GET /metrics is served here\n".utf8))
            return
        }
        guard parts[1] == "/metrics" || parts[1].hasPrefix("/metrics?") else {
            respond(404, "Not Found", Array("try /metrics\n".utf8))
            return
        }
        render { [self] body in respond(200, "OK", body) }
    }

    private func headEnd() -> Int? {
        guard head.count >= 4 else { return nil }
        for i in 0...(head.count - 4) where head[i] == 0x0D && head[i + 1] == 0x0A && head[i + 2] == 0x0D && head[i + 3] == 0x0A {
            return i
        }
        return nil
    }

    private func respond(_ status: Int, _ reason: String, _ body: [UInt8]) {
        answered = true
        let header = "HTTP/1.0 \(status) \(reason)\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        connection.write(Array(header.utf8) + body)
        if connection.pendingOutput == 0 { connection.close() }
    }

    public func connectionReachedEnd(_ connection: Connection) {
        if !answered { connection.close() }
    }

    public func connectionDrained(_ connection: Connection) {
        if answered { connection.close() }
    }

    public func connectionClosed(_ connection: Connection) { onClose(self) }
}
