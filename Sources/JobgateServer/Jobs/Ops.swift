/// What every op file provides: decode a request line into the op's parameters (refusing bad
/// input with BAD_REQUEST before anything runs), then run them and answer. Each op is one file
/// (and at most one Lua script); decode and run can be called on their own, as the fuzz tests do.
protocol OpHandler: SendableMetatype {
    associatedtype Params
    /// The Lua scripts the op runs (their layouts are declared in the op's file).
    static var scripts: [Script] { get }
    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> Params
    static func run(_ p: Params, _ g: Gateway, _ reply: ReplyTicket)
}

extension OpHandler {
    static var scripts: [Script] { [] }
}

/// One row of the op table.
struct Op: Sendable {
    let name: String
    /// Allowed before `auth` on a connection that needs it.
    let beforeAuth: Bool
    /// Answers job bodies, possibly megabytes of them: a connection runs at most
    /// `SessionLimits.maxBulkyInFlight` of these at a time (see Session).
    let bulky: Bool
    let scripts: [Script]
    /// Decodes the request and runs it; a request it refuses throws before anything runs.
    /// (One call, so no closure is made per request.)
    let handle: @Sendable (Gateway, inout Request, ReplyTicket) throws(OpError) -> Void
    /// Only the decoding `handle` does first (the fuzz tests run it: nothing is sent).
    let check: @Sendable (Gateway, inout Request) throws(OpError) -> Void

    init<H: OpHandler>(_ name: String, _ handler: H.Type, beforeAuth: Bool = false, bulky: Bool = false) {
        self.name = name
        self.beforeAuth = beforeAuth
        self.bulky = bulky
        scripts = H.scripts
        handle = { g, r, reply throws(OpError) in H.run(try H.decode(&r, g), g, reply) }
        check = { g, r throws(OpError) in _ = try H.decode(&r, g) }
    }
}

/// Every op the gateway answers, one row each, as Redis's command table has them. Dispatch,
/// the per-op metrics and the script Redis loads all come from here.
extension Gateway {
    static let ops: [Op] = [
        Op("auth", Auth.self, beforeAuth: true),
        Op("quit", Quit.self, beforeAuth: true),
        Op("ping", Ping.self),
        Op("enqueue", Enqueue.self),
        Op("lease", Lease.self),
        Op("heartbeat", Heartbeat.self),
        Op("ack", Ack.self),
        Op("fail", Fail.self),
        Op("release", Release.self),
        Op("job", JobLookup.self, bulky: true),
        Op("result", AwaitResult.self, bulky: true),
        Op("stats", Stats.self),
        Op("failed", FailedJobs.self, bulky: true),
        Op("jobs", ListJobs.self, bulky: true),
        Op("requeue", Requeue.self),
        Op("stop", Stop.self),
        Op("cancel", Cancel.self),
        Op("delete", Delete.self),
        Op("empty", Empty.self),
        Op("forget", Forget.self),
        Op("limit", Limit.self),
        Op("pause", Pause.self),
        Op("resume", Resume.self),
        Op("schedule", Schedule.self),
        Op("unschedule", Unschedule.self),
        Op("schedules", ListSchedules.self),
    ]

    /// Every script, for Redis to load: the ops', then those the gateway runs by itself.
    public static let scripts: [Script] = {
        var seen = Set<String>()
        return (ops.flatMap(\.scripts) + [Sweeper.script, ShutdownRequest.script, LostLeases.script] + ScheduleRunner.scripts).filter { seen.insert($0.name).inserted }
    }()

    /// An op's row by name: its slot in the table, which is also its slot in the metrics.
    static let opSlots: [String: Int] = Dictionary(uniqueKeysWithValues: ops.enumerated().map { ($1.name, $0) })
}
