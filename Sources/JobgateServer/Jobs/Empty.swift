/// `empty`: deletes a queue's queued jobs, head first, in atomic chunks of 100 (under 1 ms of
/// Redis each) so Redis never blocks for long however long the queue is; its registries
/// (started, failed, ...) are left alone.
/// `{"op":"empty","queue":Q}` (or with `"limit":N`) -> `{"ok":true,"deleted":N,"queued":M}`
enum Empty: OpHandler {
    enum Argument: Int, ScriptNames { case queue, limit }
    enum Row: Int, ScriptNames { case deleted, queued }

    static let script = Script("empty", PackageResources.empty_lua, arguments: Argument.names, row: Row.names, writes: true)
    static var scripts: [Script] { [script] }
    static let chunk = 100

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> (queue: String, upTo: Int) {
        let queue = try g.queueName(&r)
        let limit = try r.integer("limit", in: 1...Gateway.maxInteger)
        try r.rejectUnknownFields()
        return (queue, limit ?? Int.max)
    }

    static func run(_ p: (queue: String, upTo: Int), _ g: Gateway, _ reply: ReplyTicket) {
        step(p.queue, deletedSoFar: 0, goal: p.upTo, g, reply)
    }

    /// `goal` shrinks after the first chunk to what the queue held then, so jobs that producers
    /// add meanwhile are not chased forever.
    private static func step(_ queue: String, deletedSoFar: Int, goal: Int, _ g: Gateway, _ reply: ReplyTicket) {
        let limit = min(chunk, goal - deletedSoFar)
        g.store.run(script, argCount: Argument.allCases.count) { args in
            args.put(Argument.queue, queue)
            args.put(Argument.limit, limit)
        } done: { result in
            if case .success(let counts) = result {
                let deleted = counts[Row.deleted].integer, left = counts[Row.queued].integer
                let target = deletedSoFar == 0 ? min(goal, deleted + left) : goal
                if deleted == limit && left > 0 && deletedSoFar + deleted < target {
                    return step(queue, deletedSoFar: deletedSoFar + deleted, goal: target, g, reply)
                }
            }
            reply.answer(result) { counts, w in
                w.key("deleted"); w.int(deletedSoFar + counts[Row.deleted].integer)
                w.key("queued"); w.int(counts[Row.queued].integer)
            }
        }
    }
}
