/// `heartbeat`: the lease holder is still at work; the lease is pushed out, and the job's meta
/// may be replaced (`meta`) or get a progress figure (`progress`, stored as meta's "progress").
/// `{"op":"heartbeat","id":ID,"lease":T,"extend":S,"meta":{...},"progress":N}` ->
/// `{"ok":true,"expires_at":E}` (plus `"shutdown":true` once RQ's shutdown command named the
/// lease's worker)
enum Heartbeat: OpHandler {
    enum Argument: Int, ScriptNames { case id, lease, extend, meta, progress }
    enum Row: Int, ScriptNames { case expires_at, shutdown }

    static let script = Script("heartbeat", PackageResources.heartbeat_lua, arguments: Argument.names, row: Row.names, writes: true, whileFull: true)
    static var scripts: [Script] { [script] }

    struct Params {
        let lease: LeaseRef
        /// Seconds from now; 0 leaves the expiry alone; nil: the lease's own length.
        let extend: Double?
        let meta: [UInt8]?
        let progress: Double?
    }

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> Params {
        let lease = try LeaseRef.one(&r, g)
        let extend = try r.number("extend", in: 0...Gateway.maxLeaseSeconds)
        if let e = extend, e > 0 && e < 1 { throw OpError.bad("field 'extend' must be 0 (keep the expiry) or at least 1 second") }
        let meta = try r.raw("meta", .object).map { Array($0) }
        let progress = try r.number("progress", in: 0...100)
        try r.rejectUnknownFields()
        return Params(lease: lease, extend: extend, meta: meta, progress: progress)
    }

    static func run(_ p: Params, _ g: Gateway, _ reply: ReplyTicket) {
        g.store.run(script, argCount: Argument.allCases.count) { args in
            args.put(Argument.id, p.lease.id)
            args.put(Argument.lease, p.lease.token)
            args.put(Argument.extend, p.extend)
            args.put(Argument.meta, p.meta ?? [])
            args.put(Argument.progress, p.progress)
        } done: { result in
            reply.answer(result) { row, w in
                w.key("expires_at"); w.seconds(row[Row.expires_at].double)
                if row[Row.shutdown].integer == 1 { w.key("shutdown"); w.bool(true) }
            }
        }
    }
}
