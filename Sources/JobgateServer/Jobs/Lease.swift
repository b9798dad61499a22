/// `lease`: hands out jobs in queue priority order, waiting up to `wait` seconds for one.
struct LeaseParams {
    var queues: [String]
    var count: Int
    var leaseFor: Double?
    var worker: String
    /// `count` was given: the reply is a `jobs` list rather than one `job`.
    var wantsList: Bool
}

extension Gateway {
    func lease(_ r: inout Request, _ reply: ReplyTicket) throws(OpError) {
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
        let wait = try r.number("wait", in: 0...config.maxWait) ?? 0
        let count = try r.integer("count", in: 1...config.maxLeaseCount)
        let leaseFor = try r.number("lease_for", in: 1...Gateway.maxLeaseSeconds)
        let worker = try r.string("worker") ?? ""
        guard worker.utf8.count <= Names.maxLength else { throw OpError.bad("field 'worker' is longer than \(Names.maxLength) bytes") }
        try r.rejectUnknownFields()
        let params = LeaseParams(queues: queues, count: count ?? 1, leaseFor: leaseFor, worker: worker, wantsList: count != nil)
        waiters.start(LeaseWaiter(reply: reply, params: params, deadlineMs: loop.nowMs + UInt64(wait * 1000)))
    }

    /// One attempt at taking jobs for a waiter; `done` gets the jobs (possibly none) and whether
    /// undecodable jobs were taken out of the way (then another attempt may find good ones).
    func takeJobs(_ p: LeaseParams, _ done: @escaping (Result<(jobs: [LeasedJob], skipped: Bool), OpError>) -> Void) {
        var tokens: [String] = []
        for _ in 0..<p.count { tokens.append(ids.leaseToken()) }
        store.run(.lease, argCount: 4 + p.queues.count + p.count) { cmd in
            cmd.arg(p.count)
            cmd.arg(p.leaseFor.map { String($0) })
            cmd.arg(p.worker)
            cmd.arg(p.queues.count)
            for q in p.queues { cmd.arg(q) }
            for t in tokens { cmd.arg(t) }
        } done: { [unowned self] result in
            switch result {
            case .failure(let error):
                done(.failure(error))
            case .success(let rows):
                var jobs: [LeasedJob] = []
                var broken: [(id: String, token: String)] = []
                for i in 0..<rows.count {
                    let row = rows[i]
                    if let job = LeasedJob(row: row, zlib: self.zlib) {
                        jobs.append(job)
                    } else {
                        broken.append((row[0].string, row[7].string))
                    }
                }
                for b in broken { self.failUndecodable(id: b.id, token: b.token) }
                done(.success((jobs, !broken.isEmpty)))
            }
        }
    }

    /// A job whose data is not RQ's JSON form (say, pickled by a default RQ producer) cannot be
    /// handed to a worker; it goes to the failed registry with the reason, where RQ's tools see it.
    private func failUndecodable(id: String, token: String) {
        let text = Array("jobgate cannot decode this job's data: it is not zlib/JSON [\"func\", null, [args], {kwargs}] (was it enqueued with RQ's default pickle serializer?)".utf8)
        runFail(id: id, token: token, errorText: text[...], retry: false) { _ in }
    }

    /// Jobs leased for a client that went away go straight back, without spending a retry.
    func giveBack(_ jobs: [LeasedJob]) {
        for job in jobs {
            store.run(.release, argCount: 3) { cmd in
                cmd.arg(job.id)
                cmd.arg(job.token)
                cmd.arg("")
            } done: { _ in }
        }
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

    init?(row: RedisReply, zlib: Zlib) {
        guard row.count == 9, let data = JobData.decode(row[2].bytes, zlib: zlib) else { return nil }
        id = row[0].string
        queue = row[1].string
        self.data = data
        let m = row[3]
        meta = m.isNil || (try? JSONScanner.validate(m.bytes)) == nil ? nil : Array(m.bytes)
        retriesLeft = row[4].isNil ? 0 : Int(row[4].string) ?? 0
        attempt = row[5].integer
        expiresAt = row[6].double
        token = row[7].string
        leaseSeconds = row[8].double
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
