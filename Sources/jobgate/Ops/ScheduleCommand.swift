import ArgumentParser
import Foundation

struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Create or replace a schedule that enqueues a job at set times.",
        discussion: """
            Give --cron (five fields, e.g. "*/5 * * * *", or @daily), read on the wall clock of --tz \
            (default UTC), or --every SECONDS. The job takes enqueue's options; each run's job id is \
            NAME-RUNTIME (Unix seconds). The same definition again changes nothing; another one \
            replaces the schedule. Prints whether it was created, replaced or unchanged, and the \
            next run.

            \(exitStatusHelp)
            """)

    @OptionGroup var gateway: GatewayOptions

    @Argument(help: "The schedule's name (A-Z a-z 0-9 _ -, up to 100).")
    var name: String

    @Option(help: ArgumentHelp("A cron expression: minute hour day-of-month month day-of-week, or @hourly, @daily, ...", valueName: "expression"))
    var cron: String?

    @Option(help: ArgumentHelp("Seconds between runs (the first one period from now).", valueName: "seconds"))
    var every: Int?

    @Option(help: ArgumentHelp("The IANA time zone the cron expression is read in, e.g. Europe/Berlin.", valueName: "zone"))
    var tz: String?

    @OptionGroup var job: JobOptions

    @Option(name: .customLong("io-timeout"), help: ArgumentHelp("Seconds to wait to connect and for the reply.", valueName: "seconds"))
    var ioTimeout: Double = defaultReplyTimeout

    func run() throws {
        try reportingFailures {
            var request = RequestLine(op: "schedule")
            request.set("name", string: name)
            if let cron { request.set("cron", string: cron) }
            if let every { request.set("every", int: every) }
            if let tz { request.set("tz", string: tz) }
            request.set("job", .rawJSON(try job.jobObject()))
            let reply = try GatewaySession(gateway, timeoutSeconds: ioTimeout).call(request)
            guard !gateway.json else { return }
            print("\(name): \(reply.string("state") ?? "-"), next run \(formatRunTime(reply.fields["run_at"]))")
        }
    }
}

/// A run time from a reply (Unix seconds) as UTC RFC 3339, or `never`.
func formatRunTime(_ value: Any?) -> String {
    guard let seconds = value as? NSNumber else { return "never" }
    let formatter = ISO8601DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: Date(timeIntervalSince1970: seconds.doubleValue))
}
