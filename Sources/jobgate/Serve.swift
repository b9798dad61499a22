import ArgumentParser
import JobgateServer
@preconcurrency import Glibc

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway.")

    @Option(name: .long, help: ArgumentHelp("Where to listen: tcp://HOST:PORT or unix:PATH (repeatable).", valueName: "address"))
    var listen: [String] = ["tcp://127.0.0.1:7700"]

    @Option(name: .long, help: ArgumentHelp("Redis to use: redis://HOST:PORT/DB or unix:///PATH. Without it, jobgate runs its own redis-server under --data-dir.", valueName: "url"))
    var redis: String?

    @Option(name: .customLong("data-dir"), help: "Directory for the private redis-server's socket and AOF data.")
    var dataDir = "./jobgate-data"

    @Option(name: .customLong("max-line"), help: "Longest request line in bytes.")
    var maxLine = 1 << 20

    @Option(name: .customLong("log-level"), help: "debug, info, warn or error.")
    var logLevel = "info"

    @Option(name: .long, help: "TCP clients must send {\"op\":\"auth\",\"token\":...} first. Also JOBGATE_TOKEN.")
    var token: String?

    @Option(name: .customLong("token-file"), help: "Read the token from this file (its first line).")
    var tokenFile: String?

    @Option(name: .customLong("unix-mode"), help: "File mode of Unix sockets, in octal.")
    var unixMode = "0660"

    @Option(name: .customLong("unix-group"), help: "Group that owns the Unix sockets.")
    var unixGroup: String?

    @Flag(name: .long, help: "Allow a non-loopback TCP listener without a token.")
    var insecure = false

    @Option(name: .customLong("max-connections"), help: "Open connections beyond this get OVERLOADED and are closed.")
    var maxConnections = 10_000

    @Option(name: .long, help: ArgumentHelp("Serve Prometheus metrics (GET /metrics) here: tcp://HOST:PORT or unix:PATH.", valueName: "address"))
    var metrics: String?

    func validate() throws {
        guard Log.Level(name: logLevel) != nil else { throw ValidationError("--log-level must be debug, info, warn or error") }
        guard maxLine >= 1024 && maxLine <= 64 << 20 else { throw ValidationError("--max-line must be between 1024 and 67108864") }
        for l in listen where ListenAddress(l) == nil {
            throw ValidationError("--listen \(l): expected tcp://HOST:PORT or unix:PATH")
        }
        if let redis, RedisEndpoint(url: redis) == nil {
            throw ValidationError("--redis \(redis): expected redis://HOST:PORT/DB or unix:///PATH")
        }
        guard mode_t(unixMode, radix: 8) != nil else { throw ValidationError("--unix-mode must be octal, e.g. 0660") }
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
        if let metrics, ListenAddress(metrics) == nil {
            throw ValidationError("--metrics \(metrics): expected tcp://HOST:PORT or unix:PATH")
        }
    }

    /// The token from --token, --token-file or JOBGATE_TOKEN, in that order.
    private func resolveToken() throws -> [UInt8]? {
        if let token { return Array(token.utf8) }
        if let tokenFile {
            guard let f = fopen(tokenFile, "r") else {
                throw ValidationError("cannot read --token-file \(tokenFile): \(String(cString: strerror(errno)))")
            }
            defer { fclose(f) }
            var buf = [CChar](repeating: 0, count: 4096)
            guard fgets(&buf, Int32(buf.count), f) != nil else { throw ValidationError("--token-file \(tokenFile) is empty") }
            let line = String(cString: buf).split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first.map(String.init) ?? ""
            guard !line.isEmpty else { throw ValidationError("--token-file \(tokenFile) is empty") }
            return Array(line.utf8)
        }
        if let env = getenv("JOBGATE_TOKEN"), env.pointee != 0 { return Array(String(cString: env).utf8) }
        return nil
    }

    func run() throws {
        Log.threshold = Log.Level(name: logLevel)!
        let token = try resolveToken()
        let addresses = listen.map { ListenAddress($0)! }
        if token == nil && !insecure, let open = addresses.first(where: { !$0.isLoopback }) {
            throw ValidationError("refusing to listen on \(open) without a token: anyone who can reach it could run and delete jobs. Give --token (or --token-file, JOBGATE_TOKEN), or --insecure if the network is trusted.")
        }
        var group: gid_t? = nil
        if let unixGroup {
            guard let g = getgrnam(unixGroup) else { throw ValidationError("--unix-group \(unixGroup): no such group") }
            group = g.pointee.gr_gid
        }
        var privateRedis: PrivateRedis? = nil
        let endpoint: RedisEndpoint
        if let redis {
            endpoint = RedisEndpoint(url: redis)!
        } else {
            let child = try PrivateRedis(dataDir: dataDir)
            try child.start()
            privateRedis = child
            endpoint = .unix(path: child.socketPath, db: 0)
        }
        var config = ServerConfig(redis: endpoint)
        config.listen = addresses
        config.gateway.session.maxLine = maxLine
        config.gateway.token = token
        config.gateway.maxConnections = maxConnections
        config.unixMode = mode_t(unixMode, radix: 8)!
        config.unixGroup = group
        config.metrics = metrics.flatMap { ListenAddress($0) }
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
