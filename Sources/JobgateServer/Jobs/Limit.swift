/// `limit`: an operator caps a queue without touching producers, on every gateway: at most
/// `concurrency` jobs started at once, at most `rate.max` leases started in any `rate.per`
/// seconds (a sliding window). A lease skips a queue at its cap and takes from the next. A field
/// left out is unchanged; `null` clears it. With neither field, it only reports.
/// `{"op":"limit","queue":Q,"concurrency":3,"rate":{"max":10,"per":60}}` ->
/// `{"ok":true,"queue":Q,"concurrency":3,"rate":{"max":10,"per":60},"started":N,"window":M}`
enum Limit: OpHandler {
    enum Argument: Int, ScriptNames { case queue, concurrency, rate_max, rate_per }
    enum Row: Int, ScriptNames { case concurrency, rate_max, rate_per, started, window }

    static let script = Script("limit", PackageResources.limit_lua, arguments: Argument.names, row: Row.names, writes: true)
    static var scripts: [Script] { [script] }

    /// A setting: left as it is, cleared, or set.
    enum Change<T> { case keep, clear, set(T) }

    struct Params {
        let queue: String
        let concurrency: Change<Int>
        let rate: Change<(max: Int, per: Double)>
    }

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> Params {
        let queue = try g.queueName(&r)
        // Present and null clears (null reads as absent, so `has` tells the two apart).
        var concurrency = Change<Int>.keep
        if r.has("concurrency") {
            concurrency = try r.integer("concurrency", in: 1...Gateway.maxInteger).map { .set($0) } ?? .clear
        }
        var rate = Change<(max: Int, per: Double)>.keep
        if r.has("rate") {
            rate = .clear
            if let span = try r.spanIfPresent("rate", .object) {
                var window = try Request(object: span, in: r.line)
                guard let max = try window.integer("max", in: 1...Gateway.maxInteger),
                      let per = try window.number("per", in: 0.001...Gateway.maxDelaySeconds) else {
                    throw OpError.bad("field 'rate' must be {\"max\":M,\"per\":SECONDS} (both given), or null")
                }
                try window.rejectUnknownFields()
                rate = .set((max, per))
            }
        }
        try r.rejectUnknownFields()
        return Params(queue: queue, concurrency: concurrency, rate: rate)
    }

    static func run(_ p: Params, _ g: Gateway, _ reply: ReplyTicket) {
        g.store.run(script, argCount: Argument.allCases.count) { args in
            args.put(Argument.queue, p.queue)
            switch p.concurrency {
            case .keep: args.put(Argument.concurrency, "")
            case .clear: args.put(Argument.concurrency, "-")
            case .set(let n): args.put(Argument.concurrency, n)
            }
            switch p.rate {
            case .keep:
                args.put(Argument.rate_max, "")
                args.put(Argument.rate_per, "")
            case .clear:
                args.put(Argument.rate_max, "-")
                args.put(Argument.rate_per, "-")
            case .set(let rate):
                args.put(Argument.rate_max, rate.max)
                args.put(Argument.rate_per, plainNumber(rate.per))
            }
        } done: { result in
            reply.answer(result) { row, w in
                w.key("queue"); w.string(p.queue)
                write(row, &w)
            }
        }
    }

    /// `"concurrency":N|null,"rate":{...}|null,"started":N,"window":M` from a row of the layout.
    static func write(_ row: RedisReply, _ w: inout JSONWriter) {
        writeCaps(concurrency: row[Row.concurrency], rateMax: row[Row.rate_max], ratePer: row[Row.rate_per], &w)
        w.key("started"); w.int(row[Row.started].integer)
        w.key("window"); w.int(row[Row.window].integer)
    }

    /// `"concurrency":N|null,"rate":{"max":M,"per":S}|null` (after a member already written).
    static func writeCaps(concurrency: RedisReply, rateMax: RedisReply, ratePer: RedisReply, _ w: inout JSONWriter) {
        w.key("concurrency")
        if concurrency.isNil { w.raw("null") } else { w.int(Int(concurrency.string) ?? 0) }
        w.key("rate")
        if rateMax.isNil {
            w.raw("null")
        } else {
            w.raw("{\"max\":"); w.int(Int(rateMax.string) ?? 0)
            w.key("per"); w.seconds(ratePer.double)
            w.raw("}")
        }
    }
}
