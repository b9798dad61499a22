import ArgumentParser

struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a job that has not started (queued, scheduled or deferred).",
        discussion: """
            A started, finished or failed job answers WRONG_STATE (exit 1).

            \(exitStatusHelp)
            """)

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var timeout: ReplyTimeoutOption

    @Argument(help: "The job id.")
    var id: String

    func run() throws {
        try reportingFailures {
            var request = RequestLine(op: "cancel")
            request.set("id", string: id)
            let reply = try GatewaySession(gateway, timeoutSeconds: timeout.seconds).call(request)
            if !gateway.json { print("\(id): \(reply.string("state") ?? "canceled")") }
        }
    }
}
