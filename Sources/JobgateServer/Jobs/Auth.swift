/// `auth`: a TCP client proves it knows the gateway's token before anything else.
extension Gateway {
    static let maxFailedAuths = 3

    func auth(_ r: inout Request, _ reply: ReplyTicket) throws(OpError) {
        let given = Array(try r.requiredString("token").utf8)
        try r.rejectUnknownFields()
        let session = reply.session
        guard let token = config.token else {
            reply.ok()  // no token configured: everyone is in already
            return
        }
        if Gateway.constantTimeEqual(given, token) {
            session.authenticated = true
            reply.ok()
            return
        }
        counters.authFailures += 1
        session.failedAuths += 1
        Log.warn("auth failed", ["peer": session.connection.peer, "attempt": session.failedAuths])
        reply.fail(OpError(.unauthorized, "wrong token"))
        // Guessing needs many tries; a connection gets a few, however they are sent: lines
        // after the last allowed failure are not run, and the connection closes.
        if session.failedAuths >= Gateway.maxFailedAuths { session.stopReading() }
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
