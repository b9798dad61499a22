@preconcurrency import CLibUV
@preconcurrency import Glibc

/// An IPv4 or IPv6 address with its port, or a Unix socket path, as the socket calls take and give it.
struct SocketAddress: CustomStringConvertible {
    private var storage = sockaddr_storage()

    /// A literal IP address (v4 or v6) and port; nil for anything else, such as a host name.
    init?(ip: String, port: Int) {
        let rc = withSockaddr(as: sockaddr_in.self) { uv_ip4_addr(ip, Int32(port), $0) }
        if rc != 0 {
            guard withSockaddr(as: sockaddr_in6.self, { uv_ip6_addr(ip, Int32(port), $0) }) == 0 else { return nil }
        }
    }

    /// A Unix socket's path; nil when it does not fit `sun_path`.
    init?(unixPath path: String) {
        let bytes = Array(path.utf8)
        var fits = false
        withSockaddr(as: sockaddr_un.self) { p in
            p.pointee.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &p.pointee.sun_path) { raw in
                guard bytes.count < raw.count else { return }
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
                fits = true
            }
        }
        if !fits { return nil }
    }

    /// The local (`peer: false`) or remote address of a TCP handle; nil if it has none. libuv
    /// reports an error kept from `bind` (address in use) here, as `error`.
    static func of(_ tcp: UnsafeMutablePointer<uv_tcp_t>, peer: Bool, error: UnsafeMutablePointer<Int32>? = nil) -> SocketAddress? {
        var address = SocketAddress(empty: ())
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let rc = address.withSockaddr(as: sockaddr.self) { p in
            peer ? uv_tcp_getpeername(tcp, p, &length) : uv_tcp_getsockname(tcp, p, &length)
        }
        error?.pointee = rc
        return rc == 0 ? address : nil
    }

    private init(empty: Void) {}

    var port: Int {
        var copy = self
        if storage.ss_family == sa_family_t(AF_INET6) {
            return copy.withSockaddr(as: sockaddr_in6.self) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
        }
        return copy.withSockaddr(as: sockaddr_in.self) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
    }

    /// `ip:port`, or `[ip]:port` for IPv6.
    var description: String {
        var copy = self
        var text = [CChar](repeating: 0, count: 64)
        if storage.ss_family == sa_family_t(AF_INET6) {
            _ = copy.withSockaddr(as: sockaddr_in6.self) { uv_ip6_name($0, &text, text.count) }
            return "[\(SocketAddress.string(text))]:\(port)"
        }
        _ = copy.withSockaddr(as: sockaddr_in.self) { uv_ip4_name($0, &text, text.count) }
        return "\(SocketAddress.string(text)):\(port)"
    }

    private static func string(_ nulTerminated: [CChar]) -> String {
        String(decoding: nulTerminated.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    mutating func withSockaddr<T, R>(as _: T.Type, _ body: (UnsafeMutablePointer<T>) -> R) -> R {
        withUnsafeMutablePointer(to: &storage) { p in p.withMemoryRebound(to: T.self, capacity: 1, body) }
    }
}
