@preconcurrency import COpenSSL
@preconcurrency import Glibc

/// Who may use the console, and proof that a POST comes from the console's own page.
///
/// A login is a signed cookie, `<id>.<mac>`: the id is random with its issue time, the mac an
/// HMAC of it under a secret made at start, so nothing is stored per login and a restart logs
/// everyone out. The CSRF token is another HMAC of the same id: only a page served to that login
/// knows it, and it is checked on every POST. The gateway's token itself is never stored in the
/// cookie nor written back in any response.
struct ConsoleAccess {
    static let cookieName = "jobgate_console"
    static let loginLifetimeSeconds = 24 * 3600

    let token: [UInt8]?
    private let secret: [UInt8]
    /// Set on a loopback listener: the Host must then name the loopback too, so a page from
    /// another site cannot reach the console through a DNS name rebound to 127.0.0.1.
    private let loopbackOnly: Bool
    private let secureCookie: Bool

    init(token: [UInt8]?, address: ListenAddress) throws(HTTPFailure) {
        self.token = token
        secret = try randomBytes(32)
        loopbackOnly = address.isLoopback && !address.isUnix
        secureCookie = address.isTLS
    }

    /// A new login: its id and the Set-Cookie header that carries it.
    func newLogin() throws(HTTPFailure) -> (id: String, cookie: (String, String)) {
        let id = hex(try randomBytes(16)) + "-" + String(time(nil))
        let value = id + "." + mac("login:" + id)
        return (id, ("Set-Cookie", cookieHeader(value, maxAge: ConsoleAccess.loginLifetimeSeconds)))
    }

    var logoutCookie: (String, String) { ("Set-Cookie", cookieHeader("", maxAge: 0)) }

    private func cookieHeader(_ value: String, maxAge: Int) -> String {
        "\(ConsoleAccess.cookieName)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secureCookie ? "; Secure" : "")
    }

    /// The id of the request's login, if its cookie is genuine and not expired.
    func loginID(of request: HTTPRequest) -> String? {
        guard let value = request.cookie(ConsoleAccess.cookieName), let dot = value.lastIndex(of: ".") else { return nil }
        let id = String(value[..<dot])
        guard same(String(value[value.index(after: dot)...]), mac("login:" + id)),
              let dash = id.lastIndex(of: "-"), let issued = Int(id[id.index(after: dash)...]) else { return nil }
        let age = time(nil) - issued
        return age >= 0 && age <= ConsoleAccess.loginLifetimeSeconds ? id : nil
    }

    func csrfToken(for loginID: String) -> String { mac("csrf:" + loginID) }

    func isCSRFTokenValid(_ request: HTTPRequest, loginID: String) -> Bool {
        guard let given = request.headers["x-csrf-token"] else { return false }
        return same(given, csrfToken(for: loginID))
    }

    func isToken(_ given: String) -> Bool {
        guard let token else { return true }
        return same(given, String(decoding: token, as: UTF8.self))
    }

    /// Refuses requests whose Host or Origin shows they were not made by the console's own page.
    func checkOrigin(_ request: HTTPRequest) throws(HTTPFailure) {
        guard let host = request.headers["host"] else { throw HTTPFailure(400, "BAD_REQUEST", "no Host header") }
        if loopbackOnly && !isLoopbackName(host) {
            throw HTTPFailure(403, "FORBIDDEN", "this console listens on the loopback; open it as localhost or 127.0.0.1")
        }
        if request.headers["sec-fetch-site"] == "cross-site" {
            throw HTTPFailure(403, "FORBIDDEN", "cross-site requests are refused")
        }
        if let origin = request.headers["origin"], origin != "http://" + host && origin != "https://" + host {
            throw HTTPFailure(403, "FORBIDDEN", "the request's Origin is not this console")
        }
    }

    /// Compares the MACs of two secrets rather than the secrets: how long `==` takes then tells
    /// nothing about how much of a guess was right.
    private func same(_ given: String, _ expected: String) -> Bool {
        mac("compare:" + given) == mac("compare:" + expected)
    }

    private func mac(_ text: String) -> String {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let data = Array(text.utf8)
        _ = HMAC(EVP_sha256(), secret, Int32(secret.count), data, data.count, &out, &length)
        return hex(out.prefix(Int(length)))
    }
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
private func isLoopbackName(_ host: String) -> Bool {
    var name = Substring(host)
    if name.hasPrefix("[") {
        name = name.dropFirst().prefix(while: { $0 != "]" })
    } else if let colon = name.lastIndex(of: ":") {
        name = name[..<colon]
    }
    return name == "localhost" || name == "::1" || (name.hasPrefix("127.") && name.allSatisfy { $0.isNumber || $0 == "." })
}



private func randomBytes(_ count: Int) throws(HTTPFailure) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    guard getentropy(&bytes, count) == 0 else { throw HTTPFailure(503, "UNAVAILABLE", "no randomness available for a login") }
    return bytes
}

private func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
    return String(decoding: out, as: UTF8.self)
}
