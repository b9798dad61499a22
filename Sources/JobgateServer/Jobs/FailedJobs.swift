/// `failed`: one page of a queue's failed registry, oldest first, each job as `job` shows it.
/// `{"op":"failed","queue":Q,"offset":0,"limit":100}` -> `{"ok":true,"total":N,"jobs":[...]}`
enum FailedJobs: OpHandler {
    enum Argument: Int, ScriptNames { case queue, offset, limit }
    enum Row: Int, ScriptNames { case id, hash, result }

    static let script = Script("failed", PackageResources.failed_lua, arguments: Argument.names, row: Row.names, writes: false)
    static var scripts: [Script] { [script] }

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> (queue: String, offset: Int, limit: Int) {
        let queue = try g.queueName(&r)
        let offset = try r.integer("offset", in: 0...Gateway.maxInteger) ?? 0
        let limit = try r.integer("limit", in: 1...Gateway.maxFailedPage) ?? 100
        try r.rejectUnknownFields()
        return (queue, offset, limit)
    }

    static func run(_ p: (queue: String, offset: Int, limit: Int), _ g: Gateway, _ reply: ReplyTicket) {
        g.store.run(script, argCount: Argument.allCases.count) { args in
            args.put(Argument.queue, p.queue)
            args.put(Argument.offset, p.offset)
            args.put(Argument.limit, p.limit)
        } done: { result in
            reply.answer(result) { page, w in
                ListJobs.writePage(page, id: Row.id, hash: Row.hash, result: Row.result, g, &w)
            }
        }
    }
}
