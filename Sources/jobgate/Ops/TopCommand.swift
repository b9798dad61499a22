import ArgumentParser
import Foundation

struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "A live view of the queues: counts, age, rates, paused and limits. q quits.",
        discussion: """
            Redraws every --interval seconds with plain ANSI sequences, so it works over SSH and \
            in any terminal. DONE/S and FAIL/S are finished and failed jobs per second between two \
            refreshes; REQ/S in the header is the requests this gateway answered per second. If \
            the gateway goes away, the error is shown and top keeps trying.

            \(exitStatusHelp)
            """)

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var timeout: ReplyTimeoutOption

    @Option(help: ArgumentHelp("Seconds between refreshes (0.2 to 60).", valueName: "seconds"))
    var interval: Double = 1

    func run() throws {
        try reportingFailures {
            guard interval >= 0.2 && interval <= 60 else { throw OpsFailure.usage("--interval must be between 0.2 and 60 seconds") }
            var session: GatewaySession? = try GatewaySession(gateway, timeoutSeconds: timeout.seconds)
            let terminal = TopTerminal()
            defer { terminal.restore() }
            var view = TopView(address: gateway.resolvedAddressText)
            repeat {
                do {
                    if session == nil { session = try GatewaySession(gateway, timeoutSeconds: timeout.seconds) }
                    view.update(try session!.call(RequestLine(op: "stats")), atMs: monotonicMs())
                } catch let failure as OpsFailure {
                    session = nil
                    view.problem = "\(failure.code): \(failure.message)"
                }
                terminal.draw(view.lines(size: terminal.size))
            } while !terminal.waitForQuit(milliseconds: Int(interval * 1000))
        }
    }
}

/// What one frame of `jobgate top` shows, from the latest `stats` reply and the one before it.
struct TopView {
    let address: String
    var problem: String?
    private var queues: [String: [String: Any]] = [:]
    private var counters: [String: Any] = [:]
    private var previous: (ms: Int, finished: [String: Int], failed: [String: Int], requests: Int)?
    private var rates: (done: [String: Double], failed: [String: Double], requests: Double?) = ([:], [:], nil)

    init(address: String) { self.address = address }

    mutating func update(_ reply: Reply, atMs now: Int) {
        problem = nil
        queues = (reply.object("queues") ?? [:]).compactMapValues { $0 as? [String: Any] }
        counters = reply.object("gateway") ?? [:]
        let finished = queues.mapValues { number($0["finished"]) }
        let failed = queues.mapValues { number($0["failed"]) }
        let requests = (counters["ops"] as? [String: Any])?.values.map(number).reduce(0, +) ?? 0
        if let previous, now > previous.ms {
            let seconds = Double(now - previous.ms) / 1000
            // Registries shrink as entries expire: a drop is no negative rate.
            func rate(_ new: Int, _ old: Int?) -> Double { old.map { Double(max(0, new - $0)) / seconds } ?? 0 }
            rates.done = Dictionary(uniqueKeysWithValues: finished.map { ($0.key, rate($0.value, previous.finished[$0.key])) })
            rates.failed = Dictionary(uniqueKeysWithValues: failed.map { ($0.key, rate($0.value, previous.failed[$0.key])) })
            rates.requests = rate(requests, previous.requests)
        }
        previous = (now, finished, failed, requests)
    }

    func lines(size: (columns: Int, rows: Int)) -> [String] {
        var header = "jobgate top  \(address)  \(clock())"
        if let version = counters["version"] { header += "  v\(displayText(version))" }
        if let uptime = (counters["uptime_seconds"] as? NSNumber)?.doubleValue { header += "  up \(formatDuration(uptime))" }
        if let redis = counters["redis"] { header += "  redis \(displayText(redis))" }
        if let connections = counters["connections"] { header += "  \(displayText(connections)) conn" }
        if let requests = rates.requests { header += "  \(format(requests)) req/s" }
        var lines = [header, problem.map { "! \($0)" } ?? "q quits", ""]
        if queues.isEmpty {
            lines.append(problem == nil ? "no queues yet" : "")
        } else {
            lines += table().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        }
        let fitting = Array(lines.prefix(size.rows))
        return (fitting.count < lines.count ? fitting.dropLast() + ["… \(lines.count - fitting.count + 1) more lines"] : fitting)
            .map { String($0.prefix(size.columns)) }
    }

    private func table() -> String {
        let counts = queueCountColumns(queues)
        var table = TextTable([("QUEUE", .left)] + counts.map { ($0.uppercased(), .right) }
            + [("OLDEST", .right), ("DONE/S", .right), ("FAIL/S", .right), ("PAUSED", .left), ("LIMITS", .left)])
        for name in queues.keys.sorted() {
            let queue = queues[name]!
            let oldest = (queue["oldest_queued_seconds"] as? NSNumber).map { formatDuration($0.doubleValue) } ?? "-"
            let limits = (queue["limits"] as? [String: Any]).flatMap { $0.isEmpty ? nil : displayText($0) } ?? "-"
            table.add([name] + counts.map { displayText(queue[$0]) } + [
                oldest, rates.done[name].map(format) ?? "-", rates.failed[name].map(format) ?? "-",
                queue["paused"] as? Bool == true ? "PAUSED" : "no", limits,
            ])
        }
        return table.rendered
    }

    private func number(_ value: Any?) -> Int { (value as? NSNumber)?.intValue ?? 0 }
    private func format(_ rate: Double) -> String { String(format: "%.1f", rate) }

    private func clock() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        return String(format: "%02d:%02d:%02d", parts.tm_hour, parts.tm_min, parts.tm_sec)
    }
}
