@preconcurrency import CLibUV
@preconcurrency import Glibc

public struct DialError: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}

/// Where an outgoing connection goes.
public enum DialTarget: Equatable, Sendable, CustomStringConvertible {
    case tcp(HostPort)
    case unix(path: String)

    public var description: String {
        switch self {
        case .tcp(let address): address.description
        case .unix(let path): "unix://\(path)"
        }
    }
}

/// Opens one outgoing connection on the loop: resolves the host name (off the loop thread,
/// through libuv's pool), connects, and for TLS completes the handshake, all within one time
/// limit. `done` runs exactly once, with an open `Connection` (no hub: it writes at once) or
/// the reason it failed.
final class Dialer {
    private let loop: EventLoop
    private let target: DialTarget
    private let tls: TLSContext?
    private let peerName: String?
    private var done: ((Result<Connection, DialError>) -> Void)?
    private var resolve: UnsafeMutablePointer<uv_getaddrinfo_t>?
    private var stream: UnsafeMutablePointer<uv_stream_t>?
    private var connecting: UnsafeMutablePointer<uv_connect_t>?
    private var connection: Connection?
    private lazy var deadline = LoopTimer(loop) { [unowned self] in self.fail("timed out after \(self.timeoutMs) ms") }
    private let timeoutMs: UInt64
    /// Keeps itself alive until `done` has run.
    private var retainSelf: Dialer?

    /// `peerName` is checked against the server's certificate (default: the target's host).
    init(loop: EventLoop, target: DialTarget, tls: TLSContext?, peerName: String?, timeoutMs: UInt64,
         done: @escaping (Result<Connection, DialError>) -> Void) {
        self.loop = loop
        self.target = target
        self.tls = tls
        self.peerName = peerName
        self.timeoutMs = timeoutMs
        self.done = done
    }

    func start() {
        retainSelf = self
        deadline.start(afterMs: timeoutMs)
        switch target {
        case .unix(let path):
            let pipe = allocateHandle(uv_pipe_t.self)
            uv_pipe_init(loop.uv, pipe, 0)
            stream = uvStream(pipe)
            uv_pipe_connect(connectRequest(), pipe, path) { req, status in Dialer.connected(req, status) }
        case .tcp(let address):
            let request = allocateHandle(uv_getaddrinfo_t.self)
            request.pointee.data = Unmanaged.passUnretained(self).toOpaque()  // cleared if abandoned
            resolve = request
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            let rc = uv_getaddrinfo(loop.uv, request, { req, status, result in
                defer { uv_freeaddrinfo(result) }
                guard let req, let data = req.pointee.data else { return req?.deallocate() ?? () }
                req.deallocate()
                let me = owner(data, as: Dialer.self)!
                me.resolve = nil
                guard status == 0, let first = result else {
                    return me.fail("cannot resolve host: \(uvErrorName(status))")
                }
                me.connect(to: first.pointee.ai_addr)
            }, address.host, String(address.port), &hints)
            if rc != 0 {
                resolve = nil
                request.deallocate()
                fail("cannot resolve host: \(uvErrorName(rc))")
            }
        }
    }

    private func connect(to address: UnsafeMutablePointer<sockaddr>) {
        guard done != nil else { return }
        let tcp = allocateHandle(uv_tcp_t.self)
        uv_tcp_init(loop.uv, tcp)
        uv_tcp_nodelay(tcp, 1)
        stream = uvStream(tcp)
        let rc = uv_tcp_connect(connectRequest(), tcp, address) { req, status in Dialer.connected(req, status) }
        if rc != 0 {
            connecting?.deallocate()
            connecting = nil
            fail(uvErrorName(rc))
        }
    }

    private func connectRequest() -> UnsafeMutablePointer<uv_connect_t> {
        let request = allocateHandle(uv_connect_t.self)
        request.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        connecting = request
        return request
    }

    /// A connect request finished. Its `data` is cleared when the dial was abandoned first.
    private static func connected(_ request: UnsafeMutablePointer<uv_connect_t>?, _ status: Int32) {
        guard let request else { return }
        let data = request.pointee.data
        request.deallocate()
        guard let data else { return }
        let me = owner(data, as: Dialer.self)!
        me.connecting = nil
        guard status == 0 else { return me.fail(uvErrorName(status)) }
        me.established()
    }

    private func established() {
        guard done != nil, let stream else { return }
        self.stream = nil
        var channel: TLSChannel? = nil
        if let tls {
            do {
                channel = try TLSChannel(context: tls, peerName: peerName ?? target.host)
            } catch {
                closeAndFree(stream)
                return fail(error.description)
            }
        }
        let c = Connection(stream: stream, isUnixSocket: target.isUnix, hub: nil, id: 0, tls: channel)
        connection = c
        c.delegate = handshakeWatcher
        c.startReading()
        c.startTLS { [unowned self] in self.succeed() }
    }

    private lazy var handshakeWatcher = HandshakeWatcher { [unowned self] reason in self.fail(reason) }

    private func succeed() {
        guard let done, let connection else { return }
        finish()
        connection.delegate = nil
        done(.success(connection))
        retainSelf = nil
    }

    private func fail(_ reason: String) {
        guard let done else { return }
        finish()
        // Requests still pending report back later (cancelled): they must not find this dialer.
        if let resolve {
            resolve.pointee.data = nil
            uv_cancel(UnsafeMutableRawPointer(resolve).assumingMemoryBound(to: uv_req_t.self))
        }
        connecting?.pointee.data = nil
        if let stream { closeAndFree(stream) }
        if let connection {
            connection.delegate = nil
            connection.close()
        }
        done(.failure(DialError(reason: reason)))
        retainSelf = nil
    }

    private func finish() {
        done = nil
        deadline.stop()
    }
}

/// Turns a connection that ends during the TLS handshake into a dial failure.
private final class HandshakeWatcher: ConnectionDelegate {
    let failed: (String) -> Void
    init(failed: @escaping (String) -> Void) { self.failed = failed }
    func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {}
    func connectionReachedEnd(_ connection: Connection) { failed("closed by the server during the TLS handshake") }
    func connectionDrained(_ connection: Connection) {}
    func connectionClosed(_ connection: Connection) { failed(connection.closeReason ?? "closed during the TLS handshake") }
}

extension DialTarget {
    var host: String? { if case .tcp(let a) = self { a.host } else { nil } }
    var isUnix: Bool { if case .unix = self { true } else { false } }
}
