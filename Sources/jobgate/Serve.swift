import ArgumentParser
import JobgateServer
@preconcurrency import Glibc

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway.",
        discussion: """
            Every setting can also come from the environment (JOBGATE_ and the flag name in capitals \
            with underscores, e.g. JOBGATE_MAX_CONNECTIONS; JOBGATE_LISTEN takes a comma-separated list) \
            or from a --config file of `flag-name = value` lines (TOML). Flags win over the \
            environment, which wins over the file.
            """
    )

    @Option(name: .long, help: "A config file (TOML: `listen = [\"tcp://127.0.0.1:7700\"]`, `redis = \"...\"`, ...).")
    var config: String?

    @Flag(name: .long, help: "Validate the configuration, print the settings in effect, and exit.")
    var check = false

    @Option(name: .long, help: ArgumentHelp("Where to listen: tcp://HOST:PORT, tls://HOST:PORT or unix:PATH (repeatable). Default tcp://127.0.0.1:7700.", valueName: "address"))
    var listen: [String] = []

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("Certificate chain (PEM) of the tls:// listeners; read again on SIGHUP.", valueName: "file"))
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("Private key (PEM) of the tls:// listeners; read again on SIGHUP.", valueName: "file"))
    var tlsKey: String?

    @Option(name: .long, help: ArgumentHelp("Redis to use: redis://[[USER]:PASSWORD@]HOST:PORT/DB, rediss://... (TLS), unix:///PATH or sentinel[s]://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER[/DB]. Without it, jobgate runs its own redis-server under --data-dir.", valueName: "url"))
    var redis: String?

    @Option(name: .customLong("redis-password-file"), help: ArgumentHelp("Read the Redis password from this file (its first line) instead of the URL. JOBGATE_REDIS_PASSWORD also works.", valueName: "file"))
    var redisPasswordFile: String?

    @Option(name: .customLong("redis-sentinel-user"), help: "The Redis Sentinels' own ACL user, when they require a login.")
    var redisSentinelUser: String?

    @Option(name: .customLong("redis-sentinel-password-file"), help: ArgumentHelp("The Redis Sentinels' own password, from this file (its first line). JOBGATE_REDIS_SENTINEL_PASSWORD also works.", valueName: "file"))
    var redisSentinelPasswordFile: String?

    @Option(name: .customLong("redis-tls-ca"), help: ArgumentHelp("CA certificates (PEM) that Redis's certificate must chain to, for rediss:// and sentinels://. Default: the system's.", valueName: "file"))
    var redisTlsCa: String?

    @Option(name: .customLong("redis-tls-cert"), help: ArgumentHelp("Client certificate (PEM) for Redis's tls-auth-clients.", valueName: "file"))
    var redisTlsCert: String?

    @Option(name: .customLong("redis-tls-key"), help: ArgumentHelp("Private key (PEM) of --redis-tls-cert.", valueName: "file"))
    var redisTlsKey: String?

    @Option(name: .customLong("redis-tls-server-name"), help: "The name Redis's certificate must carry, when it is not the host in --redis (also sent as SNI).")
    var redisTlsServerName: String?

    @Option(name: .customLong("data-dir"), help: "Directory for the private redis-server's socket and AOF data. Default ./jobgate-data.")
    var dataDir: String?

    @Option(name: .customLong("max-line"), help: "Longest request line in bytes. Default 1048576.")
    var maxLine: Int?

    @Option(name: .customLong("log-level"), help: "debug, info, warn or error. Default info.")
    var logLevel: String?

    @Option(name: .long, help: "TCP clients must send {\"op\":\"auth\",\"token\":...} first.")
    var token: String?

    @Option(name: .customLong("token-file"), help: "Read the token from this file (its first line).")
    var tokenFile: String?

    @Option(name: .customLong("unix-mode"), help: "File mode of Unix sockets, in octal. Default 0660.")
    var unixMode: String?

    @Option(name: .customLong("unix-group"), help: "Group that owns the Unix sockets.")
    var unixGroup: String?

    @Flag(name: .long, help: "Allow a non-loopback TCP listener without a token.")
    var insecure = false

    @Option(name: .customLong("max-connections"), help: "Open connections beyond this get OVERLOADED and are closed. Default 10000.")
    var maxConnections: Int?

    @Option(name: .customLong("redis-timeout"), help: "Milliseconds Redis may send nothing while requests wait for it; then they get UNAVAILABLE and the gateway reconnects. Default 10000.")
    var redisTimeout: Int?

    @Option(name: .customLong("redis-wait-replicas"), help: "Acknowledge a change only once this many replicas have it (Redis WAIT). Default 0.")
    var redisWaitReplicas: Int?

    @Option(name: .customLong("redis-wait-timeout"), help: "Milliseconds to wait for those replicas before answering UNAVAILABLE. Default 1000.")
    var redisWaitTimeout: Int?

    @Option(name: .long, help: ArgumentHelp("Serve the web console and Prometheus metrics (GET /metrics) here: tcp://HOST:PORT, tls://HOST:PORT or unix:PATH. Like --listen, a non-loopback address needs a token (or --insecure); with a token the console asks for it once.", valueName: "address"))
    var http: String?

    @Flag(name: .customLong("http-read-only"), help: "The web console shows queues and jobs but offers no actions, and its API runs only the read ops.")
    var httpReadOnly = false

    @Option(name: .long, help: ArgumentHelp("Serve only Prometheus metrics (GET /metrics) here, without the console: tcp://HOST:PORT or unix:PATH.", valueName: "address"))
    var metrics: String?

    func run() throws {
        let settings = try Settings(self)
        Log.threshold = settings.logLevel
        let redisTLS = try settings.redis?.tls.map { tls throws(TLSError) in
            try TLSContext.client(caFile: tls.caFile, certificateFile: tls.certificateFile, keyFile: tls.keyFile)
        }
        let schedules = try ScheduleDeclarations.load(configFile: self.config)
        if check {
            try ScheduleDeclarations.check(schedules)
            if settings.redis == nil { _ = try PrivateRedis(dataDir: settings.dataDir, create: false) }
            if let certificate = settings.tlsCertificateFile, let key = settings.tlsKeyFile {
                _ = try TLSContext.server(certificateFile: certificate, keyFile: key)
            }
            print(settings.summary)
            print("schedules declared: \(schedules.count)")
            // Checking the configuration of a gateway that runs is normal: said, not refused.
            if settings.redis == nil, let held = DataDirLock.heldElsewhere(settings.dataDir) {
                print("note: \(held) (a gateway started with this configuration now would stop at once)")
            }
            print("configuration OK")
            return
        }
        // Order matters: the data directory's lock first (a second gateway touches nothing),
        // then every address bound (one in use costs nothing), and only then the private Redis.
        var privateRedis: PrivateRedis? = nil
        var dataDirLock: DataDirLock? = nil
        let endpoint: RedisEndpoint
        if let redis = settings.redis {
            endpoint = redis
        } else {
            let child = try PrivateRedis(dataDir: settings.dataDir)
            dataDirLock = try DataDirLock(dataDir: child.dataDir)
            privateRedis = child
            endpoint = RedisEndpoint(server: .unix(path: child.socketPath))
        }
        var config = ServerConfig(redis: endpoint)
        config.redisTLS = redisTLS
        config.tlsCertificateFile = settings.tlsCertificateFile
        config.tlsKeyFile = settings.tlsKeyFile
        config.listen = settings.listen
        config.gateway.session.maxLine = settings.maxLine
        config.gateway.token = settings.token
        config.gateway.maxConnections = settings.maxConnections
        config.unixMode = settings.unixMode
        config.unixGroup = settings.unixGroup
        config.metrics = settings.metrics
        config.console = settings.console
        config.redisTimeoutMs = settings.redisTimeoutMs
        config.waitReplicas = settings.waitReplicas
        config.waitTimeoutMs = settings.waitTimeoutMs
        config.schedules = schedules
        let server = try Server(config: config)
        try server.bind()
        try privateRedis?.start()
        privateRedis?.supervise(on: server.loop)
        server.onServing = { SystemdNotify.send("READY=1") }
        server.onStopping = { SystemdNotify.send("STOPPING=1") }
        Log.info("jobgate started; serving once Redis answers", ["version": jobgateVersion, "redis": endpoint.description, "pid": getpid()])
        server.run()
        privateRedis?.stop()
        withExtendedLifetime(dataDirLock) {}
        if let failure = server.failure { throw failure }
    }
}
