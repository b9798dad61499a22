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
        try gateway.run("unschedule", "name", name, timeout: timeout, done: "\(name): removed")
    }
}
