/// `stats`: per-queue counts from Redis (the same on every gateway) and this gateway's counters.
/// `{"op":"stats"}` -> `{"ok":true,"queues":{Q:{"queued":N,...},...},"gateway":{...}}`
enum Stats: OpHandler {
    enum Row: Int, ScriptNames {
        case queue, queued, started, scheduled, deferred, failed, finished, canceled, paused, oldest_queued_seconds,
             rate_limited, limit_concurrency, limit_rate_max, limit_rate_per, limit_window, problem
    }

    /// The counts of a row, in the order `stats` and the metrics give them.
    static let counts: [Row] = [.queued, .started, .scheduled, .deferred, .failed, .finished, .canceled, .rate_limited]

    static let script = Script("stats", PackageResources.stats_lua, row: Row.names, writes: false)
    static var scripts: [Script] { [script] }

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) {
        try r.rejectUnknownFields()
    }

    static func run(_ p: Void, _ g: Gateway, _ reply: ReplyTicket) {
        g.store.run(script, argCount: 0) { _ in } done: { result in
            reply.answer(result) { rows, w in
                w.key("queues")
                w.raw("{")
                for i in 0..<rows.count {
                    let row = rows[i]
                    if i > 0 { w.raw(",") }
                    w.string(row[Row.queue])
                    w.raw(":{")
                    for (n, count) in counts.enumerated() {
                        if n > 0 { w.raw(",") }
                        w.string("\(count)"); w.raw(":"); w.int(row[count].integer)
                    }
                    w.key("paused"); w.bool(row[Row.paused].integer == 1)
                    w.key("oldest_queued_seconds")
                    if row[Row.oldest_queued_seconds].isNil { w.raw("null") } else { w.seconds(row[Row.oldest_queued_seconds].double) }
                    writeLimits(row, &w)
                    if !row[Row.problem].isNil { w.key("problem"); w.string(row[Row.problem]) }
                    w.raw("}")
                }
                w.raw("}")
                w.key("gateway")
                writeGatewayCounters(g, &w)
            }
        }
    }

    /// `"limits":{"window":K,"concurrency":N|null,"rate":{"max":M,"per":S}|null}`, for a capped
    /// queue only; its slots in use are its `started` count.
    private static func writeLimits(_ row: RedisReply, _ w: inout JSONWriter) {
        guard !row[Row.limit_concurrency].isNil || !row[Row.limit_rate_max].isNil else { return }
        // The caps follow a first member, as they do in the limit op's reply.
        w.key("limits"); w.raw("{\"window\":")
        w.int(row[Row.limit_window].isNil ? 0 : row[Row.limit_window].integer)
        Limit.writeCaps(concurrency: row[Row.limit_concurrency], rateMax: row[Row.limit_rate_max], ratePer: row[Row.limit_rate_per], &w)
        w.raw("}")
    }

    private static func writeGatewayCounters(_ g: Gateway, _ w: inout JSONWriter) {
        w.raw("{\"version\":"); w.string(jobgateVersion)
        w.key("uptime_seconds"); w.seconds(Double(g.loop.nowMs - g.startedMs) / 1000)
        w.key("connections"); w.int(g.sessionCount)
        w.key("connections_accepted"); w.int(g.counters.connectionsAccepted)
        w.key("waiting_leases"); w.int(g.waiters.count)
        w.key("waiting_results"); w.int(g.results.count)
        w.key("redis"); w.string(g.store.state)
        w.key("redis_maxmemory_policy"); w.string(g.store.evictionPolicy)
        w.key("redis_in_flight"); w.int(g.store.inFlight)
        w.key("errors"); w.int(g.counters.errors)
        w.key("lease_expiries"); w.int(g.counters.leaseExpiries)
        w.key("promoted"); w.int(g.counters.promoted)
        w.key("limits"); g.writeLimits(&w)
        w.key("ops"); w.raw("{")
        var first = true
        for (i, op) in Counters.opNames.enumerated() where g.counters.ops[i] > 0 {
            if !first { w.raw(",") }
            first = false
            w.string(op); w.raw(":"); w.int(g.counters.ops[i])
        }
        w.raw("}}")
    }
}
