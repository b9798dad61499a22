/// `auth`: a TCP or TLS client proves it knows the gateway's token before anything else.
/// `{"op":"auth","token":T}` -> `{"ok":true}`, or UNAUTHORIZED; the third wrong token closes
/// the connection, and the fifth in a minute from one address refuses it every token until
/// the minute is over.
enum Auth: OpHandler {
    static let maxFailures = 3

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> [UInt8] {
        let given = Array(try r.requiredString("token").utf8)
        try r.rejectUnknownFields()
        return given
    }

    static func run(_ given: [UInt8], _ g: Gateway, _ reply: ReplyTicket) {
        let session = reply.session
        guard let token = g.config.token else {
            reply.ok()  // no token configured: everyone is in already
            return
        }
        let peer = session.connection.peer
        if g.loginThrottle.isLockedOut(peer: peer) {
            g.counters.authFailures += 1
            reply.fail(OpError(.unauthorized, "too many wrong tokens from this address; try again in a minute"))
            session.stopReading()
            return
        }
        if constantTimeEqual(given, token) {
            session.authenticated = true
            reply.ok()
            return
        }
        g.counters.authFailures += 1
        session.failedAuths += 1
        let lockedOut = g.loginThrottle.failed(peer: peer)
        Log.warn(lockedOut ? "auth failed; refusing this address for a minute" : "auth failed",
                 ["peer": peer, "attempt": session.failedAuths])
        reply.fail(OpError(.unauthorized, "wrong token"))
        // Guessing needs many tries; a connection gets a few, however they are sent: lines
        // after the last allowed failure are not run, and the connection closes.
        if session.failedAuths >= maxFailures || lockedOut { session.stopReading() }
    }

    /// Compares without an early exit, so timing does not reveal how much of a guess was right.
    /// Lengths differ in any bit of the whole count, not only its low byte.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = a.count ^ b.count
        for i in 0..<max(a.count, b.count) {
            diff |= Int((i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0))
        }
        return diff == 0
    }
}
