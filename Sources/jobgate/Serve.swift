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
        if check {
            if settings.redis == nil { _ = try PrivateRedis(dataDir: settings.dataDir, create: false) }
            if let certificate = settings.tlsCertificateFile, let key = settings.tlsKeyFile {
                _ = try TLSContext.server(certificateFile: certificate, keyFile: key)
            }
            print(settings.summary)
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
        config.waitReplicas = settings.waitReplicas
        config.waitTimeoutMs = settings.waitTimeoutMs
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

/// The settings in effect: each from its flag, else JOBGATE_<NAME>, else the config file, else
/// the default; validated together.
struct Settings {
    var listen: [ListenAddress]
    var tlsCertificateFile: String?
    var tlsKeyFile: String?
    var redis: RedisEndpoint?
    var dataDir: String
    var maxLine: Int
    var logLevel: Log.Level
    var token: [UInt8]?
    var unixMode: mode_t
    var unixGroup: gid_t?
    var insecure: Bool
    var maxConnections: Int
    var metrics: ListenAddress?
    var console: ConsoleSettings?
    var waitReplicas: Int
    var waitTimeoutMs: Int
    var summary = ""

    init(_ flags: Serve) throws {
        let file = try flags.config.map(ConfigFile.load) ?? [:]
        let known: Set<String> = ["listen", "tls-cert", "tls-key", "redis", "redis-password-file", "redis-sentinel-user",
                                  "redis-sentinel-password-file", "redis-tls-ca", "redis-tls-cert", "redis-tls-key",
                                  "redis-tls-server-name", "data-dir", "max-line", "log-level", "token", "token-file", "unix-mode",
                                  "unix-group", "insecure", "max-connections", "http", "http-read-only", "metrics", "redis-wait-replicas",
                                  "redis-wait-timeout"]
        if let unknown = file.keys.sorted().first(where: { !known.contains($0) }) {
            throw ValidationError("\(flags.config!): unknown setting '\(unknown)'")
        }
        var lines: [String] = []
        func text(_ name: String, _ flag: String?) throws -> String? {
            if let flag { return flag }
            if let env = settingFromEnvironment(name) { return env }
            switch file[name] {
            case nil: return nil
            case .string(let s)?: return s
            case .integer(let n)?: return String(n)
            default: throw ValidationError("config '\(name)' must be a string")
            }
        }
        func bool(_ name: String, _ flag: Bool) -> Bool {
            if flag { return true }
            if let env = settingFromEnvironment(name) { return env == "1" || env == "true" }
            if case .bool(let b)? = file[name] { return b }
            return false
        }
        func number(_ name: String, _ flag: Int?, default value: Int) throws -> Int {
            if let flag { return flag }
            if let env = settingFromEnvironment(name) {
                guard let n = Int(env) else { throw ValidationError("JOBGATE_\(envName(name)) must be a whole number") }
                return n
            }
            switch file[name] {
            case nil: return value
            case .integer(let n)?: return n
            default: throw ValidationError("config '\(name)' must be a whole number")
            }
        }

        var listenTexts = flags.listen
        if listenTexts.isEmpty, let env = settingFromEnvironment("listen") { listenTexts = env.split(separator: ",").map(String.init) }
        if listenTexts.isEmpty {
            switch file["listen"] {
            case .strings(let list)?: listenTexts = list
            case .string(let one)?: listenTexts = [one]
            case nil: listenTexts = ["tcp://127.0.0.1:7700"]
            default: throw ValidationError("config 'listen' must be a list of addresses")
            }
        }
        listen = try listenTexts.map { t in
            guard let a = ListenAddress(t) else { throw ValidationError("listen \(t): expected tcp://HOST:PORT, tls://HOST:PORT or unix:PATH") }
            return a
        }
        lines.append("listen: \(listen.map(\.description).joined(separator: ", "))")
        tlsCertificateFile = try text("tls-cert", flags.tlsCert)
        tlsKeyFile = try text("tls-key", flags.tlsKey)
        if listen.contains(where: \.isTLS) {
            guard tlsCertificateFile != nil, tlsKeyFile != nil else {
                throw ValidationError("a tls:// listener needs --tls-cert FILE and --tls-key FILE")
            }
            lines.append("tls: certificate \(tlsCertificateFile!), key \(tlsKeyFile!)")
        }

        if let r = try text("redis", flags.redis) {
            do {
                redis = try RedisEndpoint(url: r)
            } catch {
                throw ValidationError("redis: \(error) (expected redis://[[USER]:PASSWORD@]HOST:PORT/DB, rediss://..., unix:///PATH or sentinel[s]://HOST:PORT[,...]/MASTER[/DB]; see jobgate serve --help)")
            }
            lines += try Settings.completeRedisAccess(&redis!, flags, text)
        }
        dataDir = try text("data-dir", flags.dataDir) ?? "./jobgate-data"
        lines.append("redis: \(redis?.description ?? "private redis-server under \(dataDir)")")

        maxLine = try number("max-line", flags.maxLine, default: 1 << 20)
        guard maxLine >= 1024 && maxLine <= 64 << 20 else { throw ValidationError("max-line must be between 1024 and 67108864") }
        let levelName = try text("log-level", flags.logLevel) ?? "info"
        guard let level = Log.Level(name: levelName) else { throw ValidationError("log-level must be debug, info, warn or error") }
        logLevel = level

        if let t = try text("token", flags.token) {
            token = Array(t.utf8)
        } else if let path = try text("token-file", flags.tokenFile) {
            guard let content = readWholeFile(path) else { throw ValidationError("cannot read token-file \(path)") }
            let first = content.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first.map(String.init) ?? ""
            guard !first.isEmpty else { throw ValidationError("token-file \(path) is empty") }
            token = Array(first.utf8)
        }
        let modeText = try text("unix-mode", flags.unixMode) ?? "0660"
        guard let mode = mode_t(modeText, radix: 8) else { throw ValidationError("unix-mode must be octal, e.g. 0660") }
        unixMode = mode
        if let group = try text("unix-group", flags.unixGroup) {
            guard let g = getgrnam(group) else { throw ValidationError("unix-group \(group): no such group") }
            unixGroup = g.pointee.gr_gid
        }
        insecure = bool("insecure", flags.insecure)
        maxConnections = try number("max-connections", flags.maxConnections, default: 10_000)
        guard maxConnections >= 1 else { throw ValidationError("max-connections must be at least 1") }
        if let m = try text("metrics", flags.metrics) {
            guard let a = ListenAddress(m) else { throw ValidationError("metrics \(m): expected tcp://HOST:PORT or unix:PATH") }
            metrics = a
        }
        if let h = try text("http", flags.http) {
            guard let a = ListenAddress(h) else { throw ValidationError("http \(h): expected tcp://HOST:PORT, tls://HOST:PORT or unix:PATH") }
            guard a != metrics else { throw ValidationError("http and metrics are the same address; --http serves /metrics too, so give only --http") }
            if a.isTLS && (tlsCertificateFile == nil || tlsKeyFile == nil) {
                throw ValidationError("a tls:// console needs --tls-cert FILE and --tls-key FILE")
            }
            console = ConsoleSettings(address: a, readOnly: bool("http-read-only", flags.httpReadOnly))
        } else if bool("http-read-only", flags.httpReadOnly) {
            throw ValidationError("http-read-only needs --http ADDRESS")
        }
        waitReplicas = try number("redis-wait-replicas", flags.redisWaitReplicas, default: 0)
        waitTimeoutMs = try number("redis-wait-timeout", flags.redisWaitTimeout, default: 1000)
        guard waitReplicas >= 0, waitTimeoutMs >= 1 else { throw ValidationError("redis-wait-replicas must be 0 or more, redis-wait-timeout 1 or more") }
        if token == nil && !insecure, let open = listen.first(where: { !$0.isLoopback }) {
            throw ValidationError("refusing to listen on \(open) without a token: anyone who can reach it could run and delete jobs. Give --token (or --token-file, JOBGATE_TOKEN), or --insecure if the network is trusted.")
        }
        if token == nil && !insecure, let open = console?.address, !open.isLoopback {
            throw ValidationError("refusing to serve the web console on \(open) without a token: anyone who can reach it could delete jobs. Give --token (or --token-file, JOBGATE_TOKEN), or --insecure if the network is trusted.")
        }
        lines.append("auth: \(token == nil ? "none" : "token required on TCP")")
        lines.append("unix sockets: mode \(String(unixMode, radix: 8))\(unixGroup.map { ", group \($0)" } ?? "")")
        lines.append("max-line: \(maxLine), max-connections: \(maxConnections), log-level: \(levelName)")
        lines.append("metrics: \(metrics?.description ?? "off")")
        lines.append("web console: " + (console.map { "\($0.address)" + ($0.readOnly ? " (read-only)" : "") } ?? "off"))
        lines.append("replicas confirming each write: \(waitReplicas)\(waitReplicas > 0 ? " (within \(waitTimeoutMs) ms)" : "")")
        summary = lines.joined(separator: "\n")
    }
}

func envName(_ setting: String) -> String {
    String(setting.uppercased().map { $0 == "-" ? "_" : $0 })
}

func settingFromEnvironment(_ setting: String) -> String? {
    guard let v = getenv("JOBGATE_" + envName(setting)), v.pointee != 0 else { return nil }
    return String(cString: v)
}
