#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a gateway listens: `tcp://HOST:PORT`, `tls://HOST:PORT` or `unix:PATH`.
public enum JobgateAddress: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    /// TCP wrapped in TLS: the client verifies the gateway's certificate against
    /// ``JobgateTLSOptions`` and checks that it names `host`.
    case tls(host: String, port: Int)
    case unix(path: String)

    /// Where the gateway listens by default.
    public static let defaultTCP = JobgateAddress.tcp(host: "127.0.0.1", port: 7700)

    /// `JOBGATE_ADDR` from the environment, or `tcp://127.0.0.1:7700` when it is unset or empty.
    ///
    /// Throws ``JobgateClientError/invalidAddress(_:)`` when `JOBGATE_ADDR` is set but invalid.
    public static func fromEnvironment() throws -> JobgateAddress {
        let value = getenv("JOBGATE_ADDR").map { String(cString: $0) }
        return try fromEnvironment(["JOBGATE_ADDR": value].compactMapValues { $0 })
    }

    /// Like ``fromEnvironment()``, reading `JOBGATE_ADDR` from `environment`.
    public static func fromEnvironment(_ environment: [String: String]) throws -> JobgateAddress {
        guard let value = environment["JOBGATE_ADDR"], !value.isEmpty else { return defaultTCP }
        return try JobgateAddress(parsing: value)
    }

    /// Parses `tcp://HOST:PORT` or `tls://HOST:PORT` (an IPv6 host goes in brackets:
    /// `tcp://[::1]:7700`), `unix:PATH` or `unix:///absolute/path`.
    public init(parsing text: String) throws {
        if text.hasPrefix("unix:") {
            var path = String(text.dropFirst("unix:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty else { throw JobgateClientError.invalidAddress("'\(text)' has no socket path") }
            self = .unix(path: path)
        } else if text.hasPrefix("tcp://") {
            let (host, port) = try Self.hostAndPort(text.dropFirst("tcp://".count), in: text)
            self = .tcp(host: host, port: port)
        } else if text.hasPrefix("tls://") {
            let (host, port) = try Self.hostAndPort(text.dropFirst("tls://".count), in: text)
            self = .tls(host: host, port: port)
        } else {
            throw JobgateClientError.invalidAddress("'\(text)' is not tcp://HOST:PORT, tls://HOST:PORT or unix:PATH")
        }
    }

    /// `HOST:PORT` or `[IPv6]:PORT`, the part after the scheme of `text`.
    private static func hostAndPort(_ rest: Substring, in text: String) throws -> (String, Int) {
        let host: Substring
        let portText: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix(":") else {
                throw JobgateClientError.invalidAddress("'\(text)': expected [IPv6]:PORT after the scheme")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            portText = rest[rest.index(close, offsetBy: 2)...]
        } else {
            guard let colon = rest.lastIndex(of: ":") else {
                throw JobgateClientError.invalidAddress("'\(text)' has no port")
            }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        guard !host.isEmpty else { throw JobgateClientError.invalidAddress("'\(text)' has no host") }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw JobgateClientError.invalidAddress("'\(text)' has no valid port (1-65535)")
        }
        return (String(host), port)
    }

    /// The address in the form ``init(parsing:)`` reads.
    public var description: String {
        switch self {
        case .tcp(let host, let port): "tcp://\(Self.bracketed(host)):\(port)"
        case .tls(let host, let port): "tls://\(Self.bracketed(host)):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }

    private static func bracketed(_ host: String) -> String {
        host.contains(":") ? "[\(host)]" : host
    }
}
