import ArgumentParser

struct UnscheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unschedule",
        abstract: "Remove a schedule; the jobs it already enqueued stay.",
        discussion: "\(exitStatusHelp)")

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var timeout: ReplyTimeoutOption

    @Argument(help: "The schedule's name.")
    var name: String

    func run() throws {
        try reportingFailures {
            var request = RequestLine(op: "unschedule")
            request.set("name", string: name)
            try GatewaySession(gateway, timeoutSeconds: timeout.seconds).call(request)
            if !gateway.json { print("\(name): removed") }
        }
    }
}
