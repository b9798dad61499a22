@preconcurrency import CLibUV
@preconcurrency import Glibc

public enum ListenAddress: Equatable, CustomStringConvertible, Sendable {
    case tcp(host: String, port: Int)
    /// TCP with TLS (the listener's certificate comes from the server's configuration).
    case tls(host: String, port: Int)
    case unix(path: String)

    /// Parses `tcp://HOST:PORT`, `tls://HOST:PORT` (IPv6 hosts in brackets) or `unix:PATH`.
    public init?(_ text: String) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard !path.isEmpty else { return nil }
            self = .unix(path: path)
        } else if text.hasPrefix("tcp://") || text.hasPrefix("tls://") {
            let rest = text.dropFirst("tcp://".count)
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
                  (0...65535).contains(port) else { return nil }
            var host = String(rest[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { return nil }
            self = text.hasPrefix("tls://") ? .tls(host: host, port: port) : .tcp(host: host, port: port)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): "tcp://" + HostPort(host: host, port: port).description
        case .tls(let host, let port): "tls://" + HostPort(host: host, port: port).description
        case .unix(let path): "unix:\(path)"
        }
    }

    public var isLoopback: Bool {
        switch self {
        case .unix: true
        case .tcp(let host, _), .tls(let host, _): host == "localhost" || host == "::1" || host.hasPrefix("127.")
        }
    }

    public var isTLS: Bool { if case .tls = self { true } else { false } }

    /// The same address with another port (the one actually bound, for port 0).
    func withPort(_ port: Int) -> ListenAddress {
        switch self {
        case .tcp(let host, _): .tcp(host: host, port: port)
        case .tls(let host, _): .tls(host: host, port: port)
        case .unix: self
        }
    }
}

public struct ListenError: Error, CustomStringConvertible {
    public let description: String
}

/// A listening socket that hands each accepted stream to the hub as a `Connection`. Binding
/// and accepting are two steps, so a taken address is found before anything else starts while
/// connections are accepted only once the gateway can serve them.
public final class Listener {
    public let address: ListenAddress
    private let stream: UnsafeMutablePointer<uv_stream_t>
    private let hub: ConnectionHub
    private let loop: EventLoop
    private let onAccept: (Connection) -> Void
    /// The certificate in effect for new connections (TLS listeners only).
    private let tlsContext: () -> TLSContext?
    /// The socket file this listener made (device, inode): it removes the file on close only
    /// while the path still names that file.
    private var socketFile: (dev_t, ino_t)?
    /// `<socket path>.lock`, held while listening: a gateway that has bound the path but does
    /// not accept yet (it waits for Redis) refuses connections like a stale file would.
    private var socketLock: PidLock?

    /// Binds `address`. `unixMode` and `unixGroup` set the socket file's permissions: who may
    /// connect at all.
    public init(loop: EventLoop, hub: ConnectionHub, address: ListenAddress, unixMode: mode_t = 0o660,
                unixGroup: gid_t? = nil, tlsContext: @escaping () -> TLSContext? = { nil },
                onAccept: @escaping (Connection) -> Void) throws {
        self.address = address
        self.loop = loop
        self.hub = hub
        self.onAccept = onAccept
        self.tlsContext = tlsContext
        stream = Listener.allocateStream(loop: loop, unix: address.isUnix)
        var rc: Int32
        switch address {
        case .tcp(let host, let port), .tls(let host, let port):
            if var ip = SocketAddress(ip: host, port: port) {
                rc = ip.withSockaddr(as: sockaddr.self) { uv_tcp_bind(Listener.tcp(stream), $0, 0) }
                // libuv keeps "address in use" from bind for listen to report; ask for it now.
                if rc == 0 { _ = SocketAddress.of(Listener.tcp(stream), peer: false, error: &rc) }
            } else {
                rc = UV_EINVAL.rawValue
            }
        case .unix(let path):
            do throws(PidLock.Failure) {
                socketLock = try PidLock(path: path + ".lock")
            } catch {
                closeAndFree(stream)
                switch error {
                case .cannotOpen(let why): throw ListenError(description: "cannot listen on \(address): cannot open \(path).lock: \(why)")
                case .held(let owner): throw ListenError(description: "cannot listen on \(address): in use by jobgate pid \(owner.map(String.init) ?? "unknown")")
                }
            }
            if Listener.someoneListens(at: path) {
                closeAndFree(stream)
                throw ListenError(description: "cannot listen on \(address): another process listens there")
            }
            Listener.removeStaleSocket(path)
            rc = uv_pipe_bind(UnsafeMutableRawPointer(stream).assumingMemoryBound(to: uv_pipe_t.self), path)
            if rc == 0 && chmod(path, unixMode) != 0 { rc = -errno }
            if rc == 0, let gid = unixGroup, chown(path, uid_t.max, gid) != 0 { rc = -errno }
            var st = stat()
            if rc == 0 && lstat(path, &st) == 0 { socketFile = (st.st_dev, st.st_ino) }
        }
        if rc != 0 {
            closeAndFree(stream)
            throw ListenError(description: "cannot listen on \(address): \(uvErrorName(rc))")
        }
        setOwner(stream, self)
    }

    private static func tcp(_ stream: UnsafeMutablePointer<uv_stream_t>) -> UnsafeMutablePointer<uv_tcp_t> {
        UnsafeMutableRawPointer(stream).assumingMemoryBound(to: uv_tcp_t.self)
    }

    /// Starts accepting connections.
    public func listen() throws {
        let rc = uv_listen(stream, 1024) { server, status in
            guard let listener = owner(server!.pointee.data, as: Listener.self) else { return }
            if status == 0 { listener.acceptOne() } else { listener.acceptFailed(status) }
        }
        if rc != 0 { throw ListenError(description: "cannot listen on \(address): \(uvErrorName(rc))") }
    }

    /// The port actually bound (useful with port 0).
    public var boundPort: Int? {
        if address.isUnix { return nil }
        return SocketAddress.of(Listener.tcp(stream), peer: false)?.port
    }

    private var lastAcceptWarningMs: UInt64 = 0

    /// Usually out of file descriptors: say so (once a second at most) instead of dropping
    /// connections in silence.
    private func acceptFailed(_ status: Int32) {
        let now = loop.nowMs
        guard now - lastAcceptWarningMs >= 1000 || lastAcceptWarningMs == 0 else { return }
        lastAcceptWarningMs = now
        Log.warn("accept failed; connections are being dropped", ["address": address.description, "error": uvErrorName(status)])
    }

    private func acceptOne() {
        let client = Listener.allocateStream(loop: loop, unix: address.isUnix)
        let rc = uv_accept(stream, client)
        guard rc == 0 else {
            closeAndFree(client)
            acceptFailed(rc)
            return
        }
        if !address.isUnix { uv_tcp_nodelay(Listener.tcp(client), 1) }
        var tls: TLSChannel? = nil
        if address.isTLS, let context = tlsContext() {
            do {
                tls = try TLSChannel(context: context)
            } catch {
                closeAndFree(client)
                Log.warn("cannot start TLS for a new connection", ["address": address.description, "error": error.description])
                return
            }
        }
        let connection = hub.adopt(stream: client, isUnixSocket: address.isUnix, tls: tls)
        onAccept(connection)
        if !connection.isClosed { connection.startReading() }
    }

    public func close() {
        closeAndFree(stream)
        // Another process may have replaced the file since (after removing a stale one of ours).
        var st = stat()
        if case .unix(let path) = address, let (dev, ino) = socketFile,
           lstat(path, &st) == 0, st.st_dev == dev, st.st_ino == ino {
            unlink(path)
        }
        socketLock = nil
    }

    private static func allocateStream(loop: EventLoop, unix: Bool) -> UnsafeMutablePointer<uv_stream_t> {
        if unix {
            let p = allocateHandle(uv_pipe_t.self)
            uv_pipe_init(loop.uv, p, 0)
            return uvStream(p)
        }
        let p = allocateHandle(uv_tcp_t.self)
        uv_tcp_init(loop.uv, p)
        return uvStream(p)
    }

    /// A socket file left by a killed gateway would make bind fail; only sockets are removed.
    /// Whether a process accepts connections on the socket file at `path`: a Unix connect
    /// answers at once, refused when the file is left over from a process that died.
    private static func someoneListens(at path: String) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFSOCK, var address = SocketAddress(unixPath: path) else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        return address.withSockaddr(as: sockaddr.self) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } == 0
    }

    private static func removeStaleSocket(_ path: String) {
        var st = stat()
        if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK { unlink(path) }
    }
}

extension ListenAddress {
    var isUnix: Bool { if case .unix = self { true } else { false } }
}
