/// `quit`: answered, then the connection closes once every earlier reply is written. For
/// clients that cannot half-close their side, such as `openssl s_client` over TLS.
/// `{"op":"quit"}` -> `{"ok":true}`
enum Quit: OpHandler {
    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) {
        try r.rejectUnknownFields()
    }

    static func run(_ p: Void, _ g: Gateway, _ reply: ReplyTicket) {
        reply.ok()
        reply.session.stopReading()
    }
}
