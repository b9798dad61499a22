public struct HostPort: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `host:port`, `[v6]:port`, or `host` alone with `defaultPort`.
    init?(_ text: Substring, defaultPort: Int) {
        var host = String(text)
        var port = defaultPort
        if let colon = text.lastIndex(of: ":"), !text.hasSuffix("]") {
            guard let p = Int(text[text.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            port = p
            host = String(text[..<colon])
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "127.0.0.1" }
        self.host = host
        self.port = port
    }

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// A Redis user (nil: the `default` user) and password, for `AUTH`. Never printed. The
/// password may come later than the user (from a file or the environment).
public struct RedisCredentials: Equatable, Sendable {
    public var user: String?
    public var password: String?

    public init(user: String?, password: String?) {
        self.user = user
        self.password = password
    }
}

/// How to reach Redis over TLS: whom to trust, and who we are if Redis asks (`tls-auth-clients`).
public struct RedisTLSOptions: Equatable, Sendable {
    public var caFile: String?
    public var certificateFile: String?
    public var keyFile: String?
    /// The name the server's certificate must carry, when it is not the host connected to.
    public var serverName: String?

    public init() {}
}

/// Which Redis to use and how to log in. Parsed from a URL:
/// - `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`, or `rediss://...` for TLS;
/// - `unix:///PATH[?db=N]` (credentials: `unix://[[USER]:PASSWORD@]/PATH`);
/// - `sentinel://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER[/DB]`, or `sentinels://...`
///   with TLS to the sentinels and the primary; the credentials are the primary's.
/// User and password are percent-decoded.
public struct RedisEndpoint: Equatable, Sendable, CustomStringConvertible {
    public enum Server: Equatable, Sendable {
        case tcp(HostPort)
        case unix(path: String)
        /// The primary that these Redis Sentinels name `master`, found anew on every (re)connect.
        case sentinel(nodes: [HostPort], master: String)
    }

    public var server: Server
    public var db: Int
    public var credentials: RedisCredentials?
    public var tls: RedisTLSOptions?
    /// The sentinels' own login, when they require one (`requirepass` on the sentinels).
    public var sentinelCredentials: RedisCredentials?

    public init(server: Server, db: Int = 0, credentials: RedisCredentials? = nil, tls: RedisTLSOptions? = nil) {
        self.server = server
        self.db = db
        self.credentials = credentials
        self.tls = tls
    }

    public init(url: String) throws(RedisURLError) {
        guard let schemeEnd = url.firstRange(of: "://") else { throw RedisURLError("expected a scheme such as redis://") }
        let scheme = url[..<schemeEnd.lowerBound]
        var rest = url[schemeEnd.upperBound...]
        if let at = rest.lastIndex(of: "@"), !rest[..<at].contains("/") || scheme == "unix" {
            credentials = try RedisEndpoint.credentials(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        db = 0
        switch scheme {
        case "redis", "rediss":
            if let slash = rest.firstIndex(of: "/") {
                db = try RedisEndpoint.database(rest[rest.index(after: slash)...], allowEmpty: true)
                rest = rest[..<slash]
            }
            guard let address = HostPort(rest, defaultPort: 6379) else { throw RedisURLError("bad host or port '\(rest)'") }
            server = .tcp(address)
            if scheme == "rediss" { tls = RedisTLSOptions() }
        case "unix":
            if let q = rest.firstIndex(of: "?") {
                let query = rest[rest.index(after: q)...]
                guard query.hasPrefix("db=") else { throw RedisURLError("the only query it takes is ?db=N") }
                db = try RedisEndpoint.database(query.dropFirst(3), allowEmpty: false)
                rest = rest[..<q]
            }
            guard rest.hasPrefix("/") else { throw RedisURLError("expected unix:///absolute/path") }
            server = .unix(path: String(rest))
        case "sentinel", "sentinels":
            let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2 || parts.count == 3, !parts[1].isEmpty else {
                throw RedisURLError("expected sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB]")
            }
            var nodes: [HostPort] = []
            for node in parts[0].split(separator: ",") {
                guard let address = HostPort(node, defaultPort: 26379) else { throw RedisURLError("bad sentinel address '\(node)'") }
                nodes.append(address)
            }
            guard !nodes.isEmpty else { throw RedisURLError("name at least one sentinel") }
            if parts.count == 3 { db = try RedisEndpoint.database(parts[2], allowEmpty: false) }
            server = .sentinel(nodes: nodes, master: String(parts[1]))
            if scheme == "sentinels" { tls = RedisTLSOptions() }
        default:
            throw RedisURLError("unknown scheme \(scheme)://; expected redis://, rediss://, unix://, sentinel:// or sentinels://")
        }
    }

    private static func credentials(_ userinfo: Substring) throws(RedisURLError) -> RedisCredentials {
        let colon = userinfo.firstIndex(of: ":")
        let user = try percentDecoded(colon.map { userinfo[..<$0] } ?? userinfo)
        let password = try colon.map { (c) throws(RedisURLError) in try percentDecoded(userinfo[userinfo.index(after: c)...]) }
        return RedisCredentials(user: user.isEmpty ? nil : user, password: password)
    }

    private static func database(_ text: Substring, allowEmpty: Bool) throws(RedisURLError) -> Int {
        if text.isEmpty && allowEmpty { return 0 }
        guard let n = Int(text), n >= 0 else { throw RedisURLError("the database must be a number, not '\(text)'") }
        return n
    }

    /// What logs, `ping`, `stats` and `serve --check` show: the password masked.
    public var description: String {
        let tlsSuffix = tls == nil ? "" : "s"
        let login = credentials.map { "\($0.user ?? "")\($0.password == nil ? "" : ":***")@" } ?? ""
        switch server {
        case .tcp(let address): return "redis\(tlsSuffix)://\(login)\(address)/\(db)"
        case .unix(let path): return "unix://\(login)\(path)" + (db == 0 ? "" : "?db=\(db)")
        case .sentinel(let nodes, let master):
            return "sentinel\(tlsSuffix)://\(login)\(nodes.map(\.description).joined(separator: ","))/\(master)" + (db == 0 ? "" : "/\(db)")
        }
    }

    /// The same login and TLS settings for another server (a sentinel, or the primary it named).
    func at(_ address: HostPort, credentials: RedisCredentials?, db: Int) -> RedisEndpoint {
        var e = RedisEndpoint(server: .tcp(address), db: db, credentials: credentials, tls: tls)
        e.sentinelCredentials = nil
        return e
    }
}

public struct RedisURLError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

private func percentDecoded(_ text: Substring) throws(RedisURLError) -> String {
    var bytes: [UInt8] = []
    var i = text.utf8.startIndex
    let utf8 = text.utf8
    while i < utf8.endIndex {
        let c = utf8[i]
        if c == UInt8(ascii: "%") {
            let h1 = utf8.index(after: i)
            guard h1 < utf8.endIndex, utf8.index(after: h1) < utf8.endIndex,
                  let hi = JSONScanner.hexValue(utf8[h1]), let lo = JSONScanner.hexValue(utf8[utf8.index(after: h1)]) else {
                throw RedisURLError("bad percent-escape in the user or password")
            }
            bytes.append(hi << 4 | lo)
            i = utf8.index(h1, offsetBy: 2)
        } else {
            bytes.append(c)
            i = utf8.index(after: i)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}
