import ArgumentParser

struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a job that has not started (queued, scheduled or deferred).",
        discussion: """
            A started, finished or failed job answers WRONG_STATE (exit 1).

            \(exitStatusHelp)
            """)

    @OptionGroup var job: JobStateRequest

    func run() throws {
        try job.send("cancel")
    }
}
