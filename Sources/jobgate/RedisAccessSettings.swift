import ArgumentParser
import JobgateServer

/// The parts of the Redis settings that are not in its URL: passwords from files or the
/// environment (so they need not be on a command line), the sentinels' login, and TLS files.
extension Settings {
    typealias Lookup = (_ name: String, _ flag: String?) throws -> String?

    /// Fills them into `redis` and returns the lines `serve --check` prints (secrets masked).
    static func completeRedisAccess(_ redis: inout RedisEndpoint, _ flags: Serve, _ text: Lookup) throws -> [String] {
        var lines: [String] = []
        if let password = try secret("redis-password", file: text("redis-password-file", flags.redisPasswordFile)) {
            guard redis.credentials?.password == nil else {
                throw ValidationError("the Redis password is given twice: in the --redis URL and in --redis-password-file or JOBGATE_REDIS_PASSWORD; keep one")
            }
            redis.credentials = RedisCredentials(user: redis.credentials?.user, password: password.value)
            lines.append("redis password: from \(password.source)")
        } else if let credentials = redis.credentials {
            guard credentials.password != nil else {
                throw ValidationError("redis user \(credentials.user ?? "") has no password: add it to the URL (USER:PASSWORD@), or give --redis-password-file or JOBGATE_REDIS_PASSWORD")
            }
            lines.append("redis password: from the --redis URL")
        }

        let sentinelUser = try text("redis-sentinel-user", flags.redisSentinelUser)
        let sentinelPassword = try secret("redis-sentinel-password", file: text("redis-sentinel-password-file", flags.redisSentinelPasswordFile))
        if sentinelUser != nil || sentinelPassword != nil {
            guard case .sentinel = redis.server else {
                throw ValidationError("--redis-sentinel-user and --redis-sentinel-password-file need a sentinel:// or sentinels:// --redis URL")
            }
            guard let sentinelPassword else {
                throw ValidationError("--redis-sentinel-user needs --redis-sentinel-password-file or JOBGATE_REDIS_SENTINEL_PASSWORD")
            }
            redis.sentinelCredentials = RedisCredentials(user: sentinelUser, password: sentinelPassword.value)
            lines.append("sentinel login: \(sentinelUser ?? "default user"), password from \(sentinelPassword.source)")
        }

        var tls = RedisTLSOptions()
        tls.caFile = try text("redis-tls-ca", flags.redisTlsCa)
        tls.certificateFile = try text("redis-tls-cert", flags.redisTlsCert)
        tls.keyFile = try text("redis-tls-key", flags.redisTlsKey)
        tls.serverName = try text("redis-tls-server-name", flags.redisTlsServerName)
        guard redis.tls != nil else {
            if tls != RedisTLSOptions() { throw ValidationError("the --redis-tls-* settings need a rediss:// or sentinels:// --redis URL") }
            return lines
        }
        if (tls.certificateFile == nil) != (tls.keyFile == nil) {
            throw ValidationError("--redis-tls-cert and --redis-tls-key go together")
        }
        redis.tls = tls
        // Loading them now turns a wrong path or a mismatched key into a start-up error.
        _ = try TLSContext.client(caFile: tls.caFile, certificateFile: tls.certificateFile, keyFile: tls.keyFile)
        lines.append("redis tls: trusting \(tls.caFile ?? "the system's CA store")"
                     + (tls.certificateFile.map { ", client certificate \($0)" } ?? "")
                     + (tls.serverName.map { ", server name \($0)" } ?? ""))
        return lines
    }

    /// A password from JOBGATE_<NAME> or from the first line of `file`.
    private static func secret(_ name: String, file: String?) throws -> (value: String, source: String)? {
        if let path = file {
            guard let content = readWholeFile(path) else { throw ValidationError("cannot read \(name)-file \(path)") }
            let first = content.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first.map(String.init) ?? ""
            guard !first.isEmpty else { throw ValidationError("\(name)-file \(path) is empty") }
            return (first, path)
        }
        if let value = settingFromEnvironment(name) { return (value, "JOBGATE_\(envName(name))") }
        return nil
    }
}
