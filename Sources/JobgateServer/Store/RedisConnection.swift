@preconcurrency import CHiredis
@preconcurrency import CLibUV
@preconcurrency import Glibc

/// One hiredis async connection driven by the gateway's libuv loop. Replies arrive in command
/// order, so handlers wait in a FIFO instead of travelling through hiredis as privdata. On a
/// lost connection every waiting handler gets `nil`, then the connection retries with backoff.
public final class RedisConnection {
    public typealias Handler = (RedisReply?) -> Void

    public enum State: String, Sendable { case disconnected, connecting, connected }

    public let endpoint: RedisEndpoint
    public private(set) var state: State = .disconnected
    /// Whether a lost connection is tried again (with backoff).
    public var reconnects = true
    /// The server actually connected to (differs from `endpoint` with Sentinel).
    public private(set) var connectedTo: String = ""
    /// Runs when a connection is established, before anyone else may use it.
    public var onConnect: (() -> Void)?
    /// Runs when an established connection is lost (or a connect attempt fails).
    public var onLost: ((String) -> Void)?

    private let loop: EventLoop
    private var context: UnsafeMutablePointer<redisAsyncContext>?
    private var handlers = HandlerQueue()
    private var messageHandler: ((RedisReply) -> Void)?
    private lazy var retryTimer = LoopTimer(loop) { [unowned self] in self.connect() }
    private var backoffMs: UInt64 = 50
    private var sentAt = Ring<UInt64>()
    /// Set while hiredis may still call back after `disconnect()`: the owner may already have
    /// dropped this connection, and hiredis's callbacks find it through a raw pointer.
    private var keepAliveUntilClosed: RedisConnection?
    /// Depth of hiredis callbacks running now. hiredis 0.14 frees a context whose write fails
    /// even from inside its own callbacks, and then goes on using it; so a command sent from a
    /// callback is written on the next writable event rather than at once.
    private var callbackDepth = 0

    public init(loop: EventLoop, endpoint: RedisEndpoint) {
        self.loop = loop
        self.endpoint = endpoint
    }

    /// Commands sent and not yet answered.
    public var inFlight: Int { handlers.count }

    /// Milliseconds the oldest unanswered command has waited (0 when none).
    public var oldestWaitMs: UInt64 {
        guard let t = sentAt.first else { return 0 }
        return loop.nowMs - t
    }

    public func connect() {
        guard state == .disconnected else { return }
        state = .connecting
        switch endpoint {
        case .tcp(let host, let port, _):
            open(tcp: HostPort(host: host, port: port))
        case .unix(let path, _):
            connectedTo = "unix://\(path)"
            attach(redisAsyncConnectUnix(path))
        case .sentinel(let nodes, let master, _):
            SentinelLookup(loop: loop, nodes: nodes, master: master) { [weak self] result in
                guard let self, self.state == .connecting else { return }
                switch result {
                case .success(let primary): self.open(tcp: primary)
                case .failure(let error): self.connectionEnded(error.reason)
                }
            }.start()
        }
    }

    private func open(tcp address: HostPort) {
        connectedTo = "redis://\(address)"
        attach(redisAsyncConnect(address.host, Int32(address.port)))
    }

    private func attach(_ ctx: UnsafeMutablePointer<redisAsyncContext>?) {
        guard let ctx, ctx.pointee.err == 0 else {
            let reason = ctx.map { errorText(UnsafePointer($0)) } ?? "out of memory"
            if let ctx { redisAsyncFree(ctx) }
            connectionEnded(reason)
            return
        }
        context = ctx
        ctx.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        RedisPollAdapter.attach(loop: loop, context: ctx)
        redisAsyncSetConnectCallback(ctx) { ac, status in
            guard let ac, let data = ac.pointee.data else { return }
            let me = Unmanaged<RedisConnection>.fromOpaque(data).takeUnretainedValue()
            if status == REDIS_OK {
                me.state = .connected
                me.backoffMs = 50
                me.insideCallback { me.onConnect?() }
            } else {
                me.context = nil  // hiredis frees it after this callback
                me.connectionEnded(errorText(ac))
                me.keepAliveUntilClosed = nil
            }
        }
        redisAsyncSetDisconnectCallback(ctx) { ac, status in
            guard let ac, let data = ac.pointee.data else { return }
            let me = Unmanaged<RedisConnection>.fromOpaque(data).takeUnretainedValue()
            me.context = nil
            me.connectionEnded(status == REDIS_OK ? "closed" : errorText(ac))
            me.keepAliveUntilClosed = nil
        }
    }

    private func connectionEnded(_ reason: String) {
        state = .disconnected
        handlers.failAll()
        sentAt.removeAll()
        onLost?(reason)
        guard reconnects else { return }
        retryTimer.start(afterMs: backoffMs)
        backoffMs = min(backoffMs * 2, 2000)
    }

    /// Sends a command; false (and the handler is not called) when not connected.
    @discardableResult
    public func send(_ command: RESPCommand, _ handler: @escaping Handler) -> Bool {
        guard state == .connected, let ctx = context else { return false }
        let bytes = command.terminated  // hiredis is given the length without the NUL
        let adapter = RedisPollAdapter.of(ctx)
        adapter?.holdChanges()
        defer { adapter?.applyHeldChanges() }
        let rc = bytes.withUnsafeBytes { b in
            redisAsyncFormattedCommand(ctx, RedisConnection.replyCallback, nil,
                                       b.baseAddress!.assumingMemoryBound(to: CChar.self), b.count - 1)
        }
        guard rc == REDIS_OK else { return false }
        handlers.push(handler)
        sentAt.push(loop.nowMs)
        // Write now instead of on the next writable event: Redis starts on this command while
        // the loop is still reading other clients' requests, so the two processes overlap.
        if callbackDepth == 0 { redisAsyncHandleWrite(ctx) }
        return true
    }

    /// Puts the connection in subscriber mode for `channels`; `onMessage` gets each message reply.
    public func subscribe(_ channels: [String], onMessage: @escaping (RedisReply) -> Void) -> Bool {
        guard state == .connected, let ctx = context else { return false }
        messageHandler = onMessage
        var cmd = RESPCommand(argCount: 1 + channels.count)
        cmd.arg("SUBSCRIBE")
        for channel in channels { cmd.arg(channel) }
        let rc = cmd.terminated.withUnsafeBytes { b in
            redisAsyncFormattedCommand(ctx, RedisConnection.messageCallback, nil,
                                       b.baseAddress!.assumingMemoryBound(to: CChar.self), b.count - 1)
        }
        return rc == REDIS_OK
    }

    private func insideCallback(_ body: () -> Void) {
        callbackDepth += 1
        defer { callbackDepth -= 1 }
        body()
    }

    /// Closes the connection once the replies still due have arrived; handlers get `nil`
    /// for anything after that, then it reconnects. Safe inside a hiredis callback.
    public func disconnect() {
        guard let ctx = context else { return }
        keepAliveUntilClosed = self
        redisAsyncDisconnect(ctx)
    }

    /// Drops the connection now, without waiting for replies still due (a Redis that stopped
    /// answering would never send them): waiting handlers get `nil`, then it reconnects.
    /// Not from inside a hiredis callback, where freeing the context is not allowed.
    public func abort() {
        guard let ctx = context else { return }
        precondition(callbackDepth == 0, "abort() inside a hiredis callback")
        keepAliveUntilClosed = self
        redisAsyncFree(ctx)
    }

    private static let replyCallback: @convention(c) (UnsafeMutablePointer<redisAsyncContext>?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { ac, reply, _ in
        guard let ac, let data = ac.pointee.data else { return }
        let me = Unmanaged<RedisConnection>.fromOpaque(data).takeUnretainedValue()
        guard let handler = me.handlers.pop() else { return }
        _ = me.sentAt.pop()
        me.insideCallback { handler(reply.map { RedisReply(ptr: $0.assumingMemoryBound(to: redisReply.self)) }) }
    }

    private static let messageCallback: @convention(c) (UnsafeMutablePointer<redisAsyncContext>?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { ac, reply, _ in
        guard let ac, let data = ac.pointee.data, let reply else { return }
        let me = Unmanaged<RedisConnection>.fromOpaque(data).takeUnretainedValue()
        me.insideCallback { me.messageHandler?(RedisReply(ptr: reply.assumingMemoryBound(to: redisReply.self))) }
    }
}

private func errorText(_ ac: UnsafePointer<redisAsyncContext>) -> String {
    ac.pointee.errstr.map { String(cString: $0) } ?? "unknown error"
}

/// Reply handlers in send order; a lost connection calls each with `nil`, oldest first.
struct HandlerQueue {
    private var ring = Ring<RedisConnection.Handler>()
    var count: Int { ring.count }

    mutating func push(_ h: @escaping RedisConnection.Handler) { ring.push(h) }
    mutating func pop() -> RedisConnection.Handler? { ring.pop() }

    mutating func failAll() {
        while let h = ring.pop() { h(nil) }
    }
}
