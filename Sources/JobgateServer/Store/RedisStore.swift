/// The gateway's Redis: a command connection that pipelines batches of ops (one script call
/// each, see `ScriptBatch`), and a second connection subscribed to the wake-up channels.
/// Requests are refused (UNAVAILABLE) until the script is loaded, so no op ever runs against a
/// half-prepared connection.
public final class RedisStore {
    public static let readyChannel = "jobgate:ready"
    public static let doneChannel = "jobgate:done"

    public let endpoint: RedisEndpoint
    public private(set) var isReady = false
    /// A queue became non-empty somewhere (nil: messages may have been missed, check every queue).
    public var onQueueReady: ((String?) -> Void)?
    /// A job someone awaits reached a final state (nil: messages may have been missed).
    public var onJobDone: ((String?) -> Void)?
    /// A command RQ's tools sent to a worker: the worker's name and the JSON payload.
    public var onWorkerCommand: ((_ worker: String, _ payload: RedisReply) -> Void)?
    static let workerCommandPattern = "rq:pubsub:*"
    /// Redis became usable (nil), or stopped being so, or could not be reached (the problem).
    public var onStateChange: ((RedisProblem?) -> Void)?

    private let loop: EventLoop
    private let tls: TLSContext?
    private let commands: RedisConnection
    private let events: RedisConnection
    private var sha: [UInt8]?
    private var batch = ScriptBatch()
    private let commandTimeoutMs: UInt64
    private lazy var watchdog = LoopTimer(loop) { [unowned self] in self.checkTimeouts() }

    /// Replicas that must confirm each write (WAIT) before it is acknowledged; 0 = don't wait.
    private let waitReplicas: Int
    private let waitTimeoutMs: Int

    /// The combined script (see `Script.combined`), and `SCRIPT LOAD` of it.
    let source: [UInt8]
    private let loadCommand: RESPCommand

    /// `scripts` are every script an op may run; `tls` is the context for `endpoint.tls` (nil
    /// without TLS).
    public init(loop: EventLoop, endpoint: RedisEndpoint, scripts: [Script], tls: TLSContext? = nil,
                commandTimeoutMs: UInt64 = 10_000, waitReplicas: Int = 0, waitTimeoutMs: Int = 1000) {
        source = Script.combined(scripts)
        var load = RESPCommand(argCount: 3, capacity: source.count + 64)
        load.arg("SCRIPT")
        load.arg("LOAD")
        load.arg(source)
        loadCommand = load
        self.loop = loop
        self.endpoint = endpoint
        self.commandTimeoutMs = commandTimeoutMs
        self.waitReplicas = waitReplicas
        self.waitTimeoutMs = waitTimeoutMs
        self.tls = tls
        commands = RedisConnection(loop: loop, endpoint: endpoint, tls: tls)
        events = RedisConnection(loop: loop, endpoint: endpoint, tls: tls)
        commands.onConnect = { [unowned self] in self.prepare() }
        // Ops leave when the turn's I/O has been read, before replies are written to clients
        // (so Redis works while the gateway writes); anything queued later in the turn (by
        // timers, closing connections) leaves before the loop next sleeps.
        loop.onEachTurn(first: true) { [unowned self] in self.flush() }
        loop.beforeSleeping { [unowned self] in self.flush() }
        commands.onLost = { [unowned self] problem in
            self.isReady = false
            self.onStateChange?(problem)
            // Both connections must follow the same primary (Sentinel failover): look again.
            self.events.disconnect("the command connection was lost")
        }
        events.onConnect = { [unowned self] in
            var confirmed = 0
            let ok = self.events.subscribe([RedisStore.readyChannel, RedisStore.doneChannel],
                                           patterns: [RedisStore.workerCommandPattern]) { [unowned self] message in
                if message.isError {
                    guard confirmed >= 2 else {
                        // e.g. NOPERM for a user without jobgate's channels: the permission check
                        // on the command connection says so to the operator; this one tries again.
                        Log.debug("Redis refused the wake-up subscription", ["error": message.string])
                        return self.events.disconnect("subscription refused")
                    }
                    Log.warn("RQ's worker commands (stop-job, shutdown) are not heard: grant the Redis user &rq:pubsub:*",
                             ["error": message.string])
                    return
                }
                // ["message", channel, payload], ["pmessage", pattern, channel, payload];
                // confirmations are ["subscribe", channel, count].
                switch message[0].string {
                case "subscribe": confirmed += 1
                case "message" where message.count == 3:
                    if message[1].string == RedisStore.readyChannel {
                        self.onQueueReady?(message[2].string)
                    } else {
                        self.onJobDone?(message[2].string)
                    }
                case "pmessage" where message.count == 4:
                    self.onWorkerCommand?(String(message[2].string.dropFirst("rq:pubsub:".count)), message[3])
                default: break
                }
            }
            if ok {
                self.onQueueReady?(nil)
                self.onJobDone?(nil)
            }
        }
    }

    public func start() {
        commands.connect()
        events.connect()
        watchdog.start(afterMs: 1000, repeatMs: 1000)
        watchdog.unref()
    }

    public var state: String { isReady ? "ready" : commands.state == .connected ? "loading" : commands.state.rawValue }
    public var inFlight: Int { commands.inFlight }
    /// Script calls sent, and the ops they carried: their ratio is how well batching works.
    public private(set) var scriptCalls = 0
    public private(set) var scriptOps = 0

    /// Loads the script and checks, before any op runs, that the Redis user may do what the
    /// scripts do: touch jobgate's and RQ's keys and publish wake-ups. A user who may not is
    /// refused here, with the grant it lacks, rather than failing every op later.
    private func prepare() {
        checkEvictionPolicy()
        var failed = false
        var checks = RedisStore.permissionChecks.count
        for (command, grant) in RedisStore.permissionChecks {
            commands.send(command) { [unowned self] reply in
                guard !failed else { return }
                if let reply, reply.isError {
                    failed = true
                    return self.commands.disconnect(RedisProblem(.refused, "the Redis user may not \(grant.what) (\(reply.string)); grant it \(grant.acl)"))
                }
                checks -= 1
            }
        }
        commands.send(loadCommand) { [unowned self] reply in
            guard !failed else { return }
            guard let reply, !reply.isError else {
                let problem = reply.map { RedisProblem($0.string.hasPrefix("NOPERM") ? .refused : .unreachable, "SCRIPT LOAD failed: \($0.string)") }
                return self.commands.disconnect(problem ?? RedisProblem(.unreachable, "connection lost during SCRIPT LOAD"))
            }
            guard checks == 0 else { return }
            self.sha = Array(reply.bytes)
            self.isReady = true
            self.onStateChange?(nil)
            self.onQueueReady?(nil)
        }
    }

    /// Redis's `maxmemory-policy`, as of the last connect: "unknown" when Redis will not say
    /// (CONFIG is often renamed or forbidden on managed Redis).
    public private(set) var evictionPolicy = "unknown"

    /// Any policy but noeviction lets Redis delete keys when it is full: queued jobs among them,
    /// silently. Said once per connect; `ping` and `stats` show the policy.
    private func checkEvictionPolicy() {
        commands.send(RESPCommand(["CONFIG", "GET", "maxmemory-policy"])) { [unowned self] reply in
            guard let reply, !reply.isError, reply.count == 2 else {
                self.evictionPolicy = "unknown"
                return
            }
            self.evictionPolicy = reply[1].string
            if self.evictionPolicy != "noeviction" {
                Log.warn("Redis may evict keys when full, jobs among them; set maxmemory-policy noeviction",
                         ["maxmemory_policy": self.evictionPolicy])
            }
        }
    }

    /// Commands that fail for a user without a permission the scripts need, and that grant.
    private static let permissionChecks: [(RESPCommand, (what: String, acl: String))] = [
        (RESPCommand(["EXISTS", "rq:queues", "jobgate:paused"]), ("read RQ's and jobgate's keys", "~rq:* ~jobgate:*")),
        (RESPCommand(["PUBLISH", "jobgate:probe", ""]), ("publish wake-ups on jobgate:* channels", "&jobgate:*")),
    ]

    /// The server in use now (with Sentinel, the primary it named).
    public var connectedTo: String { commands.connectedTo }

    /// Runs `script` with the arguments `build` appends (it must append exactly `argCount`).
    /// The op joins the batch sent when the batch is full or this turn of the loop ends.
    /// `done` sees the op's reply, or the error the protocol reports, inside the reply
    /// callback.
    public func run(_ script: Script, argCount: Int,
                    build: (inout RESPArgs) -> Void,
                    done: @escaping (Result<RedisReply, OpError>) -> Void) {
        guard isReady else {
            done(.failure(RedisStore.notConnected))
            return
        }
        batch.add(script, argCount: argCount, build: build, done: done)
        if batch.isFull { flush() }
    }

    /// Sends the ops gathered so far as one script call and hands each its own reply.
    private func flush() {
        guard !batch.isEmpty else { return }
        let ops = batch.take()
        guard isReady, let sha else { return ops.fail(RedisStore.notConnected) }
        scriptCalls += 1
        scriptOps += ops.handlers.count
        let cmd = RedisStore.scriptCall("EVALSHA", sha, ops.args)
        let done = ops.deliver
        if waitReplicas > 0 && ops.writes {
            runReplicated(cmd, done)
            return
        }
        let sent = commands.send(cmd) { [unowned self] reply in
            guard let reply else { return done(.failure(RedisStore.lost)) }
            if reply.isError && reply.string.hasPrefix("NOSCRIPT") {
                // Someone ran SCRIPT FLUSH: run this once as EVAL and reload for the rest.
                self.resendAsEval(ops.args, done)
                return
            }
            if reply.isError && reply.string.hasPrefix("READONLY") {
                // A primary demoted by a failover: reconnect, and with Sentinel find the new one.
                self.commands.disconnect("Redis is now a read-only replica (failover)")
            }
            done(reply.isError ? .failure(RedisStore.opError(reply.string)) : .success(reply))
        }
        if !sent { done(.failure(RedisStore.notConnected)) }
    }

    /// Sends the script, then WAIT: the op is answered only once enough replicas have its
    /// writes, so a failover cannot lose what was acknowledged.
    private func runReplicated(_ cmd: RESPCommand, _ done: @escaping (Result<RedisReply, OpError>) -> Void) {
        var scriptReply: RetainedReply?
        var lost = false
        let sent = commands.send(cmd) { reply in
            if let reply { scriptReply = RetainedReply(copying: reply) } else { lost = true }
        }
        guard sent else { return done(.failure(RedisStore.notConnected)) }
        var wait = RESPCommand(argCount: 3)
        wait.arg("WAIT")
        wait.arg(waitReplicas)
        wait.arg(waitTimeoutMs)
        commands.send(wait) { [unowned self] acks in
            guard !lost, let acks, let scriptReply else { return done(.failure(RedisStore.lost)) }
            let reply = scriptReply.reply
            if reply.isError {
                if reply.string.hasPrefix("NOSCRIPT") { self.reloadScript() }
                return done(.failure(RedisStore.opError(reply.string.hasPrefix("NOSCRIPT") ? "TRYAGAIN scripts were flushed" : reply.string)))
            }
            guard !acks.isError, acks.integer >= self.waitReplicas else {
                return done(.failure(OpError(.unavailable, "written on the primary but confirmed by \(acks.isError ? 0 : acks.integer) of \(self.waitReplicas) replicas in \(self.waitTimeoutMs) ms; a failover now could lose it")))
            }
            withExtendedLifetime(scriptReply) { done(.success(reply)) }
        }
    }

    private func resendAsEval(_ args: RESPArgs, _ done: @escaping (Result<RedisReply, OpError>) -> Void) {
        let sent = commands.send(RedisStore.scriptCall("EVAL", source, args)) { reply in
            guard let reply else { return done(.failure(RedisStore.lost)) }
            done(reply.isError ? .failure(RedisStore.opError(reply.string)) : .success(reply))
        }
        if !sent { done(.failure(RedisStore.notConnected)) }
        reloadScript()
    }

    /// `EVALSHA sha 0 args...` or `EVAL source 0 args...`: no KEYS, the batch as ARGV.
    private static func scriptCall(_ command: StaticString, _ script: [UInt8], _ args: RESPArgs) -> RESPCommand {
        var cmd = RESPCommand(argCount: 3 + args.count, capacity: script.count + args.bytes.count + 64)
        cmd.arg(command)
        cmd.arg(script)
        cmd.arg("0")
        cmd.append(args)
        return cmd
    }

    private func reloadScript() {
        commands.send(loadCommand) { _ in }
    }

    /// A Redis that stops answering (SIGSTOP, a slow disk, a network hole) must not hang
    /// clients. With Sentinel, the sentinels are asked each second whether the primary is still
    /// the one in use: after a failover the old primary takes writes until the sentinels demote
    /// it (up to 10 s later), and those writes vanish when it becomes a replica.
    private func checkTimeouts() {
        if commands.oldestWaitMs > commandTimeoutMs {
            commands.disconnect("no reply from Redis in \(commandTimeoutMs) ms; reconnecting")
        }
        guard isReady, case .sentinel(let nodes, let master) = endpoint.server, !lookingUpPrimary else { return }
        lookingUpPrimary = true
        let inUse = commands.connectedTo
        SentinelLookup(loop: loop, nodes: nodes, master: master, endpoint: endpoint, tls: tls) { [weak self] result in
            guard let self else { return }
            self.lookingUpPrimary = false
            guard case .success(let primary) = result, primary.description != inUse, self.commands.connectedTo == inUse else {
                self.newPrimarySeen = nil
                return
            }
            // Named twice in a row: one sentinel still catching up with a failover could
            // otherwise send the gateway back and forth.
            if self.newPrimarySeen == primary.description {
                self.newPrimarySeen = nil
                self.commands.disconnect("the sentinels name a new primary, \(primary)")
            } else {
                self.newPrimarySeen = primary.description
            }
        }.start()
    }

    private var lookingUpPrimary = false
    private var newPrimarySeen: String?

    static let notConnected = OpError(.unavailable, "Redis is not connected; try again shortly")
    static let lost = OpError(.unavailable, "the connection to Redis was lost before it answered; the request may or may not have taken effect")

    /// Script errors carry a protocol code as their first word; Redis's own errors are mapped.
    static func opError(_ text: String) -> OpError {
        let word = text.prefix { $0 != " " }
        let rest = text.dropFirst(word.count).drop { $0 == " " }
        if let code = ErrorCode(rawValue: String(word)) { return OpError(code, String(rest)) }
        switch word {
        case "OOM":
            // Redis refuses a script before its first write, so nothing of the op was written.
            return OpError(.unavailable, "Redis is full (maxmemory reached) and wrote nothing; free memory or raise maxmemory, then retry. Redis: \(text)")
        case "LOADING", "BUSY", "READONLY", "MASTERDOWN", "NOREPLICAS", "TRYAGAIN", "MISCONF", "NOPERM", "NOAUTH":
            return OpError(.unavailable, "Redis: \(text)")
        default:
            return OpError(.internal, "Redis: \(text)")
        }
    }
}
