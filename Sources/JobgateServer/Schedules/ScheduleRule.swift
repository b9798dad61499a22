/// When a schedule runs: a cron expression read on a time zone's wall clock (see
/// `CronExpression.next(after:in:)` for the DST rules), or a fixed period. Runs fall on whole
/// Unix seconds, which also name their jobs (`<name>-<run time>`).
enum ScheduleRule {
    case cron(CronExpression, TimeZoneRules)
    case every(seconds: Int)

    /// How late a run may be and still count as on time: every gateway checks about once a
    /// second, so a run later than this found no gateway (or no Redis) at its time.
    static let graceSeconds = 5

    /// Exactly one of `cron` (with an optional `tz`, default UTC) and `every`.
    init(cron: String?, every: Int?, tz: String?) throws(ScheduleError) {
        switch (cron, every) {
        case (let text?, nil):
            self = .cron(try CronExpression(parsing: text), try TimeZoneRules(named: tz ?? "UTC"))
        case (nil, let seconds?):
            guard tz == nil else { throw ScheduleError("tz: only a cron schedule has a time zone; 'every' counts seconds") }
            self = .every(seconds: seconds)
        case (nil, nil):
            throw ScheduleError("give 'cron' (five fields, e.g. \"*/5 * * * *\", or @daily) or 'every' (seconds)")
        case (_?, _?):
            throw ScheduleError("give 'cron' or 'every', not both")
        }
    }

    /// The first run of a schedule made at `now`: a cron schedule's next time after now, an
    /// `every` schedule's one period later. Nil when a cron expression never fires.
    func firstRun(now: Double) -> Int? {
        let second = Int(now.rounded(.down))
        switch self {
        case .cron(let expression, let zone): return expression.next(after: second, in: zone)
        case .every(let period): return Int(now.rounded(.up)) + period
        }
    }

    /// What follows the run due at `due`, now that it fires at `now`. A run within the grace
    /// is followed by the next one, even if that is due already (each run fires once, in
    /// order). A later one was missed: it fires once as the catch-up for every run missed
    /// with it, and the schedule goes on from the first run after now (systemd's
    /// `Persistent=`). `every` keeps its phase: runs stay `due` plus whole periods.
    func following(due: Int, now: Double) -> (next: Int?, missed: Bool) {
        let missed = now - Double(due) > Double(Self.graceSeconds)
        let after = missed ? max(due, Int(now.rounded(.down))) : due
        switch self {
        case .cron(let expression, let zone): return (expression.next(after: after, in: zone), missed)
        case .every(let period): return (due + period * ((after - due) / period + 1), missed)
        }
    }
}
