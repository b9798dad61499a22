import ArgumentParser
import JobgateServer

@main
struct Jobgate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobgate",
        abstract: "A language-neutral job gateway: newline-delimited JSON over TCP and Unix sockets, RQ-layout state in Redis.",
        version: jobgateVersion,
        subcommands: [Serve.self, StatsCommand.self, LimitCommand.self, EnqueueCommand.self, JobCommand.self, ResultCommand.self, FailedCommand.self,
                      RequeueCommand.self, CancelCommand.self, DeleteCommand.self, PauseCommand.self, ResumeCommand.self,
                      JobsCommand.self, EmptyCommand.self, ForgetCommand.self,
                      ScheduleCommand.self, SchedulesCommand.self, UnscheduleCommand.self,
                      TopCommand.self, VersionCommand.self, CronNextCommand.self, DebugCommand.self],
        defaultSubcommand: Serve.self
    )
}
