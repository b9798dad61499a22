/// `schedules`: every schedule, soonest next run first, or the one `name` gives.
/// `{"op":"schedules"}` -> `{"ok":true,"schedules":[{"name":N,"cron":C,"tz":Z,"run_at":T,"last_job":ID,"job":{...}},...]}`
enum ListSchedules: OpHandler {
    enum Argument: Int, ScriptNames { case name }
    enum Row: Int, ScriptNames { case name, cron, every, tz, run_at, last_job, job }

    static let script = Script("schedules", PackageResources.schedules_lua, arguments: Argument.names, row: Row.names, writes: false)
    static var scripts: [Script] { [script] }

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> String? {
        let name = r.has("name") ? try Schedule.scheduleName(&r) : nil
        try r.rejectUnknownFields()
        return name
    }

    static func run(_ name: String?, _ g: Gateway, _ reply: ReplyTicket) {
        read(name: name, g) { result in
            reply.answer(result) { reply, w throws(OpError) in
                let rows = reply[1]
                if let name, rows.count == 0 { throw OpError(.notFound, "no schedule \(name)") }
                w.key("schedules")
                w.raw("[")
                for i in 0..<rows.count {
                    if i > 0 { w.raw(",") }
                    write(rows[i], &w)
                }
                w.raw("]")
            }
        }
    }

    /// Reads the schedules (one when `name` is given), with Redis's clock.
    static func read(name: String?, _ g: Gateway, _ done: @escaping (Result<RedisReply, OpError>) -> Void) {
        g.store.run(script, argCount: Argument.allCases.count) { args in
            args.put(Argument.name, name)
        } done: { done($0) }
    }

    /// Redis's clock in a reply of `read`, in Unix seconds.
    static func now(in reply: RedisReply) -> Double { reply[0].double }

    private static func write(_ row: RedisReply, _ w: inout JSONWriter) {
        w.raw("{\"name\":"); w.string(row[Row.name])
        if row[Row.cron].isNil {
            w.key("every"); w.raw(row[Row.every].bytes)
        } else {
            w.key("cron"); w.string(row[Row.cron])
            w.key("tz"); w.string(row[Row.tz])
        }
        w.key("run_at"); writeRunAt(row[Row.run_at], &w)
        w.key("last_job")
        if row[Row.last_job].isNil { w.raw("null") } else { w.string(row[Row.last_job]) }
        // Stored as the request gave it, which the gateway had checked to be a JSON object.
        w.key("job"); w.raw(row[Row.job].bytes)
        w.raw("}")
    }

    /// A next run as stored (whole Unix seconds as text), or null for a schedule that never
    /// runs again (stored as +inf).
    static func writeRunAt(_ value: RedisReply, _ w: inout JSONWriter) {
        let seconds = value.double
        if seconds.isFinite { w.int(Int(seconds)) } else { w.raw("null") }
    }
}
