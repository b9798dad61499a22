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

    @Option(name: .long, help: ArgumentHelp("Where to listen: tcp://HOST:PORT or unix:PATH (repeatable). Default tcp://127.0.0.1:7700.", valueName: "address"))
    var listen: [String] = []

    @Option(name: .long, help: ArgumentHelp("Redis to use: redis://HOST:PORT/DB, unix:///PATH or sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB]. Without it, jobgate runs its own redis-server under --data-dir.", valueName: "url"))
    var redis: String?

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

    @Option(name: .long, help: ArgumentHelp("Serve Prometheus metrics (GET /metrics) here: tcp://HOST:PORT or unix:PATH.", valueName: "address"))
    var metrics: String?

    func run() throws {
        let settings = try Settings(self)
        Log.threshold = settings.logLevel
        if check {
            if settings.redis == nil { _ = try PrivateRedis(dataDir: settings.dataDir, create: false) }
            print(settings.summary)
            print("configuration OK")
            return
        }
        var privateRedis: PrivateRedis? = nil
        let endpoint: RedisEndpoint
        if let redis = settings.redis {
            endpoint = redis
        } else {
            let child = try PrivateRedis(dataDir: settings.dataDir)
            try child.start()
            privateRedis = child
            endpoint = .unix(path: child.socketPath, db: 0)
        }
        var config = ServerConfig(redis: endpoint)
        config.listen = settings.listen
        config.gateway.session.maxLine = settings.maxLine
        config.gateway.token = settings.token
        config.gateway.maxConnections = settings.maxConnections
        config.unixMode = settings.unixMode
        config.unixGroup = settings.unixGroup
        config.metrics = settings.metrics
        config.waitReplicas = settings.waitReplicas
        config.waitTimeoutMs = settings.waitTimeoutMs
        let server = Server(config: config)
        do {
            try server.bind()
        } catch {
            privateRedis?.stop()
            throw error
        }
        privateRedis?.supervise(on: server.loop)
        Log.info("jobgate started", ["version": jobgateVersion, "redis": endpoint.description, "pid": getpid()])
        server.run()
        privateRedis?.stop()
    }
}

/// The settings in effect: each from its flag, else JOBGATE_<NAME>, else the config file, else
/// the default; validated together.
struct Settings {
    var listen: [ListenAddress]
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
    var waitReplicas: Int
    var waitTimeoutMs: Int
    var summary = ""

    init(_ flags: Serve) throws {
        let file = try flags.config.map(ConfigFile.load) ?? [:]
        let known: Set<String> = ["listen", "redis", "data-dir", "max-line", "log-level", "token", "token-file", "unix-mode",
                                  "unix-group", "insecure", "max-connections", "metrics", "redis-wait-replicas", "redis-wait-timeout"]
        if let unknown = file.keys.sorted().first(where: { !known.contains($0) }) {
            throw ValidationError("\(flags.config!): unknown setting '\(unknown)'")
        }
        var lines: [String] = []
        func text(_ name: String, _ flag: String?) throws -> String? {
            if let flag { return flag }
            if let env = environment(name) { return env }
            switch file[name] {
            case nil: return nil
            case .string(let s)?: return s
            case .integer(let n)?: return String(n)
            default: throw ValidationError("config '\(name)' must be a string")
            }
        }
        func number(_ name: String, _ flag: Int?, default value: Int) throws -> Int {
            if let flag { return flag }
            if let env = environment(name) {
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
        if listenTexts.isEmpty, let env = environment("listen") { listenTexts = env.split(separator: ",").map(String.init) }
        if listenTexts.isEmpty {
            switch file["listen"] {
            case .strings(let list)?: listenTexts = list
            case .string(let one)?: listenTexts = [one]
            case nil: listenTexts = ["tcp://127.0.0.1:7700"]
            default: throw ValidationError("config 'listen' must be a list of addresses")
            }
        }
        listen = try listenTexts.map { t in
            guard let a = ListenAddress(t) else { throw ValidationError("listen \(t): expected tcp://HOST:PORT or unix:PATH") }
            return a
        }
        lines.append("listen: \(listen.map(\.description).joined(separator: ", "))")

        if let r = try text("redis", flags.redis) {
            guard let e = RedisEndpoint(url: r) else {
                throw ValidationError("redis \(r): expected redis://HOST:PORT/DB, unix:///PATH or sentinel://HOST:PORT[,...]/MASTER")
            }
            redis = e
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
        if flags.insecure {
            insecure = true
        } else if let env = environment("insecure") {
            insecure = env == "1" || env == "true"
        } else if case .bool(let b)? = file["insecure"] {
            insecure = b
        } else {
            insecure = false
        }
        maxConnections = try number("max-connections", flags.maxConnections, default: 10_000)
        guard maxConnections >= 1 else { throw ValidationError("max-connections must be at least 1") }
        if let m = try text("metrics", flags.metrics) {
            guard let a = ListenAddress(m) else { throw ValidationError("metrics \(m): expected tcp://HOST:PORT or unix:PATH") }
            metrics = a
        }
        waitReplicas = try number("redis-wait-replicas", flags.redisWaitReplicas, default: 0)
        waitTimeoutMs = try number("redis-wait-timeout", flags.redisWaitTimeout, default: 1000)
        guard waitReplicas >= 0, waitTimeoutMs >= 1 else { throw ValidationError("redis-wait-replicas must be 0 or more, redis-wait-timeout 1 or more") }
        if token == nil && !insecure, let open = listen.first(where: { !$0.isLoopback }) {
            throw ValidationError("refusing to listen on \(open) without a token: anyone who can reach it could run and delete jobs. Give --token (or --token-file, JOBGATE_TOKEN), or --insecure if the network is trusted.")
        }
        lines.append("auth: \(token == nil ? "none" : "token required on TCP")")
        lines.append("unix sockets: mode \(String(unixMode, radix: 8))\(unixGroup.map { ", group \($0)" } ?? "")")
        lines.append("max-line: \(maxLine), max-connections: \(maxConnections), log-level: \(levelName)")
        lines.append("metrics: \(metrics?.description ?? "off")")
        lines.append("replicas confirming each write: \(waitReplicas)\(waitReplicas > 0 ? " (within \(waitTimeoutMs) ms)" : "")")
        summary = lines.joined(separator: "\n")
    }
}

private func envName(_ setting: String) -> String {
    String(setting.uppercased().map { $0 == "-" ? "_" : $0 })
}

private func environment(_ setting: String) -> String? {
    guard let v = getenv("JOBGATE_" + envName(setting)), v.pointee != 0 else { return nil }
    return String(cString: v)
}
