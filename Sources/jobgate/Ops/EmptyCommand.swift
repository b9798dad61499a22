import ArgumentParser

struct EmptyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "empty",
        abstract: "Delete every queued job of a queue; its started, scheduled, failed, ... jobs stay.",
        discussion: """
            Jobs are deleted from the head of the queue in steps of \(EmptyCommand.step), each \
            atomic, with progress on stderr: a bar on a terminal, else a line about once a second. \
            It stops once it has deleted as many jobs as were queued when it started, so jobs \
            that producers add meanwhile are kept. There is no confirmation: scripts call it.

            \(exitStatusHelp)
            """)

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var timeout: ReplyTimeoutOption

    @Argument(help: "The queue.")
    var queue: String

    /// The gateway splits each step into atomic chunks of 100; a step is a request, so progress shows.
    static let step = 500

    func run() throws {
        try reportingFailures {
            let session = try GatewaySession(gateway, timeoutSeconds: timeout.seconds)
            var deleted = 0
            var left = 0
            // What was queued when we started: fixed by the first step.
            var goal: Int?
            var progress: ProgressReporter?
            defer { progress?.finish() }
            while true {
                var request = RequestLine(op: "empty")
                request.set("queue", string: queue)
                request.set("limit", int: min(Self.step, (goal ?? Self.step) - deleted))
                let reply = try session.call(request)
                let removed = reply.int("deleted") ?? 0
                deleted += removed
                left = reply.int("queued") ?? 0
                let target = goal ?? deleted + left
                goal = target
                let isDone = left == 0 || deleted >= target || removed == 0
                if progress == nil && !isDone { progress = ProgressReporter(label: "empty \(queue)") }
                progress?.update(done: deleted, of: target, isLast: isDone)
                if isDone { break }
            }
            progress?.finish()
            guard !gateway.json else { return }
            print("deleted \(deleted) queued \(deleted == 1 ? "job" : "jobs") from \(queue), \(left) queued now")
        }
    }
}
