@preconcurrency import Glibc
import JobgateServer

/// Why talking to the gateway failed before a reply line could be read.
enum LineClientError: Error, CustomStringConvertible {
    /// No connection could be made (refused, no such socket, unresolvable host...).
    case connect(String)
    /// The gateway did not answer within the timeout.
    case timeout(String)
    /// The connection broke or was closed while a reply was still expected.
    case broken(String)

    var description: String {
        switch self {
        case .connect(let text), .timeout(let text), .broken(let text): text
        }
    }
}

/// A blocking, one-request-at-a-time client for jobgate's newline-delimited JSON protocol.
///
/// Operator commands make a handful of calls and exit, so plain POSIX sockets are enough. The socket
/// is non-blocking only so that every wait goes through `poll` and honours the timeout.
final class LineClient {
    let address: ListenAddress
    private let fd: Int32
    private let timeoutSeconds: Double
    /// Bytes read but not yet returned as a line.
    private var pending: [UInt8] = []
    /// How much of `pending` is known to hold no newline, so each byte is searched once.
    private var searched = 0

    init(address: ListenAddress, timeoutSeconds: Double) throws {
        self.address = address
        self.timeoutSeconds = timeoutSeconds
        let deadline = monotonicSeconds() + timeoutSeconds
        switch address {
        case .unix(let path): fd = try Self.connectUnix(path: path)
        case .tcp(let host, let port): fd = try Self.connectTCP(host: host, port: port, deadline: deadline)
        case .tls: throw LineClientError.connect("the jobgate commands do not speak TLS; use the gateway's unix: socket or a tcp:// listener")
        }
    }

    deinit { close(fd) }

    /// Sends one request line and returns the reply line (without its newline).
    func call(_ line: [UInt8]) throws -> [UInt8] {
        let deadline = monotonicSeconds() + timeoutSeconds
        do {
            try send(line + [UInt8(ascii: "\n")], deadline: deadline)
        } catch {
            // A gateway that refuses a connection (OVERLOADED) writes why and closes; that line
            // explains the failed send better than EPIPE does, if it has arrived.
            if let reply = try? readLine(deadline: deadline) { return reply }
            throw error
        }
        return try readLine(deadline: deadline)
    }

    private func send(_ bytes: [UInt8], deadline: Double) throws {
        var offset = 0
        while offset < bytes.count {
            // MSG_NOSIGNAL: a gateway that hung up must give an error here, not kill us with SIGPIPE.
            let sent = bytes.withUnsafeBytes { buffer in
                Glibc.send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent >= 0 {
                offset += sent
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                try waitUntilReady(for: Int16(POLLOUT), deadline: deadline, doing: "sending a request")
            } else if errno != EINTR {
                throw LineClientError.broken("cannot send to \(address): \(lastErrorText())")
            }
        }
    }

    private func readLine(deadline: Double) throws -> [UInt8] {
        while true {
            if let newline = pending[searched...].firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(pending[..<newline])
                pending.removeFirst(newline + 1)
                searched = 0
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return line
            }
            searched = pending.count
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            let received = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if received > 0 {
                pending.append(contentsOf: chunk[..<received])
            } else if received == 0 {
                throw LineClientError.broken("\(address) closed the connection before replying")
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                try waitUntilReady(for: Int16(POLLIN), deadline: deadline, doing: "waiting for a reply")
            } else if errno != EINTR {
                throw LineClientError.broken("cannot read from \(address): \(lastErrorText())")
            }
        }
    }

    private func waitUntilReady(for events: Int16, deadline: Double, doing activity: String) throws {
        try Self.poll(fd: fd, events: events, deadline: deadline,
                      onTimeout: "no answer from \(address) within \(plainNumber(timeoutSeconds)) s while \(activity)")
    }

    private static func poll(fd: Int32, events: Int16, deadline: Double, onTimeout message: String) throws {
        while true {
            let remaining = deadline - monotonicSeconds()
            guard remaining > 0 else { throw LineClientError.timeout(message) }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = Glibc.poll(&entry, 1, Int32(min((remaining * 1000).rounded(.up), Double(Int32.max))))
            if ready > 0 { return }  // the read/write/SO_ERROR that follows reports any error or hang-up
            if ready == 0 { throw LineClientError.timeout(message) }
            if errno != EINTR { throw LineClientError.broken("poll failed: \(lastErrorText())") }
        }
    }

    private static func connectUnix(path: String) throws -> Int32 {
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: socketAddress.sun_path)
        guard pathBytes.count < capacity else {
            throw LineClientError.connect("cannot connect to unix:\(path): the path is longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw LineClientError.connect("cannot create a socket: \(lastErrorText())") }
        // A Unix connect completes at once or fails at once, so it can block safely.
        let result = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let text = lastErrorText()
            close(fd)
            throw LineClientError.connect("cannot connect to unix:\(path): \(text)")
        }
        setNonBlocking(fd)
        return fd
    }

    private static func connectTCP(host: String, port: Int, deadline: Double) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw LineClientError.connect("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(first) }
        let display = ListenAddress.tcp(host: host, port: port).description
        var lastError = "no usable address"
        // Try each resolved address in turn, as `localhost` may give ::1 before 127.0.0.1.
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
            guard fd >= 0 else { lastError = lastErrorText(); continue }
            setNonBlocking(fd)
            if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
            guard errno == EINPROGRESS else { lastError = lastErrorText(); close(fd); continue }
            do {
                try poll(fd: fd, events: Int16(POLLOUT), deadline: deadline,
                         onTimeout: "cannot connect to \(display): timed out")
            } catch {
                close(fd)
                throw error
            }
            var socketError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &length)
            if socketError == 0 { return fd }
            lastError = String(cString: strerror(socketError))
            close(fd)
        }
        throw LineClientError.connect("cannot connect to \(display): \(lastError)")
    }

    private static func setNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

private func lastErrorText() -> String { String(cString: strerror(errno)) }
