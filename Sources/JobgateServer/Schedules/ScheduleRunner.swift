/// Fires the schedules stored in Redis, on every gateway. About once a second it asks Redis which
/// schedules are due (schedules_due.lua), works out the run that follows each (the cron and
/// time-zone arithmetic lives here, not in Lua), then fires them in one atomic script
/// (schedules_fire.lua). That script enqueues `<name>-<due time>` and stores the following run
/// only while the due time it was given is still the stored one, so gateways racing for a run
/// fire it once, and a gateway killed between the two steps leaves the run due for the others.
///
/// It also stores the schedules a config file declares, once Redis first answers.
final class ScheduleRunner {
    enum DueArgument: Int, ScriptNames { case limit }
    enum DueRow: Int, ScriptNames { case name, due, cron, every, tz }
    enum FireArgument: Int, ScriptNames { case job_id_at }
    enum FireRow: Int, ScriptNames { case job, outcome }

    static let dueScript = Script("schedules_due", PackageResources.schedules_due_lua, arguments: DueArgument.names,
                                  row: DueRow.names, writes: false)
    static let fireScript = Script("schedules_fire", PackageResources.schedules_fire_lua, arguments: FireArgument.names,
                                   row: FireRow.names, writes: true)
    static var scripts: [Script] { [dueScript, fireScript] }

    static let checkIntervalMs: UInt64 = 1000
    /// Schedules fired in one step; more due than this are fired by the steps that follow at once.
    static let stepLimit = 100

    private unowned let gateway: Gateway
    private lazy var timer = LoopTimer(gateway.loop) { [unowned self] in self.check() }
    private var checking = false
    /// Declared in the config file and not stored yet.
    private var declared: [Schedule.Params]
    private var storingDeclared = false
    /// Rules by their stored text: parsing a cron expression is cheap, reading a zone file less so.
    private var rules: [String: ScheduleRule] = [:]
    /// Schedules whose stored rule this gateway cannot use, each logged once.
    private var unusable: Set<String> = []

    /// `declared` holds `schedule` request lines; a bad one refuses to start the gateway, naming it.
    init(gateway: Gateway, declared: [DeclaredSchedule]) throws(DeclaredScheduleError) {
        self.gateway = gateway
        self.declared = []
        for schedule in declared {
            let decoded = schedule.request.withUnsafeBytes { bytes in
                Result { () throws(OpError) in
                    var request = try Request(line: bytes)
                    return try Schedule.decode(&request, gateway)
                }
            }
            switch decoded {
            case .success(let params): self.declared.append(params)
            case .failure(let error): throw DeclaredScheduleError(origin: schedule.origin, message: error.message)
            }
        }
    }

    func start() {
        timer.start(afterMs: Self.checkIntervalMs, repeatMs: Self.checkIntervalMs)
        timer.unref()
    }

    func stop() { timer.stop() }

    private func check() {
        guard gateway.store.isReady else { return }
        if !declared.isEmpty && !storingDeclared { storeDeclared() }
        guard !checking else { return }
        checking = true
        gateway.store.run(Self.dueScript, argCount: DueArgument.allCases.count) { args in
            args.put(DueArgument.limit, Self.stepLimit)
        } done: { [unowned self] result in
            guard case .success(let reply) = result else { checking = false; return }
            let now = reply[0].double, rows = reply[1]
            var firings: [Firing] = []
            for i in 0..<rows.count {
                if let firing = firing(rows[i], now: now) { firings.append(firing) }
            }
            guard !firings.isEmpty else { checking = false; return }
            // Again at once while runs are left: the following run of one is due already, or more were due than a step takes.
            let more = rows.count >= Self.stepLimit || firings.contains { $0.next.map { Double($0) <= now } ?? false }
            fire(firings, more: more)
        }
    }

    private struct Firing {
        let name: String
        /// As Redis wrote it: the fire script compares it with the stored text.
        let due: String
        let next: Int?
        let missed: Bool
    }

    private func firing(_ row: RedisReply, now: Double) -> Firing? {
        let name = row[DueRow.name].string, dueText = row[DueRow.due].string
        let key = "\(row[DueRow.cron].string)\n\(row[DueRow.every].string)\n\(row[DueRow.tz].string)"
        guard let due = Int(dueText), let rule = rule(key, row, name: name) else { return nil }
        let (next, missed) = rule.following(due: due, now: now)
        return Firing(name: name, due: dueText, next: next, missed: missed)
    }

    private func rule(_ key: String, _ row: RedisReply, name: String) -> ScheduleRule? {
        if let rule = rules[key] { return rule }
        func text(_ field: DueRow) -> String? { row[field].bytes.isEmpty ? nil : row[field].string }
        do throws(ScheduleError) {
            let rule = try ScheduleRule(cron: text(.cron), every: text(.every).flatMap { Int($0) }, tz: text(.tz))
            rules[key] = rule
            return rule
        } catch {
            if unusable.insert(name).inserted {
                Log.error("schedule cannot run on this gateway; other gateways may run it", ["schedule": name, "error": error.message])
            }
            return nil
        }
    }

    private func fire(_ firings: [Firing], more: Bool) {
        gateway.store.run(Self.fireScript, argCount: FireArgument.allCases.count + 3 * firings.count) { args in
            args.put(FireArgument.job_id_at, Enqueue.Argument.id.rawValue + 1)
            for firing in firings {
                args.arg(firing.name)
                args.arg(firing.due)
                args.arg(firing.next.map(String.init) ?? "")
            }
        } done: { [unowned self] result in
            checking = false
            guard case .success(let rows) = result else { return }
            for (i, firing) in firings.enumerated() where !rows[i][FireRow.job].isNil {
                let fields: KeyValuePairs<String, Any> = ["schedule": firing.name, "job": rows[i][FireRow.job].string,
                                                          "outcome": rows[i][FireRow.outcome].string,
                                                          "next_run": firing.next.map(String.init) ?? "never"]
                if firing.missed { Log.info("schedule caught up on missed runs", fields) } else { Log.debug("schedule fired", fields) }
            }
            if more { check() }
        }
    }

    private func storeDeclared() {
        storingDeclared = true
        var pending = declared.count
        var retry: [Schedule.Params] = []
        for params in declared {
            Schedule.save(params, gateway) { [unowned self] result in
                switch result {
                case .success(let row):
                    Log.info("schedule from the config", ["schedule": params.name, "state": row[Schedule.Row.state].string])
                case .failure(let error) where error.code.retryable:
                    retry.append(params)
                case .failure(let error):
                    Log.error("schedule from the config not stored", ["schedule": params.name, "error": error.message])
                }
                pending -= 1
                if pending == 0 {
                    declared = retry
                    storingDeclared = false
                }
            }
        }
    }
}

/// A `schedule` request line from the config file, and where it was declared (`FILE:LINE`).
public struct DeclaredSchedule: Sendable {
    public var origin: String
    public var request: [UInt8]

    public init(origin: String, request: [UInt8]) {
        self.origin = origin
        self.request = request
    }
}

public struct DeclaredScheduleError: Error, CustomStringConvertible {
    public let origin: String
    public let message: String
    public var description: String { "\(origin): \(message)" }
}
