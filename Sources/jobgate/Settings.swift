import ArgumentParser
import JobgateServer
@preconcurrency import Glibc

/// The settings in effect (see `Serve.settings` for where each comes from), validated together,
/// and the summary `serve --check` prints.
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
    var redisTimeoutMs: Int
    var waitReplicas: Int
    var waitTimeoutMs: Int
    var summary = ""

    init(_ flags: Serve) throws {
        let given = try ServeSettingSources(flags)
        var lines: [String] = []
        listen = try given.addresses(\.listen).map { t in
            guard let a = ListenAddress(t) else { throw ValidationError("listen \(t): expected tcp://HOST:PORT, tls://HOST:PORT or unix:PATH") }
            return a
        }
        lines.append("listen: \(listen.map(\.description).joined(separator: ", "))")
        tlsCertificateFile = try given.text(\.tlsCert)
        tlsKeyFile = try given.text(\.tlsKey)
        if listen.contains(where: \.isTLS) {
            guard let certificate = tlsCertificateFile, let key = tlsKeyFile else {
                throw ValidationError("a tls:// listener needs --tls-cert FILE and --tls-key FILE")
            }
            lines.append("tls: certificate \(certificate), key \(key)")
        }

        if let r = try given.text(\.redis) {
            do {
                redis = try RedisEndpoint(url: r)
            } catch {
                throw ValidationError("redis: \(error) (expected redis://[[USER]:PASSWORD@]HOST:PORT/DB, rediss://..., unix:///PATH or sentinel[s]://HOST:PORT[,...]/MASTER[/DB]; see jobgate serve --help)")
            }
            lines += try Settings.completeRedisAccess(&redis!, given)
        }
        dataDir = try given.textOrDefault(\.dataDir)
        lines.append("redis: \(redis?.description ?? "private redis-server under \(dataDir)")")

        maxLine = try given.number(\.maxLine)
        let levelName = try given.textOrDefault(\.logLevel)
        guard let level = Log.Level(name: levelName) else { throw ValidationError("log-level must be debug, info, warn or error") }
        logLevel = level

        if let t = try given.text(\.token) {
            token = Array(t.utf8)
        } else if let file = try given.secret(\.tokenFile) {
            token = Array(file.value.utf8)
        }
        guard let mode = mode_t(try given.textOrDefault(\.unixMode), radix: 8) else { throw ValidationError("unix-mode must be octal, e.g. 0660") }
        unixMode = mode
        if let group = try given.text(\.unixGroup) {
            guard let g = getgrnam(group) else { throw ValidationError("unix-group \(group): no such group") }
            unixGroup = g.pointee.gr_gid
        }
        insecure = given.bool(\.insecure)
        maxConnections = try given.number(\.maxConnections)
        if let m = try given.text(\.metrics) {
            guard let a = ListenAddress(m) else { throw ValidationError("metrics \(m): expected tcp://HOST:PORT or unix:PATH") }
            metrics = a
        }
        if let h = try given.text(\.http) {
            guard let a = ListenAddress(h) else { throw ValidationError("http \(h): expected tcp://HOST:PORT, tls://HOST:PORT or unix:PATH") }
            guard a != metrics else { throw ValidationError("http and metrics are the same address; --http serves /metrics too, so give only --http") }
            if a.isTLS && (tlsCertificateFile == nil || tlsKeyFile == nil) {
                throw ValidationError("a tls:// console needs --tls-cert FILE and --tls-key FILE")
            }
            console = ConsoleSettings(address: a, readOnly: given.bool(\.httpReadOnly))
        } else if given.bool(\.httpReadOnly) {
            throw ValidationError("http-read-only needs --http ADDRESS")
        }
        redisTimeoutMs = try given.number(\.redisTimeout)
        waitReplicas = try given.number(\.redisWaitReplicas)
        waitTimeoutMs = try given.number(\.redisWaitTimeout)
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
        lines.append("redis-timeout: \(redisTimeoutMs) ms")
        lines.append("replicas confirming each write: \(waitReplicas)\(waitReplicas > 0 ? " (within \(waitTimeoutMs) ms)" : "")")
        summary = lines.joined(separator: "\n")
    }
}
