@preconcurrency import CLibUV
import Foundation
@testable import JobgateServer

/// A whole request path in process: the input is what a client sent on one Unix-socket
/// connection, handed to a real `Session` and `Gateway` (every op's own field decoders), whose
/// replies leave through a real socket pair. Redis is never connected, so requests that decode
/// get UNAVAILABLE. Every request must get exactly one reply line, a JSON object with `ok`,
/// never INTERNAL; a successful `quit` ends the replies.
func fuzzRequests(_ input: UnsafeRawBufferPointer) {
    let replies = RequestRig.shared.run(input)
    let requests = expectedLines(Array(input), maxLine: RequestRig.maxLine)
    var expected = requests.count
    for (i, reply) in replies.enumerated() {
        guard let object = try? JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any],
              let ok = object["ok"] as? Bool else {
            fuzzFailure("reply \(i) is not a JSON object with ok: \(String(decoding: reply, as: UTF8.self))", input)
        }
        if let error = object["error"] as? [String: Any], error["code"] as? String == "INTERNAL" {
            fuzzFailure("INTERNAL reply: \(String(decoding: reply, as: UTF8.self))", input)
        }
        if i < requests.count && ok && isQuit(requests[i]) {
            expected = i + 1
            break
        }
    }
    if replies.count != expected { fuzzFailure("\(expected) requests to answer but \(replies.count) replies", input) }
}

private func isQuit(_ request: FramedLine) -> Bool {
    guard case .line(let bytes) = request,
          let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { return false }
    return object["op"] as? String == "quit"
}

/// One gateway and event loop for the whole run, a new connection per input.
final class RequestRig {
    nonisolated(unsafe) static let shared = RequestRig()
    static let maxLine = 4096

    let loop = EventLoop()
    let hub: ConnectionHub
    let gateway: Gateway
    /// In the server the listeners keep the loop alive; without one, `uv_run` would return
    /// before the turn that flushes replies.
    let keepAlive = allocateHandle(uv_timer_t.self)

    init() {
        uv_timer_init(loop.uv, keepAlive)
        uv_timer_start(keepAlive, { _ in }, 3_600_000, 3_600_000)
        hub = ConnectionHub(loop: loop)
        var config = GatewayConfig()
        config.session.maxLine = RequestRig.maxLine
        let store = RedisStore(loop: loop, endpoint: RedisEndpoint(server: .unix(path: "/nonexistent/redis.sock")), scripts: Gateway.scripts)
        gateway = Gateway(loop: loop, store: store, config: config)
    }

    /// Feeds `input` to a new session as two reads and an end of stream; returns its reply lines.
    func run(_ input: UnsafeRawBufferPointer) -> [[UInt8]] {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { fatalError("socketpair: \(errno)") }
        let peer = fds[1]
        _ = fcntl(peer, F_SETFL, fcntl(peer, F_GETFL) | O_NONBLOCK)
        let pipe = allocateHandle(uv_pipe_t.self)
        uv_pipe_init(loop.uv, pipe, 0)
        uv_pipe_open(pipe, fds[0])
        let connection = hub.adopt(stream: UnsafeMutableRawPointer(pipe).assumingMemoryBound(to: uv_stream_t.self),
                                   isUnixSocket: true, tls: nil)
        gateway.accept(connection)
        guard let session = connection.delegate as? Session else { fatalError("the gateway made no session") }

        let half = input.count / 2
        session.connection(connection, received: UnsafeRawBufferPointer(rebasing: input[..<half]))
        session.connection(connection, received: UnsafeRawBufferPointer(rebasing: input[half...]))
        session.connectionReachedEnd(connection)

        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var turns = 0
        while true {
            uv_run(loop.uv, UV_RUN_NOWAIT)
            let n = read(peer, &buffer, buffer.count)
            if n > 0 { output += buffer[0..<n]; continue }
            if n == 0 { break }
            turns += 1
            if turns > 100_000 { fuzzFailure("the session neither answered nor closed", input) }
        }
        close(peer)
        uv_run(loop.uv, UV_RUN_NOWAIT)
        var lines = output.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if lines.last?.isEmpty == true { lines.removeLast() } else if !lines.isEmpty { fuzzFailure("a reply without its newline", input) }
        return lines
    }
}
