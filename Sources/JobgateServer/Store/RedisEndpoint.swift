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

public enum RedisEndpoint: Equatable, CustomStringConvertible, Sendable {
    case tcp(host: String, port: Int, db: Int)
    case unix(path: String, db: Int)
    /// The primary that these Redis Sentinels name `master`, found anew on every (re)connect.
    case sentinel(nodes: [HostPort], master: String, db: Int)

    /// `redis://host:port/db`, `unix:///path/to.sock` (optionally `?db=N`), or
    /// `sentinel://host:port[,host:port...]/master-name[/db]`.
    public init?(url: String) {
        if url.hasPrefix("unix://") {
            var rest = String(url.dropFirst("unix://".count))
            var db = 0
            if let q = rest.firstIndex(of: "?") {
                let query = rest[rest.index(after: q)...]
                guard query.hasPrefix("db="), let n = Int(query.dropFirst(3)), n >= 0 else { return nil }
                db = n
                rest = String(rest[..<q])
            }
            guard rest.hasPrefix("/") else { return nil }
            self = .unix(path: rest, db: db)
        } else if url.hasPrefix("redis://") {
            var rest = Substring(url.dropFirst("redis://".count))
            var db = 0
            if let slash = rest.firstIndex(of: "/") {
                let dbText = rest[rest.index(after: slash)...]
                if !dbText.isEmpty {
                    guard let n = Int(dbText), n >= 0 else { return nil }
                    db = n
                }
                rest = rest[..<slash]
            }
            guard let hp = HostPort(rest, defaultPort: 6379) else { return nil }
            self = .tcp(host: hp.host, port: hp.port, db: db)
        } else if url.hasPrefix("sentinel://") {
            let parts = url.dropFirst("sentinel://".count).split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2 || parts.count == 3, !parts[1].isEmpty else { return nil }
            var nodes: [HostPort] = []
            for node in parts[0].split(separator: ",") {
                guard let hp = HostPort(node, defaultPort: 26379) else { return nil }
                nodes.append(hp)
            }
            var db = 0
            if parts.count == 3 {
                guard let n = Int(parts[2]), n >= 0 else { return nil }
                db = n
            }
            guard !nodes.isEmpty else { return nil }
            self = .sentinel(nodes: nodes, master: String(parts[1]), db: db)
        } else {
            return nil
        }
    }

    public var db: Int {
        switch self {
        case .tcp(_, _, let db), .unix(_, let db), .sentinel(_, _, let db): db
        }
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port, let db): "redis://\(HostPort(host: host, port: port))/\(db)"
        case .unix(let path, let db): db == 0 ? "unix://\(path)" : "unix://\(path)?db=\(db)"
        case .sentinel(let nodes, let master, let db):
            "sentinel://\(nodes.map(\.description).joined(separator: ","))/\(master)" + (db == 0 ? "" : "/\(db)")
        }
    }
}
