import ArgumentParser

struct SchedulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedules",
        abstract: "List the schedules, soonest next run first.",
        discussion: """
            RULE is the cron expression with its time zone, or `every Ns`. NEXT_RUN is in UTC. \
            LAST_JOB is the id of the last job a run enqueued.

            \(exitStatusHelp)
            """)

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var timeout: ReplyTimeoutOption

    func run() throws {
        try reportingFailures {
            let reply = try gateway.call("schedules", timeout: timeout)
            guard !gateway.json else { return }
            let schedules = reply.fields["schedules"] as? [[String: Any]] ?? []
            guard !schedules.isEmpty else { return print("no schedules") }
            var table = TextTable([("NAME", .left), ("RULE", .left), ("NEXT_RUN", .left), ("LAST_JOB", .left),
                                   ("QUEUE", .left), ("FUNC", .left)])
            for schedule in schedules {
                let rule = schedule["cron"].map { "\(displayText($0)) (\(displayText(schedule["tz"])))" }
                    ?? "every \(displayText(schedule["every"]))s"
                let job = schedule["job"] as? [String: Any] ?? [:]
                table.add([displayText(schedule["name"]), rule, formatRunTime(schedule["run_at"]),
                           displayText(schedule["last_job"]), displayText(job["queue"]), displayText(job["func"])])
            }
            print(table.rendered)
        }
    }
}
