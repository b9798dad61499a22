import ArgumentParser

struct JobCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Show a job: its state, times, attempts, and its result or error.",
        discussion: exitStatusHelp)

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var timeout: ReplyTimeoutOption

    @Argument(help: "The job id.")
    var id: String

    /// The protocol's order, which reads as the job's life: what it is, when things happened, how it went.
    static let fieldOrder = [
        "id", "queue", "state", "func", "args", "kwargs", "meta", "description",
        "created_at", "enqueued_at", "started_at", "ended_at", "last_heartbeat",
        "attempts", "retries_left", "timeout", "result_ttl", "failure_ttl", "worker", "result",
    ]

    func run() throws {
        try reportingFailures {
            var request = RequestLine(op: "job")
            request.set("id", string: id)
            let reply = try GatewaySession(gateway, timeoutSeconds: timeout.seconds).call(request)
            guard !gateway.json else { return }
            print(Self.describe(reply.object("job") ?? [:]))
        }
    }

    static func describe(_ job: [String: Any]) -> String {
        // Fields a newer gateway adds still show, after the known ones.
        let extra = job.keys.filter { !fieldOrder.contains($0) && $0 != "error" }.sorted()
        var lines = (fieldOrder + extra).filter { job[$0] != nil }.map { "\($0): \(displayText(job[$0]))" }
        if let error = job["error"] as? String {
            // A traceback keeps its lines, indented under the key.
            lines.append("error:")
            lines += error.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }
        } else if job.keys.contains("error") {
            lines.append("error: -")
        }
        return lines.joined(separator: "\n")
    }
}
