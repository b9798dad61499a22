import ArgumentParser
import Foundation

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show each queue's job counts and the gateway's counters.",
        discussion: """
            Counts come from Redis, so every gateway sharing it shows the same numbers; the \
            gateway line is the counters of the process you asked. AGE is how long the job at \
            the head of the queue has waited, by Redis's clock.

            \(exitStatusHelp)
            """)

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var timeout: ReplyTimeoutOption

    func run() throws {
        try reportingFailures {
            let reply = try gateway.call("stats", timeout: timeout)
            guard !gateway.json else { return }
            print(queueTable(reply.object("queues") ?? [:]))
            print(gatewayLine(reply.object("gateway") ?? [:]))
        }
    }

    private func queueTable(_ queues: [String: Any]) -> String {
        guard !queues.isEmpty else { return "no queues yet" }
        let counts = queueCountColumns(queues)
        var table = TextTable([("QUEUE", .left)] + counts.map { ($0.uppercased(), .right) } + [("AGE", .right), ("PAUSED", .left)])
        for name in queues.keys.sorted() {
            let queue = queues[name] as? [String: Any] ?? [:]
            let age = (queue["oldest_queued_seconds"] as? NSNumber).map { formatDuration($0.doubleValue) } ?? "-"
            let paused = queue["paused"] as? Bool == true ? "yes" : "no"
            table.add([name] + counts.map { displayText(queue[$0]) } + [age, paused])
        }
        return table.rendered
    }

    /// One line, in the order an operator reads it: what and how healthy, then load, then work done.
    private func gatewayLine(_ counters: [String: Any]) -> String {
        var parts: [String] = []
        func add(_ label: String, _ key: String) {
            if let value = counters[key] { parts.append("\(label) \(displayText(value))") }
        }
        add("version", "version")
        if let uptime = (counters["uptime_seconds"] as? NSNumber)?.doubleValue { parts.append("up \(formatDuration(uptime))") }
        add("redis", "redis")
        add("redis in flight", "redis_in_flight")
        add("connections", "connections")
        add("accepted", "connections_accepted")
        add("waiting leases", "waiting_leases")
        add("errors", "errors")
        add("lease expiries", "lease_expiries")
        add("promoted", "promoted")
        if let ops = counters["ops"] as? [String: Any], !ops.isEmpty {
            let total = ops.values.compactMap { ($0 as? NSNumber)?.intValue }.reduce(0, +)
            let byOp = ops.keys.sorted().map { "\($0) \(displayText(ops[$0]))" }.joined(separator: ", ")
            parts.append("requests \(total) (\(byOp))")
        }
        return "gateway: " + parts.joined(separator: ", ")
    }
}
