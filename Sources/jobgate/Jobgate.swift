import ArgumentParser
import JobgateServer

@main
struct Jobgate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobgate",
        abstract: "A language-neutral job gateway: newline-delimited JSON over TCP and Unix sockets, RQ-layout state in Redis.",
        version: jobgateVersion,
        subcommands: [Serve.self],
        defaultSubcommand: Serve.self
    )
}
