@preconcurrency import Glibc
import Testing
@testable import JobgateServer

/// Expected instants were computed independently with Python's zoneinfo; `glibcAgrees` checks
/// against the C library's own reading of the same zone files.
@Suite struct TimeZoneRulesTests {
    private func zone(_ name: String) throws -> TimeZoneRules { try TimeZoneRules(named: name) }

    private func loadError(_ name: String, directory: String = TimeZoneRules.systemDirectory) -> String? {
        do {
            _ = try TimeZoneRules(named: name, directory: directory)
            return nil
        } catch {
            return error.message
        }
    }

    private func decodeError(_ bytes: [UInt8]) -> String? {
        do {
            _ = try TimeZoneRules(name: "Test/Zone", tzif: bytes)
            return nil
        } catch {
            return error.message
        }
    }

    private func fileBytes(_ name: String) throws -> [UInt8] {
        try #require(ZoneInfoFile.contents(of: name, in: TimeZoneRules.systemDirectory), "\(name) missing: is tzdata installed?")
    }

    @Test func utcNeedsNoFile() throws {
        let utc = try TimeZoneRules(named: "UTC", directory: "/nonexistent")
        #expect(utc.offset(at: 0) == 0 && utc.offset(at: 4_000_000_000) == 0)
        #expect(utc.instant(atLocalTime: 1234) == 1234)
    }

    @Test func berlinChangesAtTheExactSecond() throws {
        let berlin = try zone("Europe/Berlin")
        let spring = 1774746000, fall = 1792890000  // 2026-03-29T01:00Z, 2026-10-25T01:00Z
        #expect(berlin.offset(at: spring - 1) == 3600 && berlin.offset(at: spring) == 7200)
        #expect(berlin.offset(at: fall - 1) == 7200 && berlin.offset(at: fall) == 3600)
        #expect(berlin.nextChange(after: spring - 1) == spring && berlin.nextChange(after: spring) == fall)
        #expect(berlin.localTime(at: spring) == spring + 7200)
    }

    @Test func rulesBeyondTheTableFollowTheFooter() throws {
        let berlin = try zone("Europe/Berlin"), newYork = try zone("America/New_York")
        // 2100-03-28T01:00Z: the last Sunday of March, from `CET-1CEST,M3.5.0,M10.5.0/3`.
        #expect(berlin.offset(at: 4109878800 - 1) == 3600 && berlin.offset(at: 4109878800) == 7200)
        // 2200-11-02T06:00Z: the first Sunday of November, from `EST5EDT,M3.2.0,M11.1.0`.
        #expect(newYork.offset(at: 7284492000 - 1) == -4 * 3600 && newYork.offset(at: 7284492000) == -5 * 3600)
        #expect(newYork.nextChange(after: 7284492000 - 1) == 7284492000)
    }

    @Test func localTimesInGapsAndOverlaps() throws {
        let berlin = try zone("Europe/Berlin"), lordHowe = try zone("Australia/Lord_Howe")
        let spring = 1774746000, fall = 1792890000
        // 01:59 CET exists once; 02:00-02:59 never (they mean the change); 03:00 CEST is the change.
        #expect(berlin.instant(atLocalTime: spring + 3600 - 60) == spring - 60)
        #expect(berlin.instant(atLocalTime: spring + 3600) == spring)
        #expect(berlin.instant(atLocalTime: spring + 5400) == spring)
        #expect(berlin.instant(atLocalTime: spring + 7200) == spring)
        #expect(berlin.instant(atLocalTime: spring + 7260) == spring + 60)
        // 02:30 on the fall-back night means 02:30 CEST; 03:00 only occurs in CET.
        #expect(berlin.instant(atLocalTime: fall + 5400) == fall - 1800)
        #expect(berlin.instant(atLocalTime: fall + 7200) == fall + 3600)
        // Lord Howe moves by half an hour: 02:15 on 2026-10-04 means 02:30 (+11), 01:45 on 2026-04-05 its first run.
        #expect(lordHowe.instant(atLocalTime: 1791041400 + 37800 + 900) == 1791041400)
        #expect(lordHowe.instant(atLocalTime: 1775313900 + 39600) == 1775313900)
    }

    @Test func localTimeAndBackAgree() throws {
        var rng = SeededRNG(seed: 16)
        for name in ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham"] {
            let rules = try zone(name)
            for _ in 0..<2000 {
                let instant = Int.random(in: -2_000_000_000...6_000_000_000, using: &rng)
                let back = rules.instant(atLocalTime: rules.localTime(at: instant))
                // Equal, or the first run of a repeated time: earlier by the size of the shift.
                #expect(back == instant || (back < instant && instant - back <= 3600 && rules.localTime(at: back) == rules.localTime(at: instant)), "\(name) \(instant)")
            }
        }
    }

    /// glibc reads the same files with its own code; its offsets must match ours everywhere,
    /// before, inside and after each file's table.
    @Test(.serialized, arguments: ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Sao_Paulo",
                                   "Europe/Dublin", "Pacific/Chatham", "Asia/Tehran", "America/Nuuk", "Africa/Casablanca"])
    func glibcAgrees(_ name: String) throws {
        let rules = try zone(name)
        setenv("TZ", ":" + name, 1)
        tzset()
        defer { unsetenv("TZ"); tzset() }
        var rng = SeededRNG(seed: 2026)
        for _ in 0..<3000 {
            var t = time_t(Int.random(in: -2_200_000_000...7_000_000_000, using: &rng))
            var parts = tm()
            localtime_r(&t, &parts)
            #expect(rules.offset(at: Int(t)) == parts.tm_gmtoff, "\(name) at \(t)")
        }
    }

    @Test(arguments: ["../etc/passwd", "/etc/localtime", "Europe//Berlin", "Europe/Berlin/", "", "..", "Europe/./Berlin",
                      "Europe/Ber lin", "zone.tab", "Europe/Berlin\0", String(repeating: "A", count: 300)])
    func namesThatAreNotZoneNames(_ name: String) {
        #expect(loadError(name)?.hasSuffix("is not a time zone name (like Europe/Berlin or UTC)") == true, "\(name)")
    }

    @Test func unknownAndUnusableZones() {
        #expect(loadError("Mars/Olympus") == "tz: \"Mars/Olympus\" is not a known time zone")
        #expect(loadError("America") == "tz: \"America\" is not a known time zone", "a directory")
        #expect(loadError("Europe/Berlin", directory: "/nonexistent") == "tz: \"Europe/Berlin\" is not a known time zone")
        #expect(loadError("right/UTC") == "tz: \"right/UTC\" counts leap seconds (a right/ zone); use the zone without right/")
    }

    @Test func malformedFilesAreRejectedNotTrusted() throws {
        let berlin = try fileBytes("Europe/Berlin")
        #expect(decodeError([]) == "tz: \"Test/Zone\" is not a valid time zone file")
        #expect(decodeError(Array("not a zone file at all, just some text".utf8)) != nil)
        var rng = SeededRNG(seed: 8536)
        for cut in stride(from: 0, to: berlin.count - 1, by: 7) {
            #expect(decodeError(Array(berlin[..<cut])) != nil, "cut at \(cut)")
        }
        for _ in 0..<500 {
            var damaged = berlin
            for _ in 0..<4 { damaged[Int.random(in: 0..<damaged.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            _ = decodeError(damaged)  // must not crash; the damage may well be harmless
        }
    }

    @Test func versionOneFilesUseTheirThirtyTwoBitData() throws {
        var bytes = try fileBytes("Europe/Berlin")
        bytes[4] = 0
        let v1 = try TimeZoneRules(name: "Europe/Berlin", tzif: bytes)
        #expect(v1.offset(at: 1774746000 - 1) == 3600 && v1.offset(at: 1774746000) == 7200)
    }

    @Test(arguments: [
        ("CET-1CEST,M3.5.0,M10.5.0/3", 3600, 7200),
        ("EST5EDT,M3.2.0,M11.1.0", -18000, -14400),
        ("<+1030>-10:30<+11>-11:00,M10.1.0,M4.1.0", 37800, 39600),
        ("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", -7200, -3600),
        ("IST-1GMT0,M10.5.0,M3.5.0/1", 3600, 0),
        ("EST5EDT,0/0,J365/25", -18000, -14400),
        ("XXX3YYY,J60/2,300", -10800, -7200),
        ("<+0330>-3:30", 12600, nil),
        ("JST-9", 32400, nil),
    ] as [(String, Int, Int?)])
    func posixRules(_ text: String, _ standard: Int, _ daylight: Int?) throws {
        let rule = try #require(PosixTZRule(parsing: Array(text.utf8)), "\(text)")
        #expect(rule.standardOffset == standard && rule.daylight?.offset == daylight)
    }

    @Test func posixRuleDates() throws {
        let rule = try #require(PosixTZRule(parsing: Array("EST5EDT,M3.2.0,M11.1.0".utf8)))
        // 2026: DST from March 8 07:00Z to November 1 06:00Z.
        #expect(rule.offset(at: 1772953200 - 1) == -18000 && rule.offset(at: 1772953200) == -14400)
        #expect(rule.nextChange(after: 1772953200) == 1793512800)
        // DST all year: the end and the next start fall on the same instant and cancel out.
        let always = try #require(PosixTZRule(parsing: Array("EST5EDT,0/0,J365/25".utf8)))
        #expect(always.offset(at: 1767225600 + 5 * 3600) == -14400 && always.offset(at: 1798761600) == -14400)
        #expect(always.nextChange(after: 1767225600) == nil)
        // `Jn` never counts February 29: J60 is March 1 in 2028, `59` (zero-based) is February 29.
        #expect(PosixTZRule.RuleDate.julianSkippingLeapDay(60).day(inYear: 2028) == CivilCalendar.day(year: 2028, month: 3, day: 1))
        #expect(PosixTZRule.RuleDate.dayOfYear(59).day(inYear: 2028) == CivilCalendar.day(year: 2028, month: 2, day: 29))
        #expect(PosixTZRule.RuleDate.monthWeekDay(month: 2, week: 5, weekday: 2).day(inYear: 2028)
                == CivilCalendar.day(year: 2028, month: 2, day: 29), "the last Tuesday")
    }

    @Test(arguments: ["", "C", "CET", "CET-1CEST", "CET-1CEST,M3.5.0", "CET-1CEST,M13.5.0,M10.5.0", "CET-1CEST,M3.6.0,M10.5.0",
                      "CET-1CEST,M3.5.7,M10.5.0", "CET-1CEST,J0,J365", "CET-1CEST,366,1", "CET-25", "CET-1CEST,M3.5.0/168,M10.5.0",
                      "<+03-3", "CET-1:60", "CET-1CEST,M3.5.0,M10.5.0junk"])
    func malformedPosixRules(_ text: String) {
        #expect(PosixTZRule(parsing: Array(text.utf8)) == nil, "\(text)")
    }

    @Test func calendarRoundTrips() {
        for day in stride(from: -800_000, through: 3_000_000, by: 997) {
            let date = CivilCalendar.date(ofDay: day)
            #expect(CivilCalendar.day(year: date.year, month: date.month, day: date.day) == day)
        }
        #expect(CivilCalendar.weekday(ofDay: 0) == 4 && CivilCalendar.weekday(ofDay: -1) == 3)
    }
}
