/// `failed`: one page of a queue's failed registry, oldest first, each job as `job` shows it: the
/// `jobs` op's failed page without its `queue` and `state` echo (jobs.lua reads it).
/// `{"op":"failed","queue":Q,"offset":0,"limit":100}` -> `{"ok":true,"total":N,"jobs":[...],"next_offset":N|null}`
enum FailedJobs: OpHandler {
    static var scripts: [Script] { [ListJobs.script] }

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> ListJobs.Params {
        let queue = try g.queueName(&r)
        let offset = try r.integer("offset", in: 0...Gateway.maxInteger) ?? 0
        let limit = try r.integer("limit", in: 1...Gateway.maxFailedPage) ?? 100
        try r.rejectUnknownFields()
        return ListJobs.Params(queue: queue, state: "failed", offset: offset, limit: limit, newestFirst: false)
    }

    static func run(_ p: ListJobs.Params, _ g: Gateway, _ reply: ReplyTicket) {
        ListJobs.readPage(p, g) { result in
            reply.answer(result) { page, w in ListJobs.writePage(page, offset: p.offset, g, &w) }
        }
    }
}
