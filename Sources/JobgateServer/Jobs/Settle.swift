/// The ops a lease holder uses: `heartbeat`, `ack`, `fail`, `release`. A lease belongs to its
/// token, never to a connection, so any connection may settle it.
extension Gateway {
    /// The job and lease of an op that settles exactly one job (all but `ack`).
    private func oneLease(_ r: inout Request) throws(OpError) -> (id: String, token: String) {
        if r.has("jobs") {
            throw OpError.bad("'\(r.op ?? "")' takes one job (its 'id' and 'lease'); only 'ack' and 'enqueue' take a 'jobs' list")
        }
        return try leaseFields(&r)
    }

    private func leaseFields(_ r: inout Request) throws(OpError) -> (id: String, token: String) {
        let id = try jobID(&r)
        guard let token = try r.string("lease") else {
            throw OpError.bad("missing field 'lease' (the lease token from the lease reply)")
        }
        guard Names.isValidJobID(token) else { throw OpError.bad("field 'lease' must be the lease token from the lease reply") }
        return (id, token)
    }

    func heartbeat(_ r: inout Request, _ reply: ReplyTicket) throws(OpError) {
        let (id, token) = try oneLease(&r)
        let extend = try r.number("extend", in: 1...Gateway.maxLeaseSeconds)
        try r.rejectUnknownFields()
        store.run(.heartbeat, argCount: 3) { cmd in
            cmd.arg(id)
            cmd.arg(token)
            cmd.arg(extend.map { String($0) })
        } done: { result in
            switch result {
            case .failure(let error): reply.fail(error)
            case .success(let expires): reply.ok { w in w.key("expires_at"); w.seconds(expires.double) }
            }
        }
    }

    /// One job, or a batch under `jobs` (each `{id, lease, result}`), settled in one script call.
    func ack(_ r: inout Request, _ reply: ReplyTicket) throws(OpError) {
        var items: [(id: String, token: String, value: [UInt8])] = []
        let batch = try r.spanIfPresent("jobs", .array)
        if let batch {
            try r.rejectUnknownFields()
            items = try decodeBatch(batch, in: r.line) { (item: inout Request) throws(OpError) in try ackItem(&item) }
        } else {
            items.append(try ackItem(&r))
            try r.rejectUnknownFields()
        }
        store.run(.ack, argCount: 3 * items.count) { cmd in
            for item in items {
                cmd.arg(item.id)
                cmd.arg(item.token)
                cmd.arg(item.value)
            }
        } done: { outcome in
            switch outcome {
            case .failure(let error):
                reply.fail(error)
            case .success(let answers):
                if batch == nil {
                    let a = answers[0]
                    if a.isArray { reply.fail(RedisStore.opError(a[0].string)) } else { reply.ok { w in w.key("state"); w.string(a.string) } }
                    return
                }
                reply.ok { w in
                    w.key("jobs"); w.raw("[")
                    for i in 0..<answers.count {
                        if i > 0 { w.raw(",") }
                        let a = answers[i]
                        if a.isArray {
                            w.raw("{\"ok\":false"); w.key("id"); w.string(items[i].id)
                            w.key("error"); w.errorObject(RedisStore.opError(a[0].string)); w.raw("}")
                        } else {
                            w.raw("{\"ok\":true"); w.key("id"); w.string(items[i].id)
                            w.key("state"); w.string(a.string); w.raw("}")
                        }
                    }
                    w.raw("]")
                }
            }
        }
    }

    /// An ack's job, lease and result; RQ stores a None return value as an absent field, and
    /// JSON null is the same thing.
    private func ackItem(_ r: inout Request) throws(OpError) -> (id: String, token: String, value: [UInt8]) {
        let (id, token) = try leaseFields(&r)
        let value = try r.raw("result").flatMap { $0.elementsEqual("null".utf8) ? nil : Base64.encode($0) } ?? []
        return (id, token, value)
    }

    func fail(_ r: inout Request, _ reply: ReplyTicket) throws(OpError) {
        let (id, token) = try oneLease(&r)
        let text = Array((try r.string("error") ?? "").utf8)
        let retry = try r.bool("retry") ?? true
        try r.rejectUnknownFields()
        runFail(id: id, token: token, errorText: text.suffix(config.maxErrorText), retry: retry) { result in
            switch result {
            case .failure(let error):
                reply.fail(error)
            case .success(let row):
                reply.ok { w in
                    w.key("state"); w.string(row[0].string)
                    w.key("retries_left"); w.int(row[1].integer)
                    if row.count > 2 { w.key("retry_at"); w.int(row[2].integer) }
                }
            }
        }
    }

    func runFail(id: String, token: String, errorText: ArraySlice<UInt8>, retry: Bool,
                 _ done: @escaping (Result<RedisReply, OpError>) -> Void) {
        let compressed = errorText.withUnsafeBytes { zlib.compress($0) }
        let encoded = Base64.encode(compressed)
        store.run(.fail, argCount: 5) { cmd in
            cmd.arg(id)
            cmd.arg(token)
            cmd.arg(compressed)
            cmd.arg(encoded)
            cmd.arg(retry ? "1" : "0")
        } done: { result in done(result) }
    }

    func release(_ r: inout Request, _ reply: ReplyTicket) throws(OpError) {
        let (id, token) = try oneLease(&r)
        let delay = try r.number("delay", in: 0...Gateway.maxDelaySeconds)
        try r.rejectUnknownFields()
        store.run(.release, argCount: 3) { cmd in
            cmd.arg(id)
            cmd.arg(token)
            cmd.arg(delay.map { String($0) })
        } done: { result in
            switch result {
            case .failure(let error):
                reply.fail(error)
            case .success(let row):
                reply.ok { w in
                    w.key("state"); w.string(row[0].string)
                    if row.count > 1 { w.key("run_at"); w.int(row[1].integer) }
                }
            }
        }
    }
}
