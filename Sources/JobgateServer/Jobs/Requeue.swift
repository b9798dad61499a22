/// `requeue`: failed jobs go back on their queue, one by id or a whole queue's, in atomic
/// chunks of 1000 so Redis never blocks for long however many jobs failed.
/// `{"op":"requeue","id":ID}` or `{"op":"requeue","queue":Q,"all":true}` (or `"limit":N`) ->
/// `{"ok":true,"requeued":N,"still_failed":M}`
enum Requeue: OpHandler {
    enum Argument: Int, ScriptNames { case mode, target, limit }
    enum Row: Int, ScriptNames { case moved, still_failed }

    static let script = Script("requeue", PackageResources.requeue_lua, arguments: Argument.names, row: Row.names, writes: true)
    static var scripts: [Script] { [script] }
    static let chunk = 1000

    enum Params {
        case job(String)
        case queue(String, upTo: Int)
    }

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> Params {
        if let id = try g.optionalJobID(&r) {
            try r.rejectUnknownFields()
            return .job(id)
        }
        let all = try r.bool("all") ?? false
        let limit = try r.integer("limit", in: 1...Gateway.maxInteger)
        guard all != (limit != nil) else {
            throw OpError.bad("give 'id', or 'queue' with \"all\":true (every failed job) or 'limit' (at most that many, oldest first)")
        }
        let queue = try g.queueName(&r)
        try r.rejectUnknownFields()
        return .queue(queue, upTo: limit ?? Int.max)
    }

    static func run(_ p: Params, _ g: Gateway, _ reply: ReplyTicket) {
        switch p {
        case .job(let id): step(mode: "id", target: id, movedSoFar: 0, upTo: 1, g, reply)
        case .queue(let queue, let upTo): step(mode: "queue", target: queue, movedSoFar: 0, upTo: upTo, g, reply)
        }
    }

    private static func step(mode: String, target: String, movedSoFar: Int, upTo: Int, _ g: Gateway, _ reply: ReplyTicket) {
        let limit = min(chunk, upTo - movedSoFar)
        g.store.run(script, argCount: Argument.allCases.count) { args in
            args.put(Argument.mode, mode)
            args.put(Argument.target, target)
            args.put(Argument.limit, limit)
        } done: { result in
            if case .success(let counts) = result {
                let moved = movedSoFar + counts[Row.moved].integer
                if mode == "queue" && counts[Row.moved].integer == limit && counts[Row.still_failed].integer > 0 && moved < upTo {
                    return step(mode: mode, target: target, movedSoFar: moved, upTo: upTo, g, reply)
                }
            }
            reply.answer(result) { counts, w in
                w.key("requeued"); w.int(movedSoFar + counts[Row.moved].integer)
                w.key("still_failed"); w.int(counts[Row.still_failed].integer)
            }
        }
    }
}
