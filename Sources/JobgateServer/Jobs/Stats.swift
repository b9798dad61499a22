/// `stats`: per-queue counts from Redis (the same on every gateway) and this gateway's counters.
extension Gateway {
    func stats(_ r: inout Request, _ reply: ReplyTicket) throws(OpError) {
        try r.rejectUnknownFields()
        store.run(.stats, argCount: 0) { _ in } done: { [unowned self] result in
            switch result {
            case .failure(let error):
                reply.fail(error)
            case .success(let rows):
                reply.ok { w in
                    w.key("queues")
                    w.raw("{")
                    for i in 0..<rows.count {
                        let row = rows[i]
                        if i > 0 { w.raw(",") }
                        w.string(row[0].string)
                        w.raw(":{\"queued\":"); w.int(row[1].integer)
                        w.key("started"); w.int(row[2].integer)
                        w.key("scheduled"); w.int(row[3].integer)
                        w.key("failed"); w.int(row[4].integer)
                        w.key("finished"); w.int(row[5].integer)
                        w.key("paused"); w.bool(row[6].integer == 1)
                        w.raw("}")
                    }
                    w.raw("}")
                    w.key("gateway")
                    writeGatewayCounters(&w)
                }
            }
        }
    }

    private func writeGatewayCounters(_ w: inout JSONWriter) {
        w.raw("{\"version\":"); w.string(jobgateVersion)
        w.key("uptime_seconds"); w.seconds(Double(loop.nowMs - startedMs) / 1000)
        w.key("connections"); w.int(sessions.count)
        w.key("connections_accepted"); w.int(counters.connectionsAccepted)
        w.key("waiting_leases"); w.int(waiters.count)
        w.key("redis"); w.string(store.state)
        w.key("redis_in_flight"); w.int(store.inFlight)
        w.key("errors"); w.int(counters.errors)
        w.key("lease_expiries"); w.int(counters.leaseExpiries)
        w.key("promoted"); w.int(counters.promoted)
        w.key("limits"); writeLimits(&w)
        w.key("ops"); w.raw("{")
        var first = true
        for (i, op) in Counters.opNames.enumerated() where counters.ops[i] > 0 {
            if !first { w.raw(",") }
            first = false
            w.string(op); w.raw(":"); w.int(counters.ops[i])
        }
        w.raw("}}")
    }
}
