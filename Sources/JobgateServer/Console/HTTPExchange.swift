/// One request and its response on one connection: reads the head and a Content-Length body,
/// hands the request on, writes the response and closes. A request not read in full within
/// `HTTPServer.readTimeoutMs` is dropped by the server.
final class HTTPExchange: ConnectionDelegate {
    typealias Respond = (HTTPRequest, Connection, @escaping (HTTPResponse) -> Void) -> Void

    let connection: Connection
    let startedMs: UInt64
    private let respond: Respond
    private let maxBody: Int
    private let onClose: (HTTPExchange) -> Void
    private var buffer: [UInt8] = []
    private var request: HTTPRequest?
    private var bodyLength = 0
    /// Set once the whole request is read: later input is ignored.
    private(set) var read = false
    private var answered = false

    init(connection: Connection, startedMs: UInt64, maxBody: Int, respond: @escaping Respond, onClose: @escaping (HTTPExchange) -> Void) {
        self.connection = connection
        self.startedMs = startedMs
        self.maxBody = maxBody
        self.respond = respond
        self.onClose = onClose
        connection.delegate = self
    }

    func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {
        guard !read else { return }
        buffer.append(contentsOf: bytes)
        do throws(HTTPFailure) {
            if request == nil {
                guard let end = headEnd() else {
                    if buffer.count > HTTPRequest.maxHead { throw HTTPFailure(400, "BAD_REQUEST", "request head larger than \(HTTPRequest.maxHead) bytes") }
                    return
                }
                let head = try HTTPRequest(head: buffer[..<end])
                buffer.removeFirst(end + 4)
                bodyLength = try bodyLength(of: head)
                request = head
            }
            guard buffer.count >= bodyLength, var complete = request else { return }
            complete.body = Array(buffer.prefix(bodyLength))
            read = true
            buffer = []
            respond(complete, connection) { [self] response in send(response) }
        } catch {
            read = true
            send(.failure(error))
        }
    }

    private func bodyLength(of head: HTTPRequest) throws(HTTPFailure) -> Int {
        if head.headers["transfer-encoding"] != nil {
            throw HTTPFailure(501, "BAD_REQUEST", "chunked bodies are not accepted; send Content-Length")
        }
        guard let text = head.headers["content-length"] else { return 0 }
        guard let length = Int(text), length >= 0 else { throw HTTPFailure(400, "BAD_REQUEST", "Content-Length is not a number") }
        guard length <= maxBody else { throw HTTPFailure(413, "TOO_LARGE", "body longer than \(maxBody) bytes") }
        return length
    }

    private func headEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4)
        where buffer[i] == 0x0D && buffer[i + 1] == 0x0A && buffer[i + 2] == 0x0D && buffer[i + 3] == 0x0A {
            return i
        }
        return nil
    }

    private func send(_ response: HTTPResponse) {
        guard !answered else { return }
        answered = true
        connection.write(response.bytes)
        if connection.pendingOutput == 0 { connection.close() }
    }

    func connectionReachedEnd(_ connection: Connection) {
        if !read { connection.close() }
    }

    func connectionDrained(_ connection: Connection) {
        if answered { connection.close() }
    }

    func connectionClosed(_ connection: Connection) { onClose(self) }
}
