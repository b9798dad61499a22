/// One setting of `serve`. Its name is both the long flag and the config-file key, and
/// JOBGATE_ plus the name in upper snake case is its environment variable (`max-line`:
/// JOBGATE_MAX_LINE). A flag wins over the environment, which wins over the file, which wins
/// over the default.
struct ServeSetting {
    enum Kind {
        /// Free text; a whole number in the config file stands for its digits.
        case text(KeyPath<Serve, String?>, default: String? = nil)
        /// A whole number, checked against `allowed`.
        case number(KeyPath<Serve, Int?>, default: Int, allowed: ClosedRange<Int> = Int.min...Int.max)
        /// On when the flag is given, the variable is `1` or `true`, or the file says `true`.
        case bool(KeyPath<Serve, Bool>)
        /// Repeated flags, a comma-separated variable, or an array (or one string) in the file.
        case addresses(KeyPath<Serve, [String]>, default: [String])
        /// A file whose first line is a secret, so that the secret stays off command lines;
        /// `orVariable` names a variable that may hold the secret itself.
        case secretFile(KeyPath<Serve, String?>, orVariable: String? = nil)
    }

    let name: String
    let kind: Kind

    init(_ name: String, _ kind: Kind) {
        self.name = name
        self.kind = kind
    }

    var environmentName: String { "JOBGATE_" + String(name.uppercased().map { $0 == "-" ? "_" : $0 }) }
}

extension Serve {
    static var settings: [ServeSetting] {
        [
            .init("listen", .addresses(\.listen, default: ["tcp://127.0.0.1:7700"])),
            .init("tls-cert", .text(\.tlsCert)),
            .init("tls-key", .text(\.tlsKey)),
            .init("redis", .text(\.redis)),
            .init("redis-password-file", .secretFile(\.redisPasswordFile, orVariable: "JOBGATE_REDIS_PASSWORD")),
            .init("redis-sentinel-user", .text(\.redisSentinelUser)),
            .init("redis-sentinel-password-file", .secretFile(\.redisSentinelPasswordFile, orVariable: "JOBGATE_REDIS_SENTINEL_PASSWORD")),
            .init("redis-tls-ca", .text(\.redisTlsCa)),
            .init("redis-tls-cert", .text(\.redisTlsCert)),
            .init("redis-tls-key", .text(\.redisTlsKey)),
            .init("redis-tls-server-name", .text(\.redisTlsServerName)),
            .init("redis-timeout", .number(\.redisTimeout, default: 10_000, allowed: 100...(3600 * 1000))),
            .init("redis-wait-replicas", .number(\.redisWaitReplicas, default: 0)),
            .init("redis-wait-timeout", .number(\.redisWaitTimeout, default: 1000)),
            .init("data-dir", .text(\.dataDir, default: "./jobgate-data")),
            .init("max-line", .number(\.maxLine, default: 1 << 20, allowed: 1024...(64 << 20))),
            .init("max-connections", .number(\.maxConnections, default: 10_000, allowed: 1...Int.max)),
            .init("log-level", .text(\.logLevel, default: "info")),
            .init("token", .text(\.token)),
            .init("token-file", .secretFile(\.tokenFile)),
            .init("insecure", .bool(\.insecure)),
            .init("unix-mode", .text(\.unixMode, default: "0660")),
            .init("unix-group", .text(\.unixGroup)),
            .init("http", .text(\.http)),
            .init("http-read-only", .bool(\.httpReadOnly)),
            .init("metrics", .text(\.metrics)),
        ]
    }
}
