
public struct GatewayConfig: Sendable {
    public var session = SessionLimits()
    /// Jobs in one batch enqueue.
    public var maxBatch = 10_000
    /// Longest `wait` a lease may block, in seconds.
    public var maxWait = 60.0
    /// Largest `count` for one lease.
    public var maxLeaseCount = 1000
    /// Longest error text kept from `fail`, in bytes (the tail is kept: it names the error).
    public var maxErrorText = 64 * 1024
    public var sweepIntervalMs: UInt64 = 250
    /// Jobs one sweep moves per queue and kind before it runs again.
    public var sweepLimit = 1000
    /// Owner name written to `rq:scheduler-lock:<q>` while a sweep promotes that queue.
    public var schedulerLockOwner = "jobgate"
    /// TCP clients must `auth` with this token first; nil lets everyone in.
    public var token: [UInt8]? = nil
    /// Open connections beyond this are answered OVERLOADED and closed.
    public var maxConnections = 10_000

    public init() {}
}

public let jobgateVersion = "0.1.0"

/// Joins the line protocol to the store. Each request goes through the op table (Ops.swift) to
/// its op's file, which decodes it, runs its script and writes the reply; this file holds the
/// connections and the dispatch.
public final class Gateway: RequestHandler {
    let loop: EventLoop
    let store: RedisStore
    let config: GatewayConfig
    let zlib = Zlib()
    var ids = Identifiers()
    lazy var waiters = LeaseWaiters(gateway: self)
    lazy var results = ResultWaiters(gateway: self)
    private(set) var sessions: [UInt64: Session] = [:]
    var counters = Counters()
    private var internalErrors = InternalErrorLog()
    lazy var loginThrottle = LoginThrottle(loop: loop)
    lazy var lostLeases = LostLeases(gateway: self)
    let startedMs: UInt64

    public init(loop: EventLoop, store: RedisStore, config: GatewayConfig) {
        self.loop = loop
        self.store = store
        self.config = config
        startedMs = loop.nowMs
        store.onQueueReady = { [unowned self] queue in self.waiters.queueReady(queue) }
        store.onJobDone = { [unowned self] id in self.results.jobDone(id) }
        store.onWorkerCommand = { [unowned self] worker, payload in self.workerCommand(worker, payload) }
    }

    public func accept(_ connection: Connection) {
        let session = Session(connection: connection, handler: self, limits: config.session)
        // Unix sockets are guarded by their file mode, so they are trusted without a token.
        session.authenticated = config.token == nil || connection.isUnixSocket
        sessions[connection.id] = session
        counters.connectionsAccepted += 1
        Log.debug("connection opened", ["id": connection.id, "peer": connection.peer])
        if sessions.count > config.maxConnections {
            counters.refusedConnections += 1
            session.refuse(OpError(.overloaded, "too many connections (--max-connections \(config.maxConnections)); try again later"))
        }
    }

    public var openSessions: Dictionary<UInt64, Session>.Values { sessions.values }
    var sessionCount: Int { sessions.count }

    public func sessionClosed(_ session: Session) {
        sessions[session.connection.id] = nil
        // Its waiting requests can no longer be answered: they stop waiting now.
        waiters.sessionClosed(session)
        results.sessionClosed(session)
        Log.debug("connection closed", ["id": session.connection.id])
    }

    public var nowMs: UInt64 { loop.nowMs }

    public func after(ms: UInt64, _ body: @escaping () -> Void) {
        var timer: LoopTimer?
        timer = LoopTimer(loop) {
            body()
            timer = nil  // the closure holds the timer until it has fired
        }
        timer?.start(afterMs: ms)
    }

    public func replied(slot: Int, startedNs: UInt64, error: OpError?) {
        counters.observe(slot, seconds: Double(loop.preciseNs - startedNs) / 1e9)
        guard let error else { return }
        counters.errors += 1
        if error.code == .internal { internalErrors.report(error, op: Counters.opNames[slot], nowMs: loop.nowMs) }
    }

    /// Parse, reject with one uniform reply, act: beanstalkd's dispatch_cmd over the op table.
    public func handle(_ request: inout Request, reply: ReplyTicket) {
        guard let name = request.op else {
            refuse(request.opProblem, op: nil, reply)
            return
        }
        let slot = Gateway.opSlots[name] ?? Counters.opNames.count - 1
        counters.count(slot)
        var reply = reply
        reply.timing = (slot, loop.preciseNs)
        do throws(OpError) {
            guard slot < Gateway.ops.count else { throw OpError(.unknownOp, "unknown op '\(name)'") }
            let op = Gateway.ops[slot]
            guard op.beforeAuth || reply.session.authenticated else {
                throw OpError(.unauthorized, "send {\"op\":\"auth\",\"token\":...} first")
            }
            if op.bulky { reply.markBulky() }
            try op.handle(self, &request, reply)
        } catch {
            refuse(error, op: name, reply)
        }
    }

    /// Answers a request the gateway would not run, and says why in the debug log (never the
    /// request itself: it may hold a token or a payload).
    private func refuse(_ error: OpError, op: String?, _ reply: ReplyTicket) {
        Log.debug("request refused", ["id": reply.session.connection.id, "peer": reply.session.connection.peer,
                                      "op": op ?? "", "code": error.code.rawValue, "error": error.message])
        reply.fail(error)
    }

    /// Answers every waiting lease and result request now, so a shutdown leaves nothing blocked.
    public func stopWaiting() {
        waiters.finishAll()
        results.finishAll()
    }
}
