/// The operator's ops on RQ's registries: `cancel`, `delete`, `failed`, `requeue`, `pause`, `resume`.
extension Gateway {
    /// Runs a script whose reply is one word, answered as `{"state": word}`.
    private func runForState(_ script: Script, _ args: [String], _ reply: ReplyTicket) {
        store.run(script, argCount: args.count) { cmd in
            for a in args { cmd.arg(a) }
        } done: { result in
            switch result {
            case .failure(let error): reply.fail(error)
            case .success(let state): reply.ok { w in w.key("state"); w.string(state.string) }
            }
        }
    }

    func cancel(_ r: inout Request, _ reply: ReplyTicket) throws(OpError) {
        let id = try jobID(&r)
        try r.rejectUnknownFields()
        runForState(.cancel, [id], reply)
    }

    func delete(_ r: inout Request, _ reply: ReplyTicket) throws(OpError) {
        let id = try jobID(&r)
        try r.rejectUnknownFields()
        runForState(.delete, [id], reply)
    }

    func failed(_ r: inout Request, _ reply: ReplyTicket) throws(OpError) {
        let queue = try queueName(&r)
        let offset = try r.integer("offset", in: 0...Gateway.maxInteger) ?? 0
        let limit = try r.integer("limit", in: 1...Gateway.maxFailedPage) ?? 100
        try r.rejectUnknownFields()
        store.run(.failed, argCount: 3) { cmd in
            cmd.arg(queue)
            cmd.arg(offset)
            cmd.arg(limit)
        } done: { [unowned self] result in
            switch result {
            case .failure(let error):
                reply.fail(error)
            case .success(let page):
                reply.ok { w in
                    w.key("total"); w.int(page[0].integer)
                    w.key("jobs"); w.raw("[")
                    let rows = page[1]
                    for i in 0..<rows.count {
                        if i > 0 { w.raw(",") }
                        let row = rows[i]
                        JobView(hash: row[1], latestResult: row[2], zlib: self.zlib).write(id: row[0].string, &w)
                    }
                    w.raw("]")
                }
            }
        }
    }

    func requeue(_ r: inout Request, _ reply: ReplyTicket) throws(OpError) {
        if let id = try optionalJobID(&r) {
            try r.rejectUnknownFields()
            requeueStep(mode: "id", target: id, movedSoFar: 0, upTo: 1, reply)
            return
        }
        let all = try r.bool("all") ?? false
        let limit = try r.integer("limit", in: 1...Gateway.maxInteger)
        guard all != (limit != nil) else {
            throw OpError.bad("give 'id', or 'queue' with \"all\":true (every failed job) or 'limit' (at most that many, oldest first)")
        }
        let queue = try queueName(&r)
        try r.rejectUnknownFields()
        requeueStep(mode: "queue", target: queue, movedSoFar: 0, upTo: limit ?? Int.max, reply)
    }

    /// Requeues in atomic chunks so Redis never blocks for long, however many jobs failed.
    private func requeueStep(mode: String, target: String, movedSoFar: Int, upTo: Int, _ reply: ReplyTicket) {
        let chunk = min(1000, upTo - movedSoFar)
        store.run(.requeue, argCount: 3) { cmd in
            cmd.arg(mode)
            cmd.arg(target)
            cmd.arg(chunk)
        } done: { [unowned self] result in
            switch result {
            case .failure(let error):
                reply.fail(error)
            case .success(let counts):
                let moved = movedSoFar + counts[0].integer
                let left = counts[1].integer
                if mode == "queue" && counts[0].integer == chunk && left > 0 && moved < upTo {
                    self.requeueStep(mode: mode, target: target, movedSoFar: moved, upTo: upTo, reply)
                } else {
                    reply.ok { w in
                        w.key("requeued"); w.int(moved)
                        w.key("still_failed"); w.int(left)
                    }
                }
            }
        }
    }

    func pause(_ r: inout Request, _ reply: ReplyTicket, paused: Bool) throws(OpError) {
        let queue = try queueName(&r)
        try r.rejectUnknownFields()
        store.run(.pause, argCount: 2) { cmd in
            cmd.arg(queue)
            cmd.arg(paused ? "1" : "0")
        } done: { result in
            switch result {
            case .failure(let error): reply.fail(error)
            case .success(let waiting):
                reply.ok { w in
                    w.key("queue"); w.string(queue)
                    w.key("paused"); w.bool(paused)
                    w.key("queued"); w.int(waiting.integer)
                }
            }
        }
    }
}
