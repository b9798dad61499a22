/// `jobs`: one page of a queue's jobs in one state, oldest or newest first, each as `job` shows it.
/// `{"op":"jobs","queue":Q,"state":"queued","offset":0,"limit":50,"order":"oldest"}` ->
/// `{"ok":true,"queue":Q,"state":S,"total":N,"jobs":[...]}`
enum ListJobs: OpHandler {
    enum Argument: Int, ScriptNames { case queue, state, offset, limit, newest, max_bytes }
    enum Row: Int, ScriptNames { case id, hash, result, entry }

    static let script = Script("jobs", PackageResources.jobs_lua, arguments: Argument.names, row: Row.names, writes: false)
    static var scripts: [Script] { [script] }

    /// The queue's list, then the registries jobs.lua reads, in the order a job's life passes them.
    static let states = ["queued", "started", "scheduled", "deferred", "finished", "failed", "canceled"]

    struct Params {
        let queue: String
        let state: String
        let offset: Int
        let limit: Int
        let newestFirst: Bool
    }

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> Params {
        let queue = try g.queueName(&r)
        let state = try r.string("state") ?? "queued"
        guard states.contains(state) else {
            let why = state == "rate_limited" ? " (rate-limited jobs wait in line per rate-limit key, not per queue)" : ""
            throw OpError.bad("field 'state' must be one of \(states.joined(separator: ", "))\(why)")
        }
        let offset = try r.integer("offset", in: 0...Gateway.maxInteger) ?? 0
        let limit = try r.integer("limit", in: 1...Gateway.maxJobsPage) ?? 50
        let order = try r.string("order") ?? "oldest"
        guard order == "oldest" || order == "newest" else { throw OpError.bad("field 'order' must be \"oldest\" or \"newest\"") }
        try r.rejectUnknownFields()
        return Params(queue: queue, state: state, offset: offset, limit: limit, newestFirst: order == "newest")
    }

    static func run(_ p: Params, _ g: Gateway, _ reply: ReplyTicket) {
        readPage(p, g) { result in
            reply.answer(result) { page, w in
                w.key("queue"); w.string(p.queue)
                w.key("state"); w.string(p.state)
                writePage(page, offset: p.offset, g, &w)
            }
        }
    }

    /// Runs jobs.lua for one page (`failed` reads its pages with it too).
    static func readPage(_ p: Params, _ g: Gateway, _ done: @escaping (Result<RedisReply, OpError>) -> Void) {
        g.store.run(script, argCount: Argument.allCases.count) { args in
            args.put(Argument.queue, p.queue)
            args.put(Argument.state, p.state)
            args.put(Argument.offset, p.offset)
            args.put(Argument.limit, p.limit)
            args.put(Argument.newest, p.newestFirst ? "1" : "0")
            args.put(Argument.max_bytes, Gateway.maxPageBytes)
        } done: { result in done(result) }
    }

    /// `"total":N,"jobs":[...],"next_offset":N|null` from jobs.lua's `{total, rows, next}`, each
    /// row's job as `job` shows it. Written jobs, inflated, may pass `maxPageBytes` where their
    /// stored form did not: the page then ends there, and `next_offset` is the next job's.
    static func writePage(_ page: RedisReply, offset: Int, _ g: Gateway, _ w: inout JSONWriter) {
        let total = page[0].integer
        w.key("total"); w.int(total)
        w.key("jobs"); w.raw("[")
        let rows = page[1]
        let start = w.bytes.count
        var next = page[2].integer
        for i in 0..<rows.count {
            if i > 0 && w.bytes.count - start > Gateway.maxPageBytes {
                next = offset + rows[i][Row.entry].integer
                break
            }
            if i > 0 { w.raw(",") }
            JobView(row: rows[i], hash: Row.hash, result: Row.result, zlib: g.zlib).write(id: rows[i][Row.id].string, &w)
        }
        w.raw("]")
        w.key("next_offset")
        if next < total { w.int(next) } else { w.raw("null") }
    }
}
