/// `quit`: answered, then the connection closes once every earlier reply is written. For
/// clients that cannot half-close their side, such as `openssl s_client` over TLS.
extension Gateway {
    func quit(_ r: inout Request, _ reply: ReplyTicket) throws(OpError) {
        try r.rejectUnknownFields()
        reply.ok()
        reply.session.stopReading()
    }
}
