import ArgumentParser

struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Stop leases from taking jobs from a queue; it still accepts new jobs.",
        discussion: """
            RQ's own workers do not know this flag. `jobgate resume` undoes it.

            \(exitStatusHelp)
            """)

    @OptionGroup var target: PausedQueue

    func run() throws {
        try reportingFailures { try target.set(op: "pause") }
    }
}

/// The queue `pause` and `resume` set, which differ only in the op; both print the queue's new
/// state and backlog.
struct PausedQueue: ParsableArguments {
    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var timeout: ReplyTimeoutOption

    @Argument(help: "The queue.")
    var queue: String

    func set(op: String) throws {
        var request = RequestLine(op: op)
        request.set("queue", string: queue)
        let reply = try GatewaySession(gateway, timeoutSeconds: timeout.seconds).call(request)
        guard !gateway.json else { return }
        let state = reply.fields["paused"] as? Bool == true ? "paused" : "running"
        print("\(reply.string("queue") ?? queue): \(state), \(reply.int("queued") ?? 0) queued")
    }
}
