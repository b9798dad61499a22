/// `result`: answers once a job reaches a final state (finished, failed, canceled, stopped), or
/// when `wait` runs out, for producers that want RPC-style calls.
extension Gateway {
    func result(_ r: inout Request, _ reply: ReplyTicket) throws(OpError) {
        let id = try jobID(&r)
        let wait = try r.number("wait", in: 0...config.maxWait) ?? 0
        try r.rejectUnknownFields()
        results.start(ResultWaiter(id: id, reply: reply, deadlineMs: loop.nowMs + UInt64(wait * 1000), wait: wait))
    }
}

final class ResultWaiter {
    let id: String
    let reply: ReplyTicket
    let deadlineMs: UInt64
    let wait: Double
    var checking = false

    init(id: String, reply: ReplyTicket, deadlineMs: UInt64, wait: Double) {
        self.id = id
        self.reply = reply
        self.deadlineMs = deadlineMs
        self.wait = wait
    }
}

/// Result requests waiting for their job. A check marks the job awaited in Redis, so the script
/// that ends it publishes on `jobgate:done` (any gateway); a check once a second also catches
/// jobs ended by RQ workers, which publish nothing.
final class ResultWaiters {
    private unowned let gateway: Gateway
    private var byJob: [String: [ResultWaiter]] = [:]
    private lazy var ticker = LoopTimer(gateway.loop) { [unowned self] in self.tick() }
    private var ticks = 0
    private var tickerRunning = false

    init(gateway: Gateway) { self.gateway = gateway }

    var count: Int { byJob.values.reduce(0) { $0 + $1.count } }

    func start(_ w: ResultWaiter) { check(w) }

    /// A job someone awaits is done (nil: check every awaited job).
    func jobDone(_ id: String?) {
        let ids = id.map { [$0] } ?? Array(byJob.keys)
        for id in ids { for w in byJob[id] ?? [] where !w.checking { check(w) } }
    }

    func finishAll() {
        for list in byJob.values { for w in list { answer(w, final: false, nil) } }
        byJob = [:]
    }

    private func check(_ w: ResultWaiter) {
        w.checking = true
        gateway.store.run(.await, argCount: 1) { cmd in
            cmd.arg(w.id)
        } done: { [unowned self] result in
            w.checking = false
            switch result {
            case .failure(let error):
                remove(w)
                w.reply.fail(error)
            case .success(let found) where found.isNil:
                remove(w)
                w.reply.fail(OpError(.notFound, "no job \(w.id)"))
            case .success(let found):
                let final = found[0].integer == 1
                if final || gateway.loop.nowMs >= w.deadlineMs || !w.reply.session.isOpen {
                    remove(w)
                    answer(w, final: final, JobView(hash: found[1], latestResult: found[2], zlib: gateway.zlib))
                } else {
                    add(w)
                }
            }
        }
    }

    private func answer(_ w: ResultWaiter, final: Bool, _ view: JobView?) {
        w.reply.ok { out in
            out.key("done"); out.bool(final)
            if let view {
                out.key("job")
                view.write(id: w.id, &out)
            } else {
                out.key("job"); out.raw("null")
            }
        }
    }

    private func add(_ w: ResultWaiter) {
        if !(byJob[w.id]?.contains { $0 === w } ?? false) { byJob[w.id, default: []].append(w) }
        if !tickerRunning {
            tickerRunning = true
            ticker.start(afterMs: 50, repeatMs: 50)
        }
    }

    private func remove(_ w: ResultWaiter) {
        byJob[w.id]?.removeAll { $0 === w }
        if byJob[w.id]?.isEmpty == true { byJob[w.id] = nil }
    }

    private func tick() {
        ticks += 1
        let now = gateway.loop.nowMs
        for list in Array(byJob.values) {
            for w in list where !w.checking && (now >= w.deadlineMs || ticks % 20 == 0 || !w.reply.session.isOpen) {
                check(w)
            }
        }
        if byJob.isEmpty {
            ticker.stop()
            tickerRunning = false
        }
    }
}
