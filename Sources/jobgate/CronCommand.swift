import ArgumentParser
import JobgateServer

/// Prints a cron expression's next fire times, so tests can compare the gateway's schedule
/// arithmetic with a reference implementation. Hidden: it is a test aid, not an operator command.
struct CronNextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cron-next",
        abstract: "Print the next fire times of a cron expression, in Unix seconds, one per line.",
        discussion: """
            Exit status: 0 when all COUNT times were printed; 1 when the expression fires fewer \
            times (none within 10 years means never); 2 for a bad expression or time zone.
            """,
        shouldDisplay: false)

    @Argument(help: "Five fields (minute hour day-of-month month day-of-week) or an alias such as @daily.")
    var expression: String

    @Option(help: "The IANA time zone the expression is read in.")
    var tz = "UTC"

    @Option(parsing: .unconditional, help: ArgumentHelp("Unix seconds; the first time printed is strictly after it.", valueName: "seconds"))
    var after: Int

    @Option(help: "How many successive fire times to print.")
    var count = 1

    func validate() throws {
        guard count >= 0 else { throw ValidationError("--count must be 0 or more") }
    }

    func run() throws {
        try reportingFailures {
            let cron: CronExpression, zone: TimeZoneRules
            do throws(ScheduleError) {
                cron = try CronExpression(parsing: expression)
                zone = try TimeZoneRules(named: tz)
            } catch {
                throw OpsFailure(code: "BAD_REQUEST", message: error.message)
            }
            var instant = after
            for _ in 0..<count {
                guard let fire = cron.next(after: instant, in: zone) else {
                    throw OpsFailure(code: "NO_FIRE_TIME", message: "cron: no further fire time after \(instant)")
                }
                print(fire)
                instant = fire
            }
        }
    }
}
