/// `result`: answers once a job reaches a final state (finished, failed, canceled, stopped), or
/// when `wait` runs out, for producers that want RPC-style calls.
/// `{"op":"result","id":ID,"wait":S}` -> `{"ok":true,"done":true|false,"job":{...}}`
enum AwaitResult: OpHandler {
    enum Row: Int, ScriptNames { case final, hash, result }

    static let script = Script("await", PackageResources.await_lua, arguments: JobArgument.names, row: Row.names, writes: true)
    static var scripts: [Script] { [script] }

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> (id: String, waitMs: UInt64) {
        let id = try g.jobID(&r)
        let wait = try r.number("wait", in: 0...g.config.maxWait) ?? 0
        try r.rejectUnknownFields()
        return (id, UInt64(wait * 1000))
    }

    static func run(_ p: (id: String, waitMs: UInt64), _ g: Gateway, _ reply: ReplyTicket) {
        g.results.start(ResultWaiter(id: p.id, reply: reply, deadlineMs: g.loop.nowMs + p.waitMs))
    }

    /// One look at the job: it is marked awaited, so the script that ends it wakes the waiter.
    static func check(_ id: String, _ g: Gateway, _ done: @escaping (Result<RedisReply, OpError>) -> Void) {
        g.store.run(script, argCount: 1) { args in args.put(JobArgument.id, id) } done: { done($0) }
    }

    static func render(_ id: String, _ found: RedisReply?, _ g: Gateway, _ reply: ReplyTicket) {
        reply.ok { w in
            w.key("done"); w.bool(found.map { $0[Row.final].integer == 1 } ?? false)
            w.key("job")
            if let found {
                JobView(row: found, hash: Row.hash, result: Row.result, zlib: g.zlib).write(id: id, &w)
            } else {
                w.raw("null")
            }
        }
    }
}

final class ResultWaiter {
    let id: String
    let reply: ReplyTicket
    let deadlineMs: UInt64
    var checking = false
    /// The job was announced done while a check was in flight: that check may have read it
    /// before it ended, so another follows at once (not at the next tick, a second away).
    var doneDuringCheck = false

    init(id: String, reply: ReplyTicket, deadlineMs: UInt64) {
        self.id = id
        self.reply = reply
        self.deadlineMs = deadlineMs
    }
}

/// Result requests waiting for their job. A check marks the job awaited in Redis, so the script
/// that ends it publishes on `jobgate:done` (any gateway); a check once a second also catches
/// jobs ended by RQ workers, which publish nothing.
final class ResultWaiters {
    private unowned let gateway: Gateway
    private var byJob: [String: [ResultWaiter]] = [:]
    private lazy var ticker = WaitTicker(loop: gateway.loop) { [unowned self] secondly in self.tick(secondly) }

    init(gateway: Gateway) { self.gateway = gateway }

    var count: Int { byJob.values.reduce(0) { $0 + $1.count } }

    /// Registered before its first check, so an announcement that arrives while that check is
    /// in flight (on the subscriber connection, which may be read first) is not missed.
    func start(_ w: ResultWaiter) {
        add(w)
        check(w)
    }

    /// A job someone awaits is done (nil: check every awaited job).
    func jobDone(_ id: String?) {
        let ids = id.map { [$0] } ?? Array(byJob.keys)
        for id in ids {
            for w in byJob[id] ?? [] {
                if w.checking { w.doneDuringCheck = true } else { check(w) }
            }
        }
    }

    func sessionClosed(_ session: Session) {
        for id in Array(byJob.keys) {
            byJob[id]?.removeAll { $0.reply.session === session }
            if byJob[id]?.isEmpty == true { byJob[id] = nil }
        }
    }

    func finishAll() {
        for list in byJob.values { for w in list { AwaitResult.render(w.id, nil, gateway, w.reply) } }
        byJob = [:]
    }

    private func check(_ w: ResultWaiter) {
        w.checking = true
        AwaitResult.check(w.id, gateway) { [unowned self] result in
            w.checking = false
            // Answered meanwhile (a shutdown answers every waiter) or its client went away.
            guard byJob[w.id]?.contains(where: { $0 === w }) == true else { return }
            switch result {
            case .failure(let error):
                remove(w)
                w.reply.fail(error)
            case .success(let found) where found.isNil:
                remove(w)
                w.reply.fail(OpError(.notFound, "no job \(w.id)"))
            case .success(let found):
                let final = found[AwaitResult.Row.final].integer == 1
                if final || gateway.loop.nowMs >= w.deadlineMs || !w.reply.session.isOpen {
                    remove(w)
                    AwaitResult.render(w.id, found, gateway, w.reply)
                } else if w.doneDuringCheck {
                    w.doneDuringCheck = false
                    check(w)
                }
            }
        }
    }

    private func add(_ w: ResultWaiter) {
        if !(byJob[w.id]?.contains { $0 === w } ?? false) { byJob[w.id, default: []].append(w) }
        ticker.ensureRunning()
    }

    private func remove(_ w: ResultWaiter) {
        byJob[w.id]?.removeAll { $0 === w }
        if byJob[w.id]?.isEmpty == true { byJob[w.id] = nil }
    }

    private func tick(_ secondly: Bool) -> Bool {
        let now = gateway.loop.nowMs
        for list in Array(byJob.values) {
            for w in list where !w.checking && (now >= w.deadlineMs || secondly || !w.reply.session.isOpen) {
                check(w)
            }
        }
        return !byJob.isEmpty
    }
}
