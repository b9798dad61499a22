import ArgumentParser

struct ForgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Remove a queue that holds no jobs from RQ's list of queues (and its pause flag).",
        discussion: """
            A queue that still has jobs anywhere (queued, started, scheduled, deferred, finished, \
            failed or canceled) is refused with WRONG_STATE, naming them. Enqueuing to the queue \
            again brings it back.

            \(exitStatusHelp)
            """)

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var timeout: ReplyTimeoutOption

    @Argument(help: "The queue.")
    var queue: String

    func run() throws {
        try gateway.run("forget", "queue", queue, timeout: timeout, done: "forgot queue \(queue)")
    }
}
