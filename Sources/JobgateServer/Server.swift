@preconcurrency import Glibc

public struct ServerConfig {
    public var listen: [ListenAddress] = [.tcp(host: "127.0.0.1", port: 7700)]
    public var redis: RedisEndpoint
    /// The context for `redis.tls` (nil without TLS to Redis).
    public var redisTLS: TLSContext? = nil
    /// The certificate and key of `tls://` listeners, read again on SIGHUP.
    public var tlsCertificateFile: String? = nil
    public var tlsKeyFile: String? = nil
    public var gateway = GatewayConfig()
    /// How long a graceful shutdown waits for in-flight replies before closing anyway.
    public var shutdownGraceMs: UInt64 = 10_000
    /// Where to serve Prometheus metrics (`GET /metrics`) alone, if anywhere.
    public var metrics: ListenAddress? = nil
    /// Where to serve the web console (with `/metrics` too), if anywhere.
    public var console: ConsoleSettings? = nil
    /// How long Redis may send nothing while commands wait before they fail and it is redialled.
    public var redisTimeoutMs = 10_000
    /// Replicas that must confirm each write before it is acknowledged (Redis WAIT); 0 = none.
    public var waitReplicas = 0
    public var waitTimeoutMs = 1000
    public var unixMode: mode_t = 0o660
    public var unixGroup: gid_t? = nil
    /// `schedule` request lines from the config file, stored once Redis answers.
    public var schedules: [DeclaredSchedule] = []

    public init(redis: RedisEndpoint) { self.redis = redis }
}

/// A whole gateway on one loop: listeners, sessions, Redis, the sweeper and signal handling.
/// Addresses are bound at once, but connections are accepted only once Redis first answers, so
/// no client meets a gateway that cannot serve it yet. SIGHUP reloads the TLS certificate.
/// SIGINT/SIGTERM stop accepting, answer waiting leases, let in-flight requests finish and
/// their replies drain, then `run` returns.
public final class Server {
    /// Runs once connections are first accepted (systemd's READY=1), and when shutdown begins.
    public var onServing: (() -> Void)?
    public var onStopping: (() -> Void)?
    private var serving = false
    /// Why the gateway stopped on its own, if it did (`run` returned for it).
    public private(set) var failure: Error?
    private var lastRedisProblem: RedisProblem?
    private var listenerTLS: TLSContext?
    public let loop = EventLoop()
    private let config: ServerConfig
    private let hub: ConnectionHub
    private let store: RedisStore
    private let gateway: Gateway
    private let sweeper: Sweeper
    private let scheduleRunner: ScheduleRunner
    private var listeners: [Listener] = []
    private var httpServers: [HTTPServer] = []
    private var signals: [SignalWatcher] = []
    private var drainTimer: LoopTimer?
    private var stopping = false
    private var stopStartedMs: UInt64 = 0

    public init(config: ServerConfig) throws {
        self.config = config
        hub = ConnectionHub(loop: loop)
        store = RedisStore(loop: loop, endpoint: config.redis, scripts: Gateway.scripts, tls: config.redisTLS,
                           commandTimeoutMs: UInt64(config.redisTimeoutMs), waitReplicas: config.waitReplicas,
                           waitTimeoutMs: config.waitTimeoutMs)
        gateway = Gateway(loop: loop, store: store, config: config.gateway)
        sweeper = Sweeper(gateway: gateway)
        scheduleRunner = try ScheduleRunner(gateway: gateway, declared: config.schedules)
        listenerTLS = try loadListenerCertificate()
        store.onStateChange = { [unowned self] problem in self.redisStateChanged(problem) }
    }

    /// Logs each change of Redis's state once (not once per retry), and starts serving when
    /// Redis is first ready.
    private func redisStateChanged(_ problem: RedisProblem?) {
        // With Sentinel, the server in use is not the one configured: name both.
        var server = ""
        if case .sentinel = config.redis.server { server = store.connectedTo }
        guard let problem else {
            lastRedisProblem = nil
            Log.info("redis ready", ["redis": config.redis.description, "server": server])
            gateway.lostLeases.redisReady()
            if !serving { startServing() }
            return
        }
        guard problem != lastRedisProblem else { return }
        lastRedisProblem = problem
        let fields: KeyValuePairs<String, Any> = ["redis": config.redis.description, "server": server, "reason": problem.message]
        if problem.kind == .refused { Log.error("redis refused the gateway; retrying", fields) } else { Log.warn("redis unavailable; retrying", fields) }
    }

    private func loadListenerCertificate() throws(TLSError) -> TLSContext? {
        guard config.listen.contains(where: \.isTLS) || config.metrics?.isTLS == true || config.console?.address.isTLS == true else { return nil }
        guard let certificate = config.tlsCertificateFile, let key = config.tlsKeyFile else {
            throw TLSError("a tls:// listener needs --tls-cert and --tls-key")
        }
        return try TLSContext.server(certificateFile: certificate, keyFile: key)
    }

    /// SIGHUP: new connections get the certificate now on disk; open ones keep theirs.
    private func reloadCertificate() {
        do {
            listenerTLS = try loadListenerCertificate()
            if listenerTLS != nil { Log.info("TLS certificate reloaded", ["cert": config.tlsCertificateFile ?? ""]) }
        } catch {
            Log.error("TLS certificate not reloaded; keeping the previous one", ["error": error.description])
        }
    }

    /// Raises the open-file limit as far as allowed: each connection is a descriptor, and the
    /// common default of 1024 would refuse connections long before `--max-connections`.
    private func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        let needed = rlim_t(config.gateway.maxConnections + 64)
        if limit.rlim_cur < needed {
            Log.warn("the open-file limit leaves no room for --max-connections and the gateway's own files; raise it (ulimit -n, LimitNOFILE=) or lower --max-connections",
                     ["limit": limit.rlim_cur, "needed": needed, "max_connections": config.gateway.maxConnections])
        }
    }

    /// Binds every listen address; throws before anything is served if one fails.
    public func bind() throws {
        raiseOpenFileLimit()
        for address in config.listen {
            let listener = try Listener(loop: loop, hub: hub, address: address, unixMode: config.unixMode,
                                        unixGroup: config.unixGroup, tlsContext: { [unowned self] in self.listenerTLS }) { [unowned self] connection in
                if self.stopping { connection.close(); return }
                self.gateway.accept(connection)
            }
            listeners.append(listener)
        }
        if let metrics = config.metrics { try bindHTTP(metrics, console: nil) }
        if let console = config.console { try bindHTTP(console.address, console: console) }
    }

    /// Accepts connections from here on. (The metrics and the console listen from the start:
    /// a gateway waiting for Redis is what they must show, as `jobgate_redis_up 0`.)
    private func startServing() {
        serving = true
        do {
            for listener in listeners where !httpServers.contains(where: { $0.listener === listener }) {
                try accept(on: listener, "listening")
            }
        } catch {
            failure = error
            Log.error("cannot accept connections; stopping", ["error": "\(error)"])
            beginShutdown()
            return
        }
        onServing?()
    }

    private func accept(on listener: Listener, _ message: String) throws {
        try listener.listen()
        let address = listener.boundPort.map { listener.address.withPort($0) } ?? listener.address
        Log.info(message, ["address": address.description])
    }

    private func bindHTTP(_ address: ListenAddress, console: ConsoleSettings?) throws {
        let server = try HTTPServer(loop: loop, hub: hub, address: address, unixMode: config.unixMode, unixGroup: config.unixGroup,
                                    tlsContext: { [unowned self] in self.listenerTLS },
                                    metrics: { [unowned self] done in self.gateway.scrapeMetrics(done) },
                                    console: console, gateway: gateway, token: config.gateway.token)
        httpServers.append(server)
        listeners.append(server.listener)
        try accept(on: server.listener, server.servingMessage)
    }

    /// Serves until SIGINT/SIGTERM and a graceful drain.
    public func run() {
        for sig in [SIGINT, SIGTERM] {
            signals.append(SignalWatcher(loop, signal: sig) { [unowned self] in self.beginShutdown() })
        }
        signals.append(SignalWatcher(loop, signal: SIGHUP) { [unowned self] in self.reloadCertificate() })
        store.start()
        sweeper.start()
        scheduleRunner.start()
        loop.run()
    }

    private func beginShutdown() {
        guard !stopping else { return }
        stopping = true
        stopStartedMs = loop.nowMs
        onStopping?()
        Log.info("shutting down", ["connections": hub.count, "in_flight": store.inFlight])
        for l in listeners { l.close() }
        listeners = []
        for h in httpServers { h.closeIdleConnections() }
        sweeper.stop()
        scheduleRunner.stop()
        gateway.stopWaiting()
        let notRun = OpError(.unavailable, "the gateway is shutting down; this request was not run (send it again)")
        for s in Array(gateway.openSessions) { s.stopReading(answeringHeldLinesWith: notRun) }
        let timer = LoopTimer(loop) { [unowned self] in self.checkDrained() }
        drainTimer = timer
        timer.start(afterMs: 0, repeatMs: 20)
    }

    private func checkDrained() {
        let timedOut = loop.nowMs - stopStartedMs > config.shutdownGraceMs
        guard hub.count == 0 || timedOut else { return }
        if timedOut { Log.warn("shutdown grace period over; closing remaining connections", ["connections": hub.count]) }
        for c in Array(hub.all) { c.close() }
        drainTimer?.stop()
        Log.info("stopped")
        loop.stop()
    }
}
