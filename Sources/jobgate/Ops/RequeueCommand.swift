import ArgumentParser

struct RequeueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requeue",
        abstract: "Put failed jobs back on their queue: one by id, or a whole queue's.",
        discussion: """
            jobgate requeue ID
            jobgate requeue --queue Q --all        every failed job of Q
            jobgate requeue --queue Q --limit N    at most N, oldest failure first

            A queue is requeued in steps of \(RequeueCommand.step) jobs, with progress on stderr: \
            a bar on a terminal, else a line about once a second. It stops once it has moved as \
            many jobs as were failed when it started, so jobs that fail again meanwhile are not \
            chased forever. A job keeps its retries_left.

            \(exitStatusHelp)
            """)

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var timeout: ReplyTimeoutOption

    @Argument(help: "The failed job to requeue.")
    var id: String?

    @Option(name: [.short, .long], help: "The queue whose failed jobs to requeue (with --all or --limit).")
    var queue: String?

    @Flag(help: "Requeue every failed job of --queue.")
    var all = false

    @Option(help: "Requeue at most this many failed jobs of --queue.")
    var limit: Int?

    /// The protocol moves a queue in atomic chunks of 1000, so asking for more per call gains nothing.
    static let step = 1000

    func run() throws {
        try reportingFailures {
            try checkUsage()
            let session = try GatewaySession(gateway, timeoutSeconds: timeout.seconds)
            if let id {
                var request = RequestLine(op: "requeue")
                request.set("id", string: id)
                try session.call(request)
                if !gateway.json { print("requeued \(id)") }
            } else if let queue {
                try requeueQueue(queue, upTo: all ? nil : limit, session: session)
            }
        }
    }

    private func checkUsage() throws {
        if let limit, limit < 1 { throw OpsFailure.usage("--limit must be at least 1") }
        switch (id, queue) {
        case (_?, nil) where !all && limit == nil: return
        case (nil, _?) where all != (limit != nil): return
        case (_?, _?): throw OpsFailure.usage("give a job ID or --queue, not both")
        case (_?, nil): throw OpsFailure.usage("--all and --limit need --queue, not a job ID")
        case (nil, _?): throw OpsFailure.usage("with --queue, give --all or --limit N (one of them)")
        case (nil, nil): throw OpsFailure.usage("give a job ID, or --queue Q with --all or --limit N")
        }
    }

    private func requeueQueue(_ queue: String, upTo maximum: Int?, session: GatewaySession) throws {
        var moved = 0
        var stillFailed = 0
        var previousStillFailed: Int?
        // Fixed after the first step: what there was to move when we started (or --limit).
        var target: Int?
        var progress: ProgressReporter?
        defer { progress?.finish() }
        while true {
            var request = RequestLine(op: "requeue")
            request.set("queue", string: queue)
            request.set("limit", int: min(Self.step, (target ?? maximum ?? Self.step) - moved))
            let reply = try session.call(request)
            let requeued = reply.int("requeued") ?? 0
            stillFailed = reply.int("still_failed") ?? 0
            moved += requeued
            let goal = target ?? min(requeued + stillFailed, maximum ?? Int.max)
            target = goal
            // A step can move nothing yet still shrink the registry: the gateway drops entries
            // whose job hash has expired without counting them. Only a step that changes
            // neither means nothing more can be done.
            let madeProgress = requeued > 0 || previousStillFailed.map { stillFailed < $0 } ?? true
            previousStillFailed = stillFailed
            let isDone = stillFailed == 0 || moved >= goal || !madeProgress
            // A requeue done in one step needs no progress display.
            if progress == nil && !isDone { progress = ProgressReporter(label: "requeue \(queue)") }
            progress?.update(done: moved, of: max(min(moved + stillFailed, maximum ?? Int.max), moved), isLast: isDone)
            if isDone { break }
        }
        progress?.finish()
        guard !gateway.json else { return }
        let noun = moved == 1 ? "job" : "jobs"
        print("requeued \(moved) failed \(noun) in \(queue), \(stillFailed) still failed")
    }
}
