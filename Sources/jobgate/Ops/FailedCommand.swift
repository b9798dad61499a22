import ArgumentParser

struct FailedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failed",
        abstract: "List a queue's failed jobs, oldest failure first.",
        discussion: """
            The ERROR column is the last line of the job's error, which for a traceback names the \
            exception. `jobgate job ID` shows all of it.

            \(exitStatusHelp)
            """)

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var timeout: ReplyTimeoutOption

    @Option(name: [.short, .long], help: "The queue whose failed registry to list.")
    var queue: String

    @Option(help: "Failed jobs to skip.")
    var offset = 0

    @Option(help: "Failed jobs to show (1 to 1000).")
    var limit = 100

    /// Long error lines are cut so the table stays readable in a terminal.
    static let errorColumnWidth = 100

    func run() throws {
        try reportingFailures {
            var request = RequestLine(op: "failed")
            request.set("queue", string: queue)
            request.set("offset", int: offset)
            request.set("limit", int: limit)
            let reply = try GatewaySession(gateway, timeoutSeconds: timeout.seconds).call(request)
            guard !gateway.json else { return }
            let jobs = reply.fields["jobs"] as? [[String: Any]] ?? []
            let total = reply.int("total") ?? jobs.count
            if jobs.isEmpty {
                print(total == 0 ? "no failed jobs in \(queue)" : "no failed jobs past offset \(offset) (\(total) in \(queue))")
                return
            }
            var table = TextTable([("ID", .left), ("FUNC", .left), ("ATTEMPTS", .right), ("ENDED_AT", .left), ("ERROR", .left)])
            for job in jobs {
                table.add([displayText(job["id"]), displayText(job["func"]), displayText(job["attempts"]),
                           displayText(job["ended_at"]), Self.lastLine(of: job["error"] as? String)])
            }
            print(table.rendered)
            print("\(offset + 1)-\(offset + jobs.count) of \(total) failed in \(queue)")
            printCutShort(reply, offset: offset, limit: limit)
        }
    }

    static func lastLine(of error: String?) -> String {
        guard let error else { return "-" }
        let line = error.split(whereSeparator: \.isNewline).last { !$0.allSatisfy(\.isWhitespace) }.map(String.init) ?? "-"
        let trimmed = line.trimmingLeadingWhitespace
        return trimmed.count > errorColumnWidth ? String(trimmed.prefix(errorColumnWidth - 1)) + "…" : trimmed
    }
}

private extension String {
    var trimmingLeadingWhitespace: String { String(drop(while: \.isWhitespace)) }
}
