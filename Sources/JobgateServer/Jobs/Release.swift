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

    /// A lease whose reply did not reach its client: the job goes straight back, and the
    /// attempt it was counted as is taken back too.
    static func giveBack(id: String, token: String, _ g: Gateway) {
        release(id: id, token: token, delay: nil, undelivered: true, g) { result in
            if case .success = result { Log.info("lease not delivered; job back in its queue", ["id": id]) }
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
