/// `lease`: hands out jobs in queue priority order, waiting up to `wait` seconds for one.
/// `{"op":"lease","queues":[Q,...],"wait":S,"count":N,"lease_for":S,"worker":W}` ->
/// `{"ok":true,"job":{...}|null}`, or with `count`: `{"ok":true,"jobs":[...]}`
enum Lease: OpHandler {
    enum Argument: Int, ScriptNames { case count, lease_for, worker, peer, queue_count }
    /// One row per leased job, flat.
    enum Row: Int, ScriptNames {
        case id, queue, data, meta, retries_left, attempt, expires_at, lease, lease_seconds
    }

    static let script = Script("lease", PackageResources.lease_lua, arguments: Argument.names, rows: Row.names, writes: true)
    static var scripts: [Script] { [script] }

    struct Params {
        var queues: [String]
        var count: Int
        var leaseFor: Double?
        var worker: String
        var waitMs: UInt64
        /// `count` was given: the reply is a `jobs` list rather than one `job`.
        var wantsList: Bool
    }

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> Params {
        var queues: [String] = []
        if let list = try r.spanIfPresent("queues", .array) {
            let line = r.line
            do {
                try JSONScanner.elements(of: list, in: line) { q in
                    guard q.kind == .string else { throw OpError.bad("field 'queues' must be a list of queue names") }
                    queues.append(q.string(in: line))
                }
            } catch let error as OpError {
                throw error
            } catch {
                throw OpError(.internal, "\(error)")
            }
        } else if let one = try r.string("queue") {
            queues = [one]
        }
        if queues.isEmpty {
            let what = r.has("queues") ? "field 'queues' must name at least one queue" : "missing field 'queues'"
            throw OpError.bad(what + " (a list of queue names, highest priority first)")
        }
        guard queues.count <= Gateway.maxLeaseQueues else {
            throw OpError.bad("field 'queues' names at most \(Gateway.maxLeaseQueues) queues")
        }
        for q in queues { try Gateway.checkQueue(q, field: "queue name '\(q)'") }
        let wait = try r.number("wait", in: 0...g.config.maxWait) ?? 0
        let count = try r.integer("count", in: 1...g.config.maxLeaseCount)
        let leaseFor = try r.number("lease_for", in: 1...Gateway.maxLeaseSeconds)
        let worker = try r.string("worker") ?? ""
        guard worker.utf8.count <= Names.maxLength else { throw OpError.bad("field 'worker' is longer than \(Names.maxLength) bytes") }
        try r.rejectUnknownFields()
        return Params(queues: queues, count: count ?? 1, leaseFor: leaseFor, worker: worker,
                      waitMs: UInt64(wait * 1000), wantsList: count != nil)
    }

    static func run(_ p: Params, _ g: Gateway, _ reply: ReplyTicket) {
        // A named worker shows in RQ with its connection's address (only it needs one).
        let peer = p.worker.isEmpty ? "" : reply.session.connection.peer
        g.waiters.start(LeaseWaiter(reply: reply, queues: p.queues, deadlineMs: g.loop.nowMs + p.waitMs,
                                    take: { done in take(p, peer: peer, g, done) },
                                    answer: { jobs, shutdown in render(jobs, shutdown: shutdown, p, g, reply) },
                                    giveBack: { jobs in giveBack(jobs, g) }))
    }

    /// `shutdown`: RQ's shutdown command named this worker; it gets no job and should stop.
    private static func render(_ jobs: [LeasedJob], shutdown: Bool, _ p: Params, _ g: Gateway, _ reply: ReplyTicket) {
        // A lease the client never reads would sit until it expires and then count as a failed
        // attempt: if the connection breaks just after, the jobs go straight back instead.
        if !jobs.isEmpty { reply.session.watchDelivery { giveBack(jobs, g) } }
        reply.ok { out in
            if shutdown { out.key("shutdown"); out.bool(true) }
            if p.wantsList {
                out.key("jobs")
                out.raw("[")
                for (i, job) in jobs.enumerated() {
                    if i > 0 { out.raw(",") }
                    job.write(&out)
                }
                out.raw("]")
            } else {
                out.key("job")
                if let job = jobs.first { job.write(&out) } else { out.raw("null") }
            }
        }
    }

    /// One attempt at taking jobs; `done` gets the jobs (possibly none) and whether undecodable
    /// jobs were taken out of the way (then another attempt may find good ones).
    private static func take(_ p: Params, peer: String, _ g: Gateway, _ done: @escaping (LeaseWaiter.Taken) -> Void) {
        var tokens: [String] = []
        for _ in 0..<p.count { tokens.append(g.ids.leaseToken()) }
        g.store.run(script, argCount: Argument.allCases.count + p.queues.count + p.count) { args in
            args.put(Argument.count, p.count)
            args.put(Argument.lease_for, p.leaseFor)
            args.put(Argument.worker, p.worker)
            args.put(Argument.peer, peer)
            args.put(Argument.queue_count, p.queues.count)
            for q in p.queues { args.arg(q) }
            for t in tokens { args.arg(t) }
        } done: { result in
            switch result {
            case .failure(let error):
                g.lostLeases.leaseFailed(queues: p.queues, tokens: tokens, error)
                done(.failure(error))
            case .success(let reply):
                let rows = reply[0].rows(Row.self)
                var jobs: [LeasedJob] = []
                var broken: [(id: String, token: String)] = []
                for i in 0..<rows.count {
                    let row = rows[i]
                    if let job = LeasedJob(row: row, zlib: g.zlib) {
                        jobs.append(job)
                    } else {
                        broken.append((row[Row.id].string, row[Row.lease].string))
                    }
                }
                for b in broken { failUndecodable(id: b.id, token: b.token, g) }
                done(.success((jobs, !broken.isEmpty, reply[1].integer == 1)))
            }
        }
    }

    /// A job whose data is not RQ's JSON form (say, pickled by a default RQ producer) cannot be
    /// handed to a worker; it goes to the failed registry with the reason, where RQ's tools see it.
    private static func failUndecodable(id: String, token: String, _ g: Gateway) {
        let text = Array("jobgate cannot decode this job's data: it is not zlib/JSON [\"func\", null, [args], {kwargs}] (was it enqueued with RQ's default pickle serializer?)".utf8)
        Fail.settle(id: id, token: token, errorText: text[...], retry: false, g) { _ in }
    }

    /// Jobs leased for a client that went away go straight back, without spending a retry.
    private static func giveBack(_ jobs: [LeasedJob], _ g: Gateway) {
        Release.giveBack(jobs.map { ($0.id, $0.token) }, g)
    }
}

/// A leased job as the lease script returned it, with its payload located in the inflated data.
struct LeasedJob {
    let id: String
    let queue: String
    let data: JobData
    let meta: [UInt8]?
    let retriesLeft: Int
    let attempt: Int
    let expiresAt: Double
    let token: String
    let leaseSeconds: Double

    init?(row: FlatRow<Lease.Row>, zlib: Zlib) {
        typealias R = Lease.Row
        guard let data = JobData.decode(row[R.data].bytes, zlib: zlib) else { return nil }
        id = row[R.id].string
        queue = row[R.queue].string
        self.data = data
        let m = row[R.meta]
        meta = m.isNil || (try? JSONScanner.validate(m.bytes)) == nil ? nil : Array(m.bytes)
        retriesLeft = row[R.retries_left].isNil ? 0 : Int(row[R.retries_left].string) ?? 0
        attempt = row[R.attempt].integer
        expiresAt = row[R.expires_at].double
        token = row[R.lease].string
        leaseSeconds = row[R.lease_seconds].double
    }

    func write(_ w: inout JSONWriter) {
        w.raw("{\"id\":"); w.string(id)
        w.key("queue"); w.string(queue)
        w.key("func"); data.write(data.function, to: &w)
        w.key("args"); data.write(data.args, to: &w)
        w.key("kwargs"); data.write(data.kwargs, to: &w)
        w.key("meta"); if let meta { w.raw(meta) } else { w.raw("null") }
        w.key("lease"); w.string(token)
        w.key("expires_at"); w.seconds(expiresAt)
        w.key("lease_seconds"); w.seconds(leaseSeconds)
        w.key("attempt"); w.int(attempt)
        w.key("retries_left"); w.int(retriesLeft)
        w.raw("}")
    }
}
