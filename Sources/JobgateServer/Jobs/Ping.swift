/// `ping`: the version, Redis's state and every limit.
/// `{"op":"ping"}` -> `{"ok":true,"version":V,"redis":"ready","limits":{...}}`
enum Ping: OpHandler {
    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) {
        try r.rejectUnknownFields()
    }

    static func run(_ p: Void, _ g: Gateway, _ reply: ReplyTicket) {
        reply.ok { w in
            w.key("version"); w.string(jobgateVersion)
            w.key("redis"); w.string(g.store.state)
            w.key("redis_maxmemory_policy"); w.string(g.store.evictionPolicy)
            w.key("limits"); g.writeLimits(&w)
        }
    }
}
