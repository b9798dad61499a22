import ArgumentParser
import JobgateServer

/// The parts of the Redis settings that are not in its URL: passwords from files or the
/// environment (so they need not be on a command line), the sentinels' login, and TLS files.
extension Settings {
    /// Fills them into `redis` and returns the lines `serve --check` prints (secrets masked).
    static func completeRedisAccess(_ redis: inout RedisEndpoint, _ given: ServeSettingSources) throws -> [String] {
        var lines: [String] = []
        if let password = try given.secret(\.redisPasswordFile) {
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

        let sentinelUser = try given.text(\.redisSentinelUser)
        let sentinelPassword = try given.secret(\.redisSentinelPasswordFile)
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
        tls.caFile = try given.text(\.redisTlsCa)
        tls.certificateFile = try given.text(\.redisTlsCert)
        tls.keyFile = try given.text(\.redisTlsKey)
        tls.serverName = try given.text(\.redisTlsServerName)
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
}
