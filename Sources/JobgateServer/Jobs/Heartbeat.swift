/// `heartbeat`: the lease holder is still at work; the lease is pushed out.
/// `{"op":"heartbeat","id":ID,"lease":T,"extend":S}` -> `{"ok":true,"expires_at":E}`
enum Heartbeat: OpHandler {
    enum Argument: Int, ScriptNames { case id, lease, extend }

    static let script = Script("heartbeat", PackageResources.heartbeat_lua, arguments: Argument.names, writes: true)
    static var scripts: [Script] { [script] }

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> (lease: LeaseRef, extend: Double?) {
        let lease = try LeaseRef.one(&r, g)
        let extend = try r.number("extend", in: 1...Gateway.maxLeaseSeconds)
        try r.rejectUnknownFields()
        return (lease, extend)
    }

    static func run(_ p: (lease: LeaseRef, extend: Double?), _ g: Gateway, _ reply: ReplyTicket) {
        g.store.run(script, argCount: Argument.allCases.count) { args in
            args.put(Argument.id, p.lease.id)
            args.put(Argument.lease, p.lease.token)
            args.put(Argument.extend, p.extend)
        } done: { result in
            reply.answer(result) { expires, w in w.key("expires_at"); w.seconds(expires.double) }
        }
    }
}
