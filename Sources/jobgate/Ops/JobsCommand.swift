import ArgumentParser

struct JobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List a page of a queue's jobs in one state, oldest first (or newest).",
        discussion: """
            States: queued (in the order leases take them), started, scheduled, deferred, \
            finished, failed, canceled. The time column is the one that state is about: when \
            the job was enqueued, started, created (scheduled and deferred) or ended. For failed \
            jobs, ERROR is the last line of the error; `jobgate job ID` shows everything.

            \(exitStatusHelp)
            """)

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var timeout: ReplyTimeoutOption

    @Argument(help: "The queue.")
    var queue: String

    @Option(help: "queued, started, scheduled, deferred, finished, failed or canceled.")
    var state = "queued"

    @Option(help: "Jobs to skip.")
    var offset = 0

    @Option(help: "Jobs to show (1 to 1000).")
    var limit = 50

    @Flag(help: "Newest first.")
    var newest = false

    /// The job time each state is about, as its column header and `job` field.
    static let timeColumn: [String: (header: String, field: String)] = [
        "queued": ("ENQUEUED_AT", "enqueued_at"), "started": ("STARTED_AT", "started_at"),
        "scheduled": ("CREATED_AT", "created_at"), "deferred": ("CREATED_AT", "created_at"),
    ]

    func run() throws {
        try reportingFailures {
            var request = RequestLine(op: "jobs")
            request.set("queue", string: queue)
            request.set("state", string: state)
            request.set("offset", int: offset)
            request.set("limit", int: limit)
            request.set("order", string: newest ? "newest" : "oldest")
            let reply = try GatewaySession(gateway, timeoutSeconds: timeout.seconds).call(request)
            guard !gateway.json else { return }
            let jobs = reply.fields["jobs"] as? [[String: Any]] ?? []
            let total = reply.int("total") ?? jobs.count
            if jobs.isEmpty {
                print(total == 0 ? "no \(state) jobs in \(queue)" : "no \(state) jobs past offset \(offset) (\(total) in \(queue))")
                return
            }
            print(table(jobs).rendered)
            print("\(offset + 1)-\(offset + jobs.count) of \(total) \(state) in \(queue), \(newest ? "newest" : "oldest") first")
            printCutShort(reply, offset: offset, limit: limit)
        }
    }

    private func table(_ jobs: [[String: Any]]) -> TextTable {
        let time = Self.timeColumn[state] ?? ("ENDED_AT", "ended_at")
        let showsError = state == "failed"
        var table = TextTable([("ID", .left), ("FUNC", .left), ("ATTEMPTS", .right), (time.header, .left)]
                              + (showsError ? [("ERROR", .left)] : [("WORKER", .left)]))
        for job in jobs {
            let last = showsError ? FailedCommand.lastLine(of: job["error"] as? String) : displayText(job["worker"])
            table.add([displayText(job["id"]), displayText(job["func"]), displayText(job["attempts"]), displayText(job[time.field]), last])
        }
        return table
    }
}
