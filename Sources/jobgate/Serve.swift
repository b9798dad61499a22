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

    func validate() throws {
        guard Log.Level(name: logLevel) != nil else { throw ValidationError("--log-level must be debug, info, warn or error") }
        guard maxLine >= 1024 && maxLine <= 64 << 20 else { throw ValidationError("--max-line must be between 1024 and 67108864") }
        for l in listen where ListenAddress(l) == nil {
            throw ValidationError("--listen \(l): expected tcp://HOST:PORT or unix:PATH")
        }
        if let redis, RedisEndpoint(url: redis) == nil {
            throw ValidationError("--redis \(redis): expected redis://HOST:PORT/DB or unix:///PATH")
        }
    }

    func run() throws {
        Log.threshold = Log.Level(name: logLevel)!
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
        config.listen = listen.map { ListenAddress($0)! }
        config.gateway.session.maxLine = maxLine
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
