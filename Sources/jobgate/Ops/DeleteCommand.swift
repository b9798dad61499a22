import ArgumentParser

struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a job and every trace of it, whatever its state.",
        discussion: """
            A leased job's lease goes too: its worker's ack then answers NOT_FOUND.

            \(exitStatusHelp)
            """)

    @OptionGroup var job: JobStateRequest

    func run() throws {
        try job.send("delete")
    }
}
