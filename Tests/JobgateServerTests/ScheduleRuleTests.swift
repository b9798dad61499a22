import Testing
@testable import JobgateServer

/// What follows a run: on time and late runs each fire in turn; a run missed by more than the
/// grace fires once and the schedule goes on from now.
@Suite struct ScheduleRuleTests {
    // 2026-11-30T12:00:00Z, a Monday.
    private let noon = 1_796_040_000

    @Test func everyStartsOnePeriodAfterCreationAndKeepsItsPhase() throws {
        let rule = try ScheduleRule(cron: nil, every: 10, tz: nil)
        #expect(rule.firstRun(now: Double(noon) + 0.25) == noon + 11)
        #expect(rule.following(due: noon, now: Double(noon) + 0.4) == (noon + 10, false))
        // Late within the grace: the next run follows even though it is due already.
        #expect(rule.following(due: noon, now: Double(noon) + 4.9) == (noon + 10, false))
        // Missed: on from the first run after now, still on the due time's grid.
        #expect(rule.following(due: noon, now: Double(noon) + 37.5) == (noon + 40, true))
    }

    @Test func cronFollowsItsZoneAndCatchesUpOnce() throws {
        let rule = try ScheduleRule(cron: "*/15 * * * *", every: nil, tz: "America/New_York")
        #expect(rule.firstRun(now: Double(noon) + 1) == noon + 900)
        #expect(rule.following(due: noon, now: Double(noon) + 0.5) == (noon + 900, false))
        #expect(rule.following(due: noon, now: Double(noon) + 3 * 3600 + 60) == (noon + 3 * 3600 + 900, true))
        let ny = try ScheduleRule(cron: "30 9 * * *", every: nil, tz: "America/New_York")
        #expect(ny.firstRun(now: Double(noon)) == noon + 2 * 3600 + 1800)  // 09:30 EST is 14:30Z
    }

    @Test func exactlyOneOfCronAndEvery() {
        func message(_ cron: String?, _ every: Int?, _ tz: String?) -> String? {
            do {
                _ = try ScheduleRule(cron: cron, every: every, tz: tz)
                return nil
            } catch {
                return error.message
            }
        }
        #expect(message(nil, nil, nil)?.hasPrefix("give 'cron'") == true)
        #expect(message("* * * * *", 5, nil) == "give 'cron' or 'every', not both")
        #expect(message(nil, 5, "UTC")?.hasPrefix("tz: only a cron schedule") == true)
        #expect(message("* * * * *", nil, "Nowhere/Else") == "tz: \"Nowhere/Else\" is not a known time zone")
    }
}
