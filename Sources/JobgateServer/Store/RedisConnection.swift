@preconcurrency import CHiredis
@preconcurrency import Glibc

/// One connection to Redis on the gateway's loop. The bytes travel through the loop's own
/// `Connection` (TCP, Unix socket or TLS alike); hiredis only parses the replies. Replies arrive
/// in command order, so handlers wait in a FIFO. A connection counts as connected once it is
/// logged in (`AUTH`) and on its database (`SELECT`). On a lost connection every waiting handler
/// gets `nil`, then it retries with backoff.
public final class RedisConnection: ConnectionDelegate {
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
    /// Runs when an established connection is lost, or a connect attempt fails.
    public var onLost: ((RedisProblem) -> Void)?

    private let loop: EventLoop
    private let tlsContext: TLSContext?
    private var stream: Connection?
    private var reader: UnsafeMutablePointer<redisReader>?
    private let replies = ReplyArena()
    private var handlers = HandlerQueue()
    private var messageHandler: ((RedisReply) -> Void)?
    private lazy var retryTimer = LoopTimer(loop) { [unowned self] in self.connect() }
    private lazy var connectTimer = LoopTimer(loop) { [unowned self] in
        self.end(RedisProblem(.unreachable, "no answer to the login in \(RedisConnection.connectTimeoutMs) ms"))
    }
    private var backoffMs: UInt64 = 50
    private var sentAt = Ring<UInt64>()
    private var lastHeardMs: UInt64 = 0

    static let connectTimeoutMs: UInt64 = 5000

    /// `tls` is the context for `endpoint.tls` (shared by a gateway's connections).
    public init(loop: EventLoop, endpoint: RedisEndpoint, tls: TLSContext?) {
        self.loop = loop
        self.endpoint = endpoint
        tlsContext = tls
    }

    deinit { if let reader { redisReaderFree(reader) } }

    static let readerBufferKept = 1 << 20

    /// Commands sent and not yet answered.
    public var inFlight: Int { handlers.count }

    /// Milliseconds Redis has sent nothing while a command waited for its answer (0 when none
    /// waits). Not the oldest command's age: a Redis streaming a long pipeline of large
    /// replies is slow to answer the last, but it is not stalled. Nor is one whose answer
    /// waits unread while the gateway was busy with the ones before.
    public var silentMs: UInt64 {
        guard let sent = sentAt.first, stream?.hasUnreadBytes != true else { return 0 }
        return loop.nowMs - max(sent, lastHeardMs)
    }

    public func connect() {
        guard state == .disconnected else { return }
        state = .connecting
        connectTimer.start(afterMs: RedisConnection.connectTimeoutMs)
        switch endpoint.server {
        case .tcp(let address):
            open(.tcp(address), endpoint)
        case .unix(let path):
            open(.unix(path: path), endpoint)
        case .sentinel(let nodes, let master):
            SentinelLookup(loop: loop, nodes: nodes, master: master, endpoint: endpoint, tls: tlsContext) { [weak self] result in
                guard let self, self.state == .connecting else { return }
                switch result {
                case .success(let primary): self.open(.tcp(primary), self.endpoint.at(primary, credentials: self.endpoint.credentials, db: self.endpoint.db))
                case .failure(let problem): self.end(problem)
                }
            }.start()
        }
    }

    private func open(_ target: DialTarget, _ login: RedisEndpoint) {
        connectedTo = target.description
        Dialer(loop: loop, target: target, tls: login.tls == nil ? nil : tlsContext, peerName: login.tls?.serverName,
               timeoutMs: RedisConnection.connectTimeoutMs) { [weak self] result in
            guard let self, self.state == .connecting else {
                if case .success(let c) = result { c.close() }
                return
            }
            switch result {
            case .failure(let error): self.end(RedisProblem(dialError: error.reason))
            case .success(let connection): self.logIn(connection, login)
            }
        }.start()
    }

    /// AUTH and SELECT go first, pipelined; the connection is usable once both have answered.
    private func logIn(_ connection: Connection, _ login: RedisEndpoint) {
        stream = connection
        connection.delegate = self
        reader = replies.makeReader()
        // hiredis frees its buffer whenever it empties above 16 KiB, and a read of a busy
        // connection's replies is larger: it would free and grow it again on every read.
        reader?.pointee.maxbuf = RedisConnection.readerBufferKept
        var steps = 0
        var failed = false
        let stepDone: Handler = { [unowned self] reply in
            guard !failed else { return }
            guard let reply, !reply.isError else {
                failed = true
                return self.end(reply.map { RedisProblem(loginError: $0.string, toSentinel: self.isSentinel) }
                                ?? RedisProblem(.unreachable, "connection lost while logging in"))
            }
            steps -= 1
            if steps == 0 { self.established() }
        }
        var hello: [RESPCommand] = []
        if let credentials = login.credentials, let password = credentials.password {
            var auth = RESPCommand(argCount: credentials.user == nil ? 2 : 3)
            auth.arg("AUTH")
            if let user = credentials.user { auth.arg(user) }
            auth.arg(password)
            hello.append(auth)
        }
        if login.db != 0 {
            var select = RESPCommand(argCount: 2)
            select.arg("SELECT")
            select.arg(login.db)
            hello.append(select)
        }
        // Without a login, PING finds out whether Redis wants one (NOAUTH) before any real work.
        if hello.isEmpty {
            var ping = RESPCommand(argCount: 1)
            ping.arg("PING")
            hello.append(ping)
        }
        steps = hello.count
        for command in hello { write(command, stepDone) }
    }

    private func established() {
        connectTimer.stop()
        state = .connected
        backoffMs = 50
        onConnect?()
    }

    /// Drops the connection (handlers still waiting get `nil`) and, unless told otherwise,
    /// tries again after a backoff.
    private func end(_ problem: RedisProblem) {
        guard state != .disconnected else { return }
        state = .disconnected
        connectTimer.stop()
        if let stream {
            self.stream = nil
            stream.delegate = nil
            stream.close()
        }
        if let reader {
            redisReaderFree(reader)
            self.reader = nil
        }
        messageHandler = nil
        handlers.failAll()
        sentAt.removeAll()
        onLost?(problem)
        guard reconnects else { return }
        retryTimer.start(afterMs: backoffMs)
        backoffMs = min(backoffMs * 2, 2000)
    }

    /// Sends a command; false (and the handler is not called) when not connected.
    @discardableResult
    public func send(_ command: RESPCommand, _ handler: @escaping Handler) -> Bool {
        guard state == .connected else { return false }
        write(command, handler)
        return true
    }

    private func write(_ command: RESPCommand, _ handler: @escaping Handler) {
        guard let stream else { return handler(nil) }
        handlers.push(handler)
        sentAt.push(loop.nowMs)
        // Written at once, not at the end of the loop turn: Redis starts on this command while
        // the loop is still reading other clients' requests, so the two processes overlap.
        command.bytes.withUnsafeBytes { stream.write($0) }
    }

    /// Puts the connection in subscriber mode for `channels`; `onMessage` gets every reply from
    /// then on (confirmations, then messages).
    public func subscribe(_ channels: [String], patterns: [String], onMessage: @escaping (RedisReply) -> Void) -> Bool {
        guard state == .connected, let stream else { return false }
        messageHandler = onMessage
        for (command, names) in [("SUBSCRIBE", channels), ("PSUBSCRIBE", patterns)] where !names.isEmpty {
            stream.write(RESPCommand([command] + names).bytes)
        }
        return true
    }

    /// Drops the connection now, without waiting for replies still due (a Redis that stopped
    /// answering would never send them): waiting handlers get `nil`, then it reconnects.
    public func disconnect(_ reason: String = "closed by the gateway") {
        end(RedisProblem(.unreachable, reason))
    }

    public func disconnect(_ problem: RedisProblem) { end(problem) }

    /// This connection asks a sentinel, not the Redis that holds the data.
    public var isSentinel = false

    // MARK: the stream

    public func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {
        guard let reader else { return }
        lastHeardMs = loop.nowMs
        redisReaderFeed(reader, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        // A handler may end this connection (and free the reader): stop as soon as it does.
        while stream === connection, let reader = self.reader {
            var raw: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
                let why = withUnsafeBytes(of: reader.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                return end(RedisProblem(.unreachable, "unreadable reply from Redis: \(why)"))
            }
            guard let raw else { return }
            let reply = RedisReply(ptr: raw.assumingMemoryBound(to: redisReply.self))
            if let messageHandler {
                messageHandler(reply)
            } else if let handler = handlers.pop() {
                _ = sentAt.pop()
                handler(reply)
            }
            replies.reset()
        }
    }

    public func connectionReachedEnd(_ connection: Connection) {
        end(RedisProblem(.unreachable, "Redis closed the connection"))
    }

    public func connectionDrained(_ connection: Connection) {}

    public func connectionClosed(_ connection: Connection) {
        end(RedisProblem(dialError: connection.closeReason ?? "connection closed"))
    }
}

/// Why Redis cannot be used: what an operator must fix differs by kind, so logs say which.
public struct RedisProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Not reachable, or the connection broke: it may come back by itself.
        case unreachable
        /// Redis refused the login, or the user lacks a permission: it needs a configuration fix.
        case refused
    }

    public let kind: Kind
    public let message: String
    public var description: String { message }

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// Redis's answer to AUTH, SELECT or PING during login, in words an operator can act on.
    /// A sentinel's login is set apart from the primary's.
    init(loginError text: String, toSentinel: Bool = false) {
        let word = text.prefix { $0 != " " }
        switch word {
        case "WRONGPASS" where toSentinel:
            self.init(.refused, "the sentinel refused the user name or password (WRONGPASS); check --redis-sentinel-user and --redis-sentinel-password-file")
        case "NOAUTH" where toSentinel:
            self.init(.refused, "the sentinel requires a password (NOAUTH); give it with --redis-sentinel-password-file (and --redis-sentinel-user for an ACL user)")
        case "WRONGPASS":
            self.init(.refused, "Redis refused the user name or password (WRONGPASS); check the credentials in --redis or --redis-password-file")
        case "NOAUTH":
            self.init(.refused, "Redis requires a password (NOAUTH); give one in --redis (redis://USER:PASSWORD@HOST) or --redis-password-file")
        case "NOPERM":
            self.init(.refused, "the Redis user lacks a permission jobgate needs (NOPERM): \(text)")
        case "LOADING":
            self.init(.unreachable, "Redis is loading its data after a restart (LOADING); it answers once that is done")
        default:
            if text.contains("without any password configured") {
                self.init(.refused, "a password was given but Redis has none set for this user: \(text)")
            } else if text.contains("DB index is out of range") {
                self.init(.refused, "Redis has no such database: \(text)")
            } else {
                self.init(.refused, "Redis refused the login: \(text)")
            }
        }
    }
}

extension RedisProblem {
    /// A connection that could not be opened. TLS failures need the operator, so they name the
    /// setting to fix; the rest (refused, unreachable, timed out) may pass by themselves.
    init(dialError reason: String) {
        if reason.contains("hostname mismatch") || reason.contains("IP address mismatch") {
            self.init(.refused, "\(reason): Redis's certificate does not name the host in --redis; give the name it carries with --redis-tls-server-name")
        } else if reason.contains("certificate verify failed") {
            self.init(.refused, "\(reason): Redis's certificate is not signed by a CA jobgate trusts; give that CA with --redis-tls-ca")
        } else if reason.contains("certificate required") {
            self.init(.refused, "\(reason): Redis requires a client certificate; give --redis-tls-cert and --redis-tls-key")
        } else if reason.contains("wrong version number") || reason.contains("packet length too long") {
            self.init(.refused, "\(reason): the server does not speak TLS there; rediss:// needs Redis's tls-port")
        } else if reason.hasPrefix("TLS") {
            self.init(.refused, reason)
        } else {
            self.init(.unreachable, reason)
        }
    }
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
