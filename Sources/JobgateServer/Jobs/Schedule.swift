/// `schedule`: creates a schedule, or replaces the one of the same name; the same definition
/// again changes nothing, so a config file or a deploy script may apply it on every start. Its
/// job is validated as `enqueue` validates one and stored ready to enqueue; every gateway's
/// `ScheduleRunner` fires it.
/// `{"op":"schedule","name":N,"cron":C,"tz":Z,"job":{...}}` -> `{"ok":true,"name":N,"state":"created","run_at":T}`
enum Schedule: OpHandler {
    enum Argument: Int, ScriptNames { case name, cron, every, tz, job, run_at }
    enum Row: Int, ScriptNames { case state, run_at }

    static let script = Script("schedule", PackageResources.schedule_lua, arguments: Argument.names, row: Row.names, writes: true)
    static var scripts: [Script] { [script] }

    /// Job ids are `<name>-<run time>`, and must stay within `Names.maxLength`.
    static let maxNameLength = 100
    static let nameRule = "1-\(maxNameLength) characters of A-Z a-z 0-9 _ -"

    struct Params {
        var name: String
        var cron: String?
        var every: Int?
        var tz: String?
        var rule: ScheduleRule
        /// The job object as the request gave it, for listings.
        var jobText: [UInt8]
        var job: NewJob
    }

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> Params {
        let name = try scheduleName(&r)
        let cron = try r.string("cron")
        let every = try r.integer("every", in: 1...Gateway.maxInteger)
        var tz = try r.string("tz")
        guard let jobObject = try r.spanIfPresent("job", .object) else {
            throw OpError.bad("missing field 'job' (the job each run enqueues: an enqueue's fields, e.g. {\"queue\":\"reports\",\"func\":\"reports.build\"})")
        }
        try r.rejectUnknownFields()
        let rule: ScheduleRule
        do throws(ScheduleError) {
            rule = try ScheduleRule(cron: cron, every: every, tz: tz)
        } catch {
            throw OpError.bad(error.message)
        }
        if cron != nil && tz == nil { tz = "UTC" }
        var fields = try Request(object: jobObject, in: r.line)
        let job: NewJob
        do throws(OpError) {
            for field: StaticString in ["id", "delay", "at", "depends_on"] where fields.has(field) {
                throw OpError.bad("field '\(field)' is not allowed: each run enqueues the job at once, with the id NAME-RUNTIME")
            }
            job = try g.decodeJob(&fields, defaultQueue: nil)
            try fields.rejectUnknownFields()
        } catch {
            throw OpError.bad("job: \(error.message)")
        }
        var stored = job
        // Each run names its own job; the id slot is filled when it fires, and checked then.
        stored.id = ""
        stored.fresh = false
        return Params(name: name, cron: cron, every: every, tz: tz, rule: rule,
                      jobText: Array(jobObject.bytes(in: r.line)), job: stored)
    }

    static func scheduleName(_ r: inout Request) throws(OpError) -> String {
        guard let name = try r.string("name") else { throw OpError.bad("missing field 'name' (the schedule's name)") }
        guard name.utf8.count <= maxNameLength, Names.isValidJobID(name) else { throw OpError.bad("field 'name' must be \(nameRule)") }
        return name
    }

    static func run(_ p: Params, _ g: Gateway, _ reply: ReplyTicket) {
        save(p, g) { result in
            reply.answer(result) { row, w in
                w.key("name"); w.string(p.name)
                w.key("state"); w.string(row[Row.state])
                w.key("run_at"); ListSchedules.writeRunAt(row[Row.run_at], &w)
            }
        }
    }

    /// Stores the schedule (for the op, and for the schedules a config file declares). The
    /// first run is computed from Redis's clock, so it needs two steps: read the clock, then
    /// write; the write compares with what is stored, so it is safe to repeat.
    static func save(_ p: Params, _ g: Gateway, _ done: @escaping (Result<RedisReply, OpError>) -> Void) {
        ListSchedules.read(name: p.name, g) { listing in
            guard case .success(let reply) = listing else { return done(listing) }
            guard let firstRun = p.rule.firstRun(now: ListSchedules.now(in: reply)) else {
                return done(.failure(OpError.bad("cron: \(p.cron ?? "") never fires")))
            }
            g.store.run(script, argCount: Argument.allCases.count + Enqueue.Argument.allCases.count) { args in
                args.put(Argument.name, p.name)
                args.put(Argument.cron, p.cron)
                args.put(Argument.every, p.every.map(String.init))
                args.put(Argument.tz, p.tz)
                args.put(Argument.job, p.jobText)
                args.put(Argument.run_at, firstRun)
                // The job's arguments follow in enqueue.lua's own layout.
                args.opStart = args.count
                p.job.put(into: &args)
            } done: { done($0) }
        }
    }
}
