import Testing
@testable import JobgateServer

/// Expected instants were computed independently with Python's zoneinfo.
@Suite struct CronTests {
    private func cron(_ text: String) throws -> CronExpression { try CronExpression(parsing: text) }

    private func values(_ set: CronValueSet) -> [Int] { (0..<64).filter { set.contains($0) } }

    private func parseError(_ text: String) -> String? {
        do {
            _ = try CronExpression(parsing: text)
            return nil
        } catch {
            return error.message
        }
    }

    private func fires(_ text: String, after: Int, zone: TimeZoneRules = .utc, count: Int) throws -> [Int] {
        let expression = try cron(text)
        var out: [Int] = []
        var instant = after
        while out.count < count, let next = expression.next(after: instant, in: zone) {
            out.append(next)
            instant = next
        }
        return out
    }

    @Test func fieldsListsRangesAndSteps() throws {
        let c = try cron("1,5 3-5 */10 2-11/3 1-5")
        #expect(values(c.minutes) == [1, 5])
        #expect(values(c.hours) == [3, 4, 5])
        #expect(values(c.daysOfMonth) == [1, 11, 21, 31])
        #expect(values(c.months) == [2, 5, 8, 11])
        #expect(values(c.daysOfWeek) == [1, 2, 3, 4, 5])
        #expect(values(try cron("3-59/10 * * * *").minutes) == [3, 13, 23, 33, 43, 53])
        #expect(values(try cron("*/15 * * * *").minutes) == [0, 15, 30, 45])
        #expect(values(try cron("5/20 * * * *").minutes) == [5, 25, 45], "N/S runs to the field's end")
        #expect(values(try cron("*/70 * * * *").minutes) == [0], "a step past the end leaves the start")
        #expect(values(try cron("* * * * *").minutes) == Array(0...59))
        #expect(values(try cron("0  0\t1 1   *").hours) == [0], "any run of blanks separates fields")
    }

    @Test func dayOfWeekSevenIsSunday() throws {
        #expect(values(try cron("0 0 * * 7").daysOfWeek) == [0])
        #expect(values(try cron("0 0 * * 0,7").daysOfWeek) == [0])
        #expect(values(try cron("0 0 * * 5-7").daysOfWeek) == [0, 5, 6])
        #expect(values(try cron("0 0 * * */2").daysOfWeek) == [0, 2, 4, 6], "* runs 0-6")
        #expect(values(try cron("0 0 * * 1/2").daysOfWeek) == [1, 3, 5], "N/S runs to 6")
        #expect(values(try cron("0 0 * * 1-7/2").daysOfWeek) == [0, 1, 3, 5])
    }

    @Test func namesInAnyCase() throws {
        #expect(try cron("0 0 * JAN,dec Mon-FRI") == cron("0 0 * 1,12 1-5"))
        #expect(try cron("0 0 * jan-jun/2 sun,sat") == cron("0 0 * 1,3,5 0,6"))
        #expect(try cron("0 0 * * SAT") == cron("0 0 * * 6"))
    }

    @Test(arguments: [
        ("@yearly", "0 0 1 1 *"), ("@annually", "0 0 1 1 *"), ("@monthly", "0 0 1 * *"), ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"), ("@hourly", "0 * * * *"), ("@Daily", "0 0 * * *"),
        (" @hourly ", "0 * * * *"),
    ])
    func aliases(_ alias: String, _ expansion: String) throws {
        #expect(try cron(alias) == cron(expansion))
    }

    @Test(arguments: [
        ("0 0 * * 8", "cron: day-of-week: 8 is out of range 0-7"),
        ("60 * * * *", "cron: minute: 60 is out of range 0-59"),
        ("0 24 * * *", "cron: hour: 24 is out of range 0-23"),
        ("0 0 0 * *", "cron: day-of-month: 0 is out of range 1-31"),
        ("0 0 32 * *", "cron: day-of-month: 32 is out of range 1-31"),
        ("0 0 * 13 *", "cron: month: 13 is out of range 1-12"),
        ("0 0 * 0 *", "cron: month: 0 is out of range 1-12"),
        ("0 0 * foo *", "cron: month: \"foo\" is not a number or month name"),
        ("0 0 * * monday", "cron: day-of-week: \"monday\" is not a number or day name"),
        ("0 0 * * jan", "cron: day-of-week: \"jan\" is not a number or day name"),
        ("0 0 * mon *", "cron: month: \"mon\" is not a number or month name"),
        ("x * * * *", "cron: minute: \"x\" is not a number"),
        ("0 -1 * * *", "cron: hour: \"\" is not a number"),
        ("1,,2 * * * *", "cron: minute: an empty list item"),
        ("0 0, * * *", "cron: hour: an empty list item"),
        ("*/0 * * * *", "cron: minute: step \"0\" is not a whole number of at least 1"),
        ("0 */x * * *", "cron: hour: step \"x\" is not a whole number of at least 1"),
        ("0 0 1/2/3 * *", "cron: day-of-month: step \"2/3\" is not a whole number of at least 1"),
        ("50-10 * * * *", "cron: minute: range 50-10 is backwards"),
        ("0 0 * * fri-mon", "cron: day-of-week: range fri-mon is backwards"),
        ("99999999999 * * * *", "cron: minute: 999999999... is out of range 0-59"),
        ("0 0 * *", "cron: expected 5 fields (minute hour day-of-month month day-of-week), got 4"),
        ("0 0 * * * *", "cron: expected 5 fields (minute hour day-of-month month day-of-week), got 6"),
        ("", "cron: the expression is empty"),
        ("   ", "cron: the expression is empty"),
        ("@reboot", "cron: unknown alias \"@reboot\" (known: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)"),
        ("0 0 * * " + String(repeating: "z", count: 100), "cron: day-of-week: \"" + String(repeating: "z", count: 40) + "...\" is not a number or day name"),
    ])
    func errorsNameTheField(_ text: String, _ message: String) {
        #expect(parseError(text) == message)
    }

    @Test func nextIsStrictlyAfter() throws {
        let midnight = 1767225600  // 2026-01-01T00:00:00Z
        #expect(try fires("0 0 * * *", after: midnight, count: 1) == [midnight + 86400])
        #expect(try fires("0 0 * * *", after: midnight - 1, count: 1) == [midnight])
        #expect(try fires("* * * * *", after: 1767225570, count: 2) == [midnight, midnight + 60], "seconds are dropped")
        #expect(try fires("*/15 * * * *", after: midnight, count: 3) == [midnight + 900, midnight + 1800, midnight + 2700])
    }

    @Test func monthEnds() throws {
        // 2026-01-31 12:00, then the next 31st is March's (February has none), then May's.
        #expect(try fires("0 12 31 * *", after: 1767225600, count: 3) == [1769860800, 1774958400, 1780228800])
        // The year rolls over.
        #expect(try fires("0 0 1 1 *", after: 1767225600 - 60, count: 2) == [1767225600, 1798761600])
    }

    @Test func leapDays() throws {
        // 2024-02-29, 2028-02-29; then 2096 to 2104 (2100 is no leap year).
        #expect(try fires("0 0 29 2 *", after: 1709164800 - 1, count: 2) == [1709164800, 1835395200])
        #expect(try fires("0 0 29 2 *", after: 3981312000, count: 1) == [4233686400])
    }

    @Test func dayOfMonthOrDayOfWeek() throws {
        let day = 86400
        let jan1 = 1767225600  // 2026-01-01, a Thursday
        // The 13th or any Friday: Jan 2, 9, 13, 16.
        #expect(try fires("0 0 13 * fri", after: jan1, count: 4) == [jan1 + day, jan1 + 8 * day, jan1 + 12 * day, jan1 + 15 * day])
        // With one of them `*`, only the other restricts.
        #expect(try fires("0 0 13 * *", after: jan1, count: 1) == [jan1 + 12 * day])
        #expect(try fires("0 0 * * fri", after: jan1, count: 2) == [jan1 + day, jan1 + 8 * day])
        // In February, the 29th or any Monday: Feb 2, 9, 16, 23 of 2026, then 2027's Mondays; in 2028
        // the 29th (a Tuesday) as well.
        #expect(try fires("0 0 29 2 1", after: jan1, count: 5) == [32, 39, 46, 53, 396].map { jan1 + $0 * day })
        let feb2028 = 1832976000  // 2028-02-01
        #expect(try fires("0 0 29 2 1", after: feb2028, count: 5) == [6, 13, 20, 27, 28].map { feb2028 + $0 * day })
        // `*/2` restricts (odd days), so it combines with OR too: Jan 3 (odd), Jan 5 (odd), Jan 7, ..., and Monday Jan 12.
        #expect(try fires("0 0 */2 * mon", after: jan1 + 10 * day, count: 3) == [jan1 + 11 * day, jan1 + 12 * day, jan1 + 14 * day])
    }

    /// Only a literal `*` leaves a day field unrestricted: `1-31` with Monday is "any day of the
    /// month OR Monday", every day (as croniter and Vixie cron read it). croniter alone reads a
    /// full field as `*` when the other day field contains a `*` (`*/1 * */2`), which jobgate does not.
    @Test func fullDayFieldStillCombinesWithOr() throws {
        let jan1 = 1767225600
        let everyDay = (1...3).map { jan1 + $0 * 86400 }
        #expect(try fires("0 0 1-31 * 1", after: jan1, count: 3) == everyDay)
        #expect(try fires("0 0 */1 * */2", after: jan1, count: 3) == everyDay)
        #expect(try fires("0 0 13 * 0-6", after: jan1, count: 3) == everyDay)
    }

    @Test func impossibleExpressionsEndTheSearch() throws {
        let february30 = try cron("0 0 30 2 *"), shortMonths31 = try cron("0 0 31 4,6,9,11 *")
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(february30.next(after: 0, in: .utc) == nil)
            #expect(shortMonths31.next(after: 0, in: .utc) == nil)
        }
        #expect(elapsed < .seconds(1))
    }

    @Test func rareExpressionsAreFast() throws {
        let leapMonday = try cron("0 0 29 2 1"), leapDay = try cron("0 0 29 2 *")
        let berlin = try TimeZoneRules(named: "Europe/Berlin")
        let clock = ContinuousClock()
        var instant = 3981312000  // 2096-02-29: the next Feb 29 is eight years on
        let elapsed = clock.measure {
            for _ in 0..<200 {
                _ = leapMonday.next(after: instant, in: berlin)
                instant = leapDay.next(after: instant, in: berlin) ?? instant
            }
        }
        #expect(elapsed < .seconds(1), "\(elapsed)")
    }

    @Test func outsideSupportedYearsIsNil() throws {
        #expect(try cron("* * * * *").next(after: 253402300799, in: .utc) == nil)
        #expect(try cron("* * * * *").next(after: .max, in: .utc) == nil)
        #expect(try cron("* * * * *").next(after: .min, in: .utc) == nil)
    }

    @Test func springForwardInBerlin() throws {
        let berlin = try TimeZoneRules(named: "Europe/Berlin")
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST. 02:30 fires at 03:00 CEST, then normally.
        let before = 1774745940  // 01:59 CET
        #expect(try fires("30 2 * * *", after: before, zone: berlin, count: 2) == [1774746000, 1774830600])
        #expect(try fires("*/15 2 * * *", after: before, zone: berlin, count: 1) == [1774746000], "skipped times fire once")
        #expect(try fires("0 2,3 * * *", after: before, zone: berlin, count: 2) == [1774746000, 1774746000 + 86400 - 3600])
        #expect(try fires("30 * * * *", after: before, zone: berlin, count: 2) == [1774746000, 1774747800])
    }

    @Test func fallBackInBerlin() throws {
        let berlin = try TimeZoneRules(named: "Europe/Berlin")
        // 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 fires once, at 02:30 CEST.
        let cest0230 = 1792888200, cet0230 = 1792891800, cet0300 = 1792893600
        #expect(try fires("30 2 * * *", after: cest0230 - 3600, zone: berlin, count: 2) == [cest0230, 1792978200])
        #expect(try fires("*/30 * * * *", after: cest0230 - 1, zone: berlin, count: 3) == [cest0230, cet0300, cet0300 + 1800])
        // From inside the second run of the hour, its times have already fired.
        #expect(try fires("*/15 * * * *", after: cet0230 - 600, zone: berlin, count: 1) == [cet0300])
        #expect(try fires("30 2 * * *", after: cet0230 - 600, zone: berlin, count: 1) == [1792978200])
    }

    @Test func bothChangesInNewYork() throws {
        let newYork = try TimeZoneRules(named: "America/New_York")
        // 2026-03-08: 02:00 EST jumps to 03:00 EDT.
        #expect(try fires("30 2 * * *", after: 1772951400, zone: newYork, count: 2) == [1772953200, 1773037800])
        // 2026-11-01: 02:00 EDT goes back to 01:00 EST; 01:30 fires at 01:30 EDT only.
        #expect(try fires("30 1 * * *", after: 1793511000 - 60, zone: newYork, count: 2) == [1793511000, 1793601000])
        #expect(try fires("0,30 * * * *", after: 1793511000, zone: newYork, count: 2) == [1793516400, 1793518200])
    }

    @Test func halfHourChangesOnLordHowe() throws {
        let lordHowe = try TimeZoneRules(named: "Australia/Lord_Howe")
        // 2026-10-04: 02:00 jumps to 02:30; 02:15 fires at 02:30.
        #expect(try fires("15 2 * * *", after: 1791041340, zone: lordHowe, count: 1) == [1791041400])
        // 2026-04-05: 02:00 goes back to 01:30; 01:45 fires at its first occurrence only.
        #expect(try fires("45 1 * * *", after: 1775313900 - 60, zone: lordHowe, count: 2) == [1775313900, 1775313900 + 86400 + 1800])
        #expect(try fires("*/15 * * * *", after: 1775313900, zone: lordHowe, count: 1) == [1775316600])
    }
}
