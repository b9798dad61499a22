import ArgumentParser

struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a job and every trace of it, whatever its state.",
        discussion: """
            A leased job's lease goes too: its worker's ack then answers NOT_FOUND.

            \(exitStatusHelp)
            """)

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var timeout: ReplyTimeoutOption

    @Argument(help: "The job id.")
    var id: String

    func run() throws {
        try reportingFailures {
            var request = RequestLine(op: "delete")
            request.set("id", string: id)
            let reply = try GatewaySession(gateway, timeoutSeconds: timeout.seconds).call(request)
            if !gateway.json { print("\(id): \(reply.string("state") ?? "deleted")") }
        }
    }
}
