/// The gateway's Redis: a command connection that pipelines batches of ops (one script call
/// each, see `ScriptBatch`), and a second connection subscribed to the wake-up channels.
/// Requests are refused (UNAVAILABLE) until the scripts are loaded, so no op ever runs against
/// a half-prepared connection. Calls go to the scripts' function library where Redis has it,
/// else to the plain script (see `CombinedScripts`).
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
    /// Whether Redis holds the function library: calls are `FCALL`s, else `EVALSHA`s.
    private var functionsLoaded = false
    /// Why the library could not be loaded (nil: it is loaded), and what was last said of it.
    private var functionsProblem: String?
    private var functionsProblemSaid: String?
    private var batch = ScriptBatch()
    private let commandTimeoutMs: UInt64
    private lazy var watchdog = LoopTimer(loop) { [unowned self] in self.checkTimeouts() }

    /// Replicas that must confirm each write (WAIT) before it is acknowledged; 0 = don't wait.
    private let waitReplicas: Int
    private let waitTimeoutMs: Int

    /// The scripts, and the commands that load them.
    let scripts: CombinedScripts
    private let loadPlain: RESPCommand
    private let loadLibrary: RESPCommand

    /// `scripts` are every script an op may run; `tls` is the context for `endpoint.tls` (nil
    /// without TLS).
    public init(loop: EventLoop, endpoint: RedisEndpoint, scripts: [Script], tls: TLSContext? = nil,
                commandTimeoutMs: UInt64 = 10_000, waitReplicas: Int = 0, waitTimeoutMs: Int = 1000) {
        self.scripts = CombinedScripts(scripts)
        loadPlain = RedisStore.load("SCRIPT", self.scripts.plain)
        loadLibrary = RedisStore.load("FUNCTION", self.scripts.library)
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
        loadFunctions()
        commands.send(loadPlain) { [unowned self] reply in
            guard !failed else { return }
            guard let reply, !reply.isError else {
                let problem = reply.map { RedisProblem($0.string.hasPrefix("NOPERM") ? .refused : .unreachable, "SCRIPT LOAD failed: \($0.string)") }
                return self.commands.disconnect(problem ?? RedisProblem(.unreachable, "connection lost during SCRIPT LOAD"))
            }
            guard checks == 0 else { return }
            self.reportFunctions()
            self.sha = Array(reply.bytes)
            self.isReady = true
            self.onStateChange?(nil)
            self.onQueueReady?(nil)
        }
    }

    /// `FUNCTION LOAD` of the library. Without it (Redis before 7.0, a user not allowed
    /// FUNCTION) jobgate works the same, through the plain script, at about 8 µs more Redis
    /// time per script call: said once per change.
    private func loadFunctions() {
        commands.send(loadLibrary) { [unowned self] reply in
            guard let reply else { return }
            // A library of the same name has the same text: another gateway of this version loaded it.
            self.functionsProblem = reply.isError && !reply.string.contains("already exists") ? reply.string : nil
            self.functionsLoaded = self.functionsProblem == nil
            // While connecting, said once the plain script is in (a user refused both hears of that only).
            if self.isReady { self.reportFunctions() }
        }
    }

    private func reportFunctions() {
        guard functionsProblem != functionsProblemSaid else { return }
        if let problem = functionsProblem {
            Log.warn("Redis functions are not available, so each script call sets the scripts up again (about 8 µs more Redis time per call); Redis 7 with FUNCTION and FCALL allowed avoids it",
                     ["error": problem])
        } else {
            Log.info("Redis functions are available again", ["library": scripts.name])
        }
        functionsProblemSaid = functionsProblem
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
        // A heartbeat and writes go in separate calls (see Script.Access); batches leave in
        // order, so ops still run in the order they came.
        if let access = batch.access, access.joined(script.access) == nil { flush() }
        batch.add(script, argCount: argCount, build: build, done: done)
        if batch.isFull { flush() }
    }

    /// Sends the ops gathered so far as one script call and hands each its own reply.
    private func flush() {
        guard !batch.isEmpty else { return }
        let ops = batch.take()
        guard isReady, sha != nil else { return ops.fail(RedisStore.notConnected) }
        scriptCalls += 1
        scriptOps += ops.handlers.count
        let access = ops.access ?? .writes
        if waitReplicas > 0 && ops.writes {
            runReplicated(ops.args, access, ops.deliver)
        } else if functionsLoaded {
            callFunction(ops.args, access, ops.deliver)
        } else {
            callPlain(ops.args, writes: ops.writes, ops.deliver)
        }
    }

    typealias ScriptDone = (Result<RedisReply, OpError>) -> Void

    /// A library that is gone (FUNCTION FLUSH, a Redis restarted empty) is loaded again, and
    /// the call runs as the plain script meanwhile; one the user may no longer call (its FCALL
    /// grant revoked) leaves calls to the plain script until the next connect. A full Redis
    /// refuses a call of writes whole.
    private func callFunction(_ args: RESPArgs, _ access: Script.Access, _ done: @escaping ScriptDone) {
        send(scriptCall(args, access), writes: access == .writes, done) { [unowned self] error in
            if RedisStore.isFunctionGone(error) {
                self.loadFunctions()
            } else if error.hasPrefix("NOPERM") && error.contains("'fcall'") {
                self.functionsLoaded = false
                self.functionsProblem = error
                self.reportFunctions()
            } else {
                return false
            }
            self.callPlain(args, writes: access != .reads, done)
            return true
        }
    }

    private func callPlain(_ args: RESPArgs, writes: Bool, _ done: @escaping ScriptDone) {
        send(scriptCall(args, nil), writes: writes, done) { [unowned self] error in
            guard error.hasPrefix("NOSCRIPT") else { return false }
            // Someone ran SCRIPT FLUSH: run this once as EVAL and reload for the rest.
            self.send(RedisStore.scriptCall("EVAL", self.scripts.plain, args), writes: writes, done) { _ in false }
            self.commands.send(self.loadPlain) { _ in }
            return true
        }
    }

    /// Sends a script call and hands `done` its reply, unless `retried` takes the error on.
    /// Whether a call of `writes` went through tells whether Redis is full.
    private func send(_ cmd: RESPCommand, writes: Bool, _ done: @escaping ScriptDone, retried: @escaping (String) -> Bool) {
        let sent = commands.send(cmd) { [unowned self] reply in
            guard let reply else { return done(.failure(RedisStore.lost)) }
            if writes { self.noteFull(reply.isError && reply.string.hasPrefix("OOM")) }
            guard reply.isError else { return done(.success(reply)) }
            if retried(reply.string) { return }
            if reply.string.hasPrefix("NOPERM") && reply.string != self.refusalSaid {
                // Once per message: a grant revoked while serving fails every request alike.
                self.refusalSaid = reply.string
                Log.error("the Redis user may no longer run what jobgate needs; every request fails until it is granted again",
                          ["error": reply.string])
            }
            if reply.string.hasPrefix("READONLY") {
                // A primary demoted by a failover: reconnect, and with Sentinel find the new one.
                self.commands.disconnect("Redis is now a read-only replica (failover)")
            }
            done(.failure(RedisStore.opError(reply.string)))
        }
        if !sent { done(.failure(RedisStore.notConnected)) }
    }

    private static func isFunctionGone(_ error: String) -> Bool { error.hasPrefix("ERR Function not found") }

    private var refusalSaid: String?

    /// Whether Redis last refused a call because it is full: said once when it starts and once
    /// when a call goes through again, not once per refused request.
    private var full = false

    private func noteFull(_ refused: Bool) {
        guard refused != full else { return }
        full = refused
        if refused {
            Log.warn("Redis is full (maxmemory): writes are refused until it has room; reads and heartbeats go on")
        } else {
            Log.info("Redis takes writes again")
        }
    }

    /// Sends the script, then WAIT: the op is answered only once enough replicas have its
    /// writes, so a failover cannot lose what was acknowledged.
    private func runReplicated(_ args: RESPArgs, _ access: Script.Access, _ done: @escaping ScriptDone) {
        var scriptReply: RetainedReply?
        var lost = false
        let sent = commands.send(scriptCall(args, functionsLoaded ? access : nil)) { reply in
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
                let flushed = reply.string.hasPrefix("NOSCRIPT") || RedisStore.isFunctionGone(reply.string)
                if flushed {
                    self.loadFunctions()
                    self.commands.send(self.loadPlain) { _ in }
                }
                return done(.failure(RedisStore.opError(flushed ? "TRYAGAIN scripts were flushed" : reply.string)))
            }
            guard !acks.isError, acks.integer >= self.waitReplicas else {
                return done(.failure(OpError(.unavailable, "written on the primary but confirmed by \(acks.isError ? 0 : acks.integer) of \(self.waitReplicas) replicas in \(self.waitTimeoutMs) ms; a failover now could lose it")))
            }
            withExtendedLifetime(scriptReply) { done(.success(reply)) }
        }
    }

    /// `FCALL function 0 args...` (the library's function for `access`), or without one
    /// `EVALSHA sha 0 args...`: no KEYS, the batch as ARGV.
    private func scriptCall(_ args: RESPArgs, _ access: Script.Access?) -> RESPCommand {
        guard let access else { return RedisStore.scriptCall("EVALSHA", sha ?? [], args) }
        return RedisStore.scriptCall("FCALL", scripts.functionNames[access] ?? [], args)
    }

    private static func scriptCall(_ command: StaticString, _ script: [UInt8], _ args: RESPArgs) -> RESPCommand {
        var cmd = RESPCommand(argCount: 3 + args.count, capacity: script.count + args.bytes.count + 64)
        cmd.arg(command)
        cmd.arg(script)
        cmd.arg("0")
        cmd.append(args)
        return cmd
    }

    /// `SCRIPT LOAD text` or `FUNCTION LOAD text`.
    private static func load(_ command: StaticString, _ text: [UInt8]) -> RESPCommand {
        var load = RESPCommand(argCount: 3, capacity: text.count + 64)
        load.arg(command)
        load.arg("LOAD")
        load.arg(text)
        return load
    }

    /// A Redis that stops answering (SIGSTOP, a slow disk, a network hole) must not hang
    /// clients. With Sentinel, the sentinels are asked each second whether the primary is still
    /// the one in use: after a failover the old primary takes writes until the sentinels demote
    /// it (up to 10 s later), and those writes vanish when it becomes a replica. A function
    /// library Redis was too full to load is tried again.
    private func checkTimeouts() {
        if commands.silentMs > commandTimeoutMs {
            commands.disconnect("Redis sent nothing for \(commandTimeoutMs) ms while commands waited; reconnecting")
        }
        // A Redis that was full when the library was loaded may have room now.
        if isReady && functionsProblem?.hasPrefix("OOM") == true { loadFunctions() }
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
    static let lost = OpError(.unavailable, "the connection to Redis was lost, or Redis stopped answering, before it answered; the request may or may not have taken effect")

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
