/// `release`: a leased job goes back without spending a retry, now (at the front of its queue)
/// or after `delay`.
/// `{"op":"release","id":ID,"lease":T,"delay":S}` -> `{"ok":true,"state":"queued"|"scheduled","run_at":E}`
enum Release: OpHandler {
    enum Argument: Int, ScriptNames { case id, lease, delay, undelivered }
    enum Row: Int, ScriptNames { case state, run_at }

    static let script = Script("release", PackageResources.release_lua, arguments: Argument.names, row: Row.names, writes: true)
    static var scripts: [Script] { [script] }

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> (lease: LeaseRef, delay: Double?) {
        let lease = try LeaseRef.one(&r, g)
        let delay = try r.number("delay", in: 0...Gateway.maxDelaySeconds)
        try r.rejectUnknownFields()
        return (lease, delay)
    }

    static func run(_ p: (lease: LeaseRef, delay: Double?), _ g: Gateway, _ reply: ReplyTicket) {
        release(id: p.lease.id, token: p.lease.token, delay: p.delay, g) { result in
            reply.answer(result) { row, w in
                w.key("state"); w.string(row[Row.state])
                if !row[Row.run_at].isNil { w.key("run_at"); w.int(row[Row.run_at].integer) }
            }
        }
    }

    /// Leases whose reply did not reach their client: the jobs go straight back, and the
    /// attempts they were counted as are taken back too. One log line says how many went back
    /// (a stalled lease of 1,000 jobs is one event, not 1,000).
    static func giveBack(_ leases: [(id: String, token: String)], _ g: Gateway) {
        var waiting = leases.count, back = 0
        for lease in leases {
            release(id: lease.id, token: lease.token, delay: nil, undelivered: true, g) { result in
                if case .success = result { back += 1 }
                waiting -= 1
                if waiting == 0, back > 0 {
                    Log.info("lease not delivered; jobs back in their queues", ["jobs": back, "first": leases[0].id])
                }
            }
        }
    }

    private static func release(id: String, token: String, delay: Double?, undelivered: Bool = false, _ g: Gateway,
                                _ done: @escaping (Result<RedisReply, OpError>) -> Void) {
        g.store.run(script, argCount: Argument.allCases.count) { args in
            args.put(Argument.id, id)
            args.put(Argument.lease, token)
            args.put(Argument.delay, delay)
            args.put(Argument.undelivered, undelivered ? "1" : "")
        } done: { result in done(result) }
    }
}
