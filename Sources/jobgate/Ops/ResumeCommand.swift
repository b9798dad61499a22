import ArgumentParser

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Let leases take jobs from a paused queue again; waiting leases wake at once.",
        discussion: exitStatusHelp)

    @OptionGroup var target: PausedQueue

    func run() throws {
        try reportingFailures { try target.set(op: "resume") }
    }
}
