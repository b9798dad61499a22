/// `ack`: leased jobs finished; each result is kept for its job's result_ttl.
/// `{"op":"ack","id":ID,"lease":T,"result":ANY}` -> `{"ok":true,"state":"finished"}`
/// `{"op":"ack","jobs":[{"id":ID,"lease":T,"result":ANY},...]}` -> `{"ok":true,"jobs":[{"ok":true,"id":ID,"state":S},...]}`
enum Ack: OpHandler {
    enum Argument: Int, ScriptNames { case id, lease, result }
    /// One row per job, flat.
    enum Row: Int, ScriptNames { case state, queue }

    static let script = Script("ack", PackageResources.ack_lua, arguments: Argument.names, rows: Row.names, writes: true)
    static var scripts: [Script] { [script] }

    struct Item {
        let lease: LeaseRef
        /// Base64 of the result's JSON, as RQ stores it; empty for null (RQ's None).
        let value: [UInt8]
    }

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> (items: [Item], isBatch: Bool) {
        if let batch = try r.spanIfPresent("jobs", .array) {
            try r.rejectUnknownFields()
            return (try g.decodeBatch(batch, in: r.line) { (item: inout Request) throws(OpError) in try decodeItem(&item, g) }, true)
        }
        let item = try decodeItem(&r, g)
        try r.rejectUnknownFields()
        return ([item], false)
    }

    private static func decodeItem(_ r: inout Request, _ g: Gateway) throws(OpError) -> Item {
        let lease = try LeaseRef(&r, g)
        let value = try r.raw("result").flatMap { $0.elementsEqual("null".utf8) ? nil : Base64.encode($0) } ?? []
        return Item(lease: lease, value: value)
    }

    static func run(_ p: (items: [Item], isBatch: Bool), _ g: Gateway, _ reply: ReplyTicket) {
        g.store.run(script, argCount: Argument.allCases.count * p.items.count) { args in
            for item in p.items {
                args.put(Argument.id, item.lease.id)
                args.put(Argument.lease, item.lease.token)
                args.put(Argument.result, item.value)
            }
        } done: { result in
            g.countProcessed(result)
            reply.answer(result) { list, w throws(OpError) in
                let answers = list.rows(Row.self)
                guard p.isBatch else {
                    let state = answers[0][Row.state]
                    if state.isError { throw RedisStore.opError(state.string) }
                    w.key("state"); w.string(state)
                    return
                }
                w.key("jobs"); w.raw("[")
                for i in 0..<answers.count {
                    if i > 0 { w.raw(",") }
                    let state = answers[i][Row.state]
                    w.raw(state.isError ? "{\"ok\":false" : "{\"ok\":true")
                    w.key("id"); w.string(p.items[i].lease.id)
                    if state.isError {
                        w.key("error"); w.errorObject(RedisStore.opError(state.string))
                    } else {
                        w.key("state"); w.string(state)
                    }
                    w.raw("}")
                }
                w.raw("]")
            }
        }
    }
}
