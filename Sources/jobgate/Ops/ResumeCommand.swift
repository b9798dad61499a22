import ArgumentParser

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Let leases take jobs from a paused queue again; waiting leases wake at once.",
        discussion: exitStatusHelp)

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var timeout: ReplyTimeoutOption

    @Argument(help: "The queue.")
    var queue: String

    func run() throws {
        try reportingFailures {
            try setQueuePaused(queue, op: "resume", gateway: gateway, timeoutSeconds: timeout.seconds)
        }
    }
}
