@preconcurrency import CLibUV
@preconcurrency import Glibc

public protocol ConnectionDelegate: AnyObject {
    func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer)
    /// The peer shut down its sending side; replies can still be written.
    func connectionReachedEnd(_ connection: Connection)
    /// Everything written so far has left the process.
    func connectionDrained(_ connection: Connection)
    func connectionClosed(_ connection: Connection)
}

/// A byte stream (TCP, TLS over TCP, or Unix socket) on the loop. A client's connection writes
/// are buffered and leave once per loop turn (through its hub); a connection without a hub (to
/// Redis) writes at once. `uv_try_write` sends directly when the socket can take it, so the
/// common path copies nothing into libuv-owned memory. With TLS, what is read is decrypted
/// before the delegate sees it and what is written is encrypted into the same outbox.
public final class Connection {
    public let id: UInt64
    public let isUnixSocket: Bool
    public weak var delegate: ConnectionDelegate?
    public private(set) var isClosed = false
    public private(set) var readingPaused = false
    /// Why the connection closed, when it was not a plain end of stream.
    public private(set) var closeReason: String?

    let stream: UnsafeMutablePointer<uv_stream_t>
    private let hub: ConnectionHub?
    private let tls: TLSChannel?
    private var outbox: [UInt8] = []
    private var inFlight: UnsafeMutableRawPointer? = nil
    private var inFlightCount = 0
    private let writeRequest: UnsafeMutablePointer<uv_write_t>
    private var queuedForFlush = false

    init(stream: UnsafeMutablePointer<uv_stream_t>, isUnixSocket: Bool, hub: ConnectionHub?, id: UInt64, tls: TLSChannel? = nil) {
        self.stream = stream
        self.isUnixSocket = isUnixSocket
        self.hub = hub
        self.id = id
        self.tls = tls
        writeRequest = allocateHandle(uv_write_t.self)
        setOwner(stream, self)
    }

    public var isTLS: Bool { tls != nil }

    /// Whether the peer has reset the connection (say, data reached a socket it had closed).
    /// Asked of the socket's pending error: once the peer's end of stream was read, a read
    /// reports that end, not the reset that came after it.
    func peerReset() -> Bool {
        guard let fd = socketDescriptor else { return false }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { return false }
        return error == ECONNRESET || error == EPIPE
    }

    /// Whether the peer has sent bytes this side has not read yet (they wait in the kernel
    /// while the loop is busy elsewhere).
    var hasUnreadBytes: Bool {
        guard let fd = socketDescriptor else { return false }
        var count: Int32 = 0
        return ioctl(fd, UInt(FIONREAD), &count) == 0 && count > 0
    }

    /// The open socket's descriptor, for asking the kernel what libuv does not say.
    private var socketDescriptor: uv_os_fd_t? {
        var fd: uv_os_fd_t = -1
        guard !isClosed, uv_fileno(uvHandle(stream), &fd) == 0 else { return nil }
        return fd
    }

    /// Starts a client's TLS handshake; `established` runs once it is done.
    func startTLS(established: @escaping () -> Void) {
        guard let tls else { return established() }
        tls.onEstablished = established
        do { try tls.start() } catch { return close(because: error.description) }
        moveTLSOutput()
    }

    deinit { writeRequest.deallocate() }

    /// The peer's address for logs: `ip:port`, or `unix` for a Unix socket.
    public var peer: String {
        guard !isUnixSocket else { return "unix" }
        let tcp = UnsafeMutableRawPointer(stream).assumingMemoryBound(to: uv_tcp_t.self)
        return SocketAddress.of(tcp, peer: true)?.description ?? "?"
    }

    /// Bytes accepted by `write` that have not yet left the process.
    public var pendingOutput: Int { outbox.count + inFlightCount }

    func startReading() {
        uv_read_start(stream, { _, _, buf in
            buf!.pointee = uv_buf_init(ConnectionHub.readBuffer, UInt32(ConnectionHub.readBufferSize))
        }, { s, n, _ in owner(s!.pointee.data, as: Connection.self)?.didRead(n) })
    }

    private func didRead(_ n: Int) {
        if n > 0 {
            let bytes = UnsafeRawBufferPointer(start: ConnectionHub.readBuffer, count: n)
            guard let tls else { return delegate?.connection(self, received: bytes) ?? () }
            let open: Bool
            do {
                open = try tls.receive(bytes) { plain in
                    if !isClosed { delegate?.connection(self, received: plain) }
                }
            } catch {
                // The alert that says why (e.g. protocol_version) goes out before the close.
                tls.takeOutput(into: &outbox)
                writeWhatFits()
                return close(because: error.description)
            }
            moveTLSOutput()
            if !open && !isClosed { reachedEnd() }
        } else if n == Int(UV_EOF.rawValue) {
            reachedEnd()
        } else if n < 0 {
            close(because: uvErrorName(Int32(n)))
        }
    }

    private func reachedEnd() {
        uv_read_stop(stream)
        delegate?.connectionReachedEnd(self)
    }

    public func pauseReading() {
        guard !readingPaused, !isClosed else { return }
        readingPaused = true
        uv_read_stop(stream)
    }

    public func resumeReading() {
        guard readingPaused, !isClosed else { return }
        readingPaused = false
        startReading()
    }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed else { return }
        guard let tls else {
            outbox.append(contentsOf: bytes)
            return scheduleFlush()
        }
        do { try tls.send(bytes) } catch { return close(because: error.description) }
        moveTLSOutput()
    }

    /// Queues the ciphertext TLS has produced (handshake messages, encrypted writes).
    private func moveTLSOutput() {
        guard let tls, !isClosed else { return }
        let before = outbox.count
        tls.takeOutput(into: &outbox)
        if outbox.count > before { scheduleFlush() }
    }

    private func scheduleFlush() {
        guard let hub else { return flush() }
        if !queuedForFlush {
            queuedForFlush = true
            hub.needsFlush(self)
        }
    }

    func flush() {
        queuedForFlush = false
        guard !isClosed, inFlight == nil, !outbox.isEmpty else { return }
        let total = outbox.count
        let sent: Int32 = outbox.withUnsafeMutableBytes { b in
            var buf = uv_buf_init(b.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(b.count))
            return uv_try_write(stream, &buf, 1)
        }
        if sent == Int32(total) {
            emptyOutbox()
            delegate?.connectionDrained(self)
            return
        }
        if sent < 0 && sent != UV_EAGAIN.rawValue && sent != UV_ENOSYS.rawValue {
            close(because: uvErrorName(sent))
            return
        }
        let done = max(Int(sent), 0)
        let rest = total - done
        let copy = UnsafeMutableRawPointer.allocate(byteCount: rest, alignment: 1)
        outbox.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress! + done, byteCount: rest) }
        emptyOutbox()
        inFlight = copy
        inFlightCount = rest
        var buf = uv_buf_init(copy.assumingMemoryBound(to: CChar.self), UInt32(rest))
        writeRequest.pointee.data = Unmanaged.passRetained(self).toOpaque()
        let rc = uv_write(writeRequest, stream, &buf, 1) { req, status in
            let c = Unmanaged<Connection>.fromOpaque(req!.pointee.data).takeRetainedValue()
            c.didWrite(status)
        }
        if rc != 0 {
            Unmanaged<Connection>.fromOpaque(writeRequest.pointee.data).release()
            releaseInFlight()
            close()
        }
    }

    /// A small buffer stays for the next replies; a large one (a big batch, `ping`'s limits) is
    /// freed, so an idle connection holds no more than `keptOutboxBytes`.
    private func emptyOutbox() {
        outbox.removeAll(keepingCapacity: outbox.capacity <= Connection.keptOutboxBytes)
    }

    static let keptOutboxBytes = 512

    private func didWrite(_ status: Int32) {
        releaseInFlight()
        if status != 0 { close(because: uvErrorName(status)); return }
        if outbox.isEmpty {
            delegate?.connectionDrained(self)
        } else {
            flush()
        }
    }

    private func releaseInFlight() {
        inFlight?.deallocate()
        inFlight = nil
        inFlightCount = 0
    }

    public func close() {
        guard !isClosed else { return }
        if closeReason == nil { sayGoodbye() }
        isClosed = true
        outbox = []
        closeAndFree(stream)
        hub?.remove(self)
        delegate?.connectionClosed(self)
    }

    /// A TLS peer is told the session ends (close_notify), so it can tell the end from a cut
    /// connection. Best effort: only when nothing else is waiting to be written.
    private func sayGoodbye() {
        guard let tls, tls.isEstablished, outbox.isEmpty, inFlight == nil else { return }
        tls.shutdown()
        tls.takeOutput(into: &outbox)
        writeWhatFits()
    }

    /// Writes what the socket takes now, without waiting: for last words before a close.
    private func writeWhatFits() {
        guard !outbox.isEmpty, inFlight == nil else { return }
        outbox.withUnsafeMutableBytes { b in
            var buf = uv_buf_init(b.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(b.count))
            _ = uv_try_write(stream, &buf, 1)
        }
    }

    public func close(because reason: String) {
        if closeReason == nil { closeReason = reason }
        close()
    }
}

/// Owns every open connection: keeps them alive, flushes the ones with output once per loop turn.
public final class ConnectionHub {
    static let readBufferSize = 64 * 1024
    nonisolated(unsafe) static let readBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: readBufferSize)

    private var open: [UInt64: Connection] = [:]
    private var dirty: [Connection] = []
    private var nextID: UInt64 = 1

    public init(loop: EventLoop) {
        loop.onEachTurn { [unowned self] in self.flushAll() }
    }

    public var count: Int { open.count }
    public var all: Dictionary<UInt64, Connection>.Values { open.values }

    func adopt(stream: UnsafeMutablePointer<uv_stream_t>, isUnixSocket: Bool, tls: TLSChannel?) -> Connection {
        let c = Connection(stream: stream, isUnixSocket: isUnixSocket, hub: self, id: nextID, tls: tls)
        nextID += 1
        open[c.id] = c
        return c
    }

    func needsFlush(_ c: Connection) { dirty.append(c) }

    func remove(_ c: Connection) { open[c.id] = nil }

    private func flushAll() {
        while !dirty.isEmpty {
            let batch = dirty
            dirty.removeAll(keepingCapacity: true)
            for c in batch { c.flush() }
        }
    }
}
