@preconcurrency import Glibc

/// The web console's routes. Its JSON API runs protocol ops: each API request becomes one
/// request line handed to the gateway as a session's line would be, and the reply line is the
/// response body, so the console has every op's validation and errors and nothing of its own
/// to keep in step with them.
final class Console {
    private let gateway: RequestHandler
    private let readOnly: Bool
    private let access: ConsoleAccess
    private let loginThrottle: LoginThrottle

    init(settings: ConsoleSettings, gateway: RequestHandler, token: [UInt8]?, loop: EventLoop) throws(HTTPFailure) {
        self.gateway = gateway
        readOnly = settings.readOnly
        access = try ConsoleAccess(token: token, address: settings.address)
        loginThrottle = LoginThrottle(loop: loop)
    }

    func respond(to request: HTTPRequest, over connection: Connection, _ answer: @escaping (HTTPResponse) -> Void) {
        let done = { (response: HTTPResponse) in
            var response = response
            response.headers += ConsoleAssets.securityHeaders
            answer(response)
        }
        do throws(HTTPFailure) {
            try access.checkOrigin(request)
            switch (request.method, request.path) {
            case ("GET", "/"): done(try page(request))
            case ("GET", "/console.js"): done(ConsoleAssets.script)
            case ("GET", "/console.css"): done(ConsoleAssets.style)
            case ("POST", "/login"): done(try login(request, peer: connection.peer))
            case ("POST", "/logout"): done(HTTPResponse.redirect(to: "/", headers: [access.logoutCookie]))
            case ("POST", "/api/op"):
                try checkAction(request)
                try run(request.body, allowed: ConsoleOps.allowed(readOnly: readOnly), over: connection, done)
            case (_, "/"), (_, "/console.js"), (_, "/console.css"), (_, "/login"), (_, "/logout"), (_, "/api/op"):
                throw HTTPFailure(405, "BAD_REQUEST", "\(request.method) is not accepted for \(request.path)")
            case ("GET", let path) where path.hasPrefix("/api/"):
                if access.token != nil && access.loginID(of: request) == nil { throw notLoggedIn }
                try run(ConsoleOps.line(op: String(path.dropFirst(5)), query: request.query), allowed: ConsoleOps.read, over: connection, done)
            default:
                throw HTTPFailure(404, "NOT_FOUND", "no such page: \(request.path)")
            }
        } catch {
            done(.failure(error))
        }
    }

    private var notLoggedIn: HTTPFailure {
        HTTPFailure(401, "UNAUTHORIZED", "log in to the console first (POST /login with the gateway's token)")
    }

    /// The page, or the login form when the gateway has a token and the browser no login yet.
    /// Without a token, a first visit gets a login at once: the CSRF token needs one.
    private func page(_ request: HTTPRequest) throws(HTTPFailure) -> HTTPResponse {
        if let id = access.loginID(of: request) { return ConsoleAssets.page(csrfToken: access.csrfToken(for: id), readOnly: readOnly, withLogout: access.token != nil) }
        if access.token != nil { return ConsoleAssets.loginPage(problem: nil) }
        let login = try access.newLogin()
        var page = ConsoleAssets.page(csrfToken: access.csrfToken(for: login.id), readOnly: readOnly, withLogout: false)
        page.headers.append(login.cookie)
        return page
    }

    private func login(_ request: HTTPRequest, peer: String) throws(HTTPFailure) -> HTTPResponse {
        guard access.token != nil else { return HTTPResponse.redirect(to: "/") }
        if loginThrottle.isLockedOut(peer: peer) {
            throw HTTPFailure(429, "OVERLOADED", "too many failed logins; wait a minute")
        }
        let given = try formFields(Substring(String(decoding: request.body, as: UTF8.self))).first { $0.name == "token" }?.value ?? ""
        guard access.isToken(given) else {
            loginThrottle.failed(peer: peer)
            Log.warn("console login failed", ["peer": peer])
            var page = ConsoleAssets.loginPage(problem: "Wrong token.")
            page.status = 401
            return page
        }
        Log.info("console login", ["peer": peer])
        return HTTPResponse.redirect(to: "/", headers: [try access.newLogin().cookie])
    }

    /// Every action needs a login and the CSRF token of its page.
    private func checkAction(_ request: HTTPRequest) throws(HTTPFailure) {
        guard let id = access.loginID(of: request) else {
            throw access.token == nil ? HTTPFailure(403, "FORBIDDEN", "no console cookie; reload the page") : notLoggedIn
        }
        guard access.isCSRFTokenValid(request, loginID: id) else {
            throw HTTPFailure(403, "FORBIDDEN", "missing or wrong X-CSRF-Token header; reload the page")
        }
    }

    /// Hands one request line to the gateway through a session of its own whose reply becomes
    /// the response (200 whenever the gateway answered; the body's `ok` tells how).
    private func run(_ line: [UInt8], allowed: Set<String>, over connection: Connection,
                     _ done: @escaping (HTTPResponse) -> Void) throws(HTTPFailure) {
        if let op = ConsoleOps.op(of: line), !allowed.contains(op) {
            throw HTTPFailure(403, "FORBIDDEN", readOnly && ConsoleOps.actions.contains(op)
                ? "the console is read-only (--http-read-only)" : "op '\(op)' is not available from the console")
        }
        let session = Session(requestFrom: connection, handler: gateway) { reply in done(.json(reply)) }
        session.authenticated = true
        session.submit(line)
    }
}
