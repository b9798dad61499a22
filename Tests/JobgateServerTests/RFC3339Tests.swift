import Testing
@testable import JobgateServer

@Suite struct RFC3339Tests {
    /// Expected epochs computed independently (Python's datetime.fromisoformat(...).timestamp()).
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", 0.0),
        ("1969-12-31T23:59:59Z", -1.0),
        ("2026-11-22T09:30:00Z", 1795339800.0),
        ("2026-11-22T10:30:00.25+01:00", 1795339800.25),
        ("2026-11-22t09:30:00z", 1795339800.0),
        ("2026-11-22 09:30:00+00:00", 1795339800.0),
        ("2026-11-22T09:30:00-00:00", 1795339800.0),
        ("2000-02-29T12:00:00Z", 951825600.0),
        ("2024-02-29T23:59:59-05:30", 1709270999.0),
        ("2100-03-01T00:00:00Z", 4107542400.0),
        ("2038-01-19T03:14:07Z", 2147483647.0),
        ("1900-01-01T00:00:00Z", -2208988800.0),
        ("9999-12-31T23:59:59Z", 253402300799.0),
        ("0001-01-01T00:00:00Z", -62135596800.0),
        ("2001-09-09T01:46:40.5Z", 1000000000.5),
        ("2026-06-15T08:00:00+14:00", 1781460000.0),
        ("2026-06-15T08:00:00-12:00", 1781553600.0),
        // A leap second is read as the last second of its minute.
        ("2016-12-31T23:59:60Z", 1483228799.0),
    ])
    func knownEpochs(_ input: String, _ expected: Double) {
        #expect(RFC3339.parse(input) == expected)
    }

    @Test func fractions() throws {
        let base = 1795339800.0
        let cases: [(String, Double)] = [
            (".5", 0.5), (".25", 0.25), (".125", 0.125), (".000", 0), (".001", 0.001), (".999", 0.999),
            (".123456789", 0.123456789), (".0000001", 0.0000001),
        ]
        for (frac, value) in cases {
            let parsed = try #require(RFC3339.parse("2026-11-22T09:30:00\(frac)Z"), "\(frac)")
            #expect(abs(parsed - (base + value)) < 1e-6, "\(frac)")
        }
        let offset = try #require(RFC3339.parse("2026-11-22T10:30:00.75+01:00"))
        #expect(offset == base + 0.75)
    }

    @Test func leapYears() {
        #expect(RFC3339.parse("2024-02-29T00:00:00Z") != nil)
        #expect(RFC3339.parse("2000-02-29T00:00:00Z") != nil, "divisible by 400")
        #expect(RFC3339.parse("2026-02-29T00:00:00Z") == nil)
        #expect(RFC3339.parse("1900-02-29T00:00:00Z") == nil, "divisible by 100, not by 400")
        #expect(RFC3339.parse("2100-02-29T00:00:00Z") == nil)
        #expect(RFC3339.parse("2026-02-28T00:00:00Z") != nil)
        // Feb 29 and Mar 1 are one day apart in a leap year.
        if let feb29 = RFC3339.parse("2024-02-29T00:00:00Z"), let mar1 = RFC3339.parse("2024-03-01T00:00:00Z") {
            #expect(mar1 - feb29 == 86400)
        }
    }

    @Test func monthLengths() {
        let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        for (i, days) in lengths.enumerated() {
            let month = i + 1 < 10 ? "0\(i + 1)" : "\(i + 1)"
            #expect(RFC3339.parse("2026-\(month)-\(days)T00:00:00Z") != nil, "2026-\(month)-\(days)")
            #expect(RFC3339.parse("2026-\(month)-\(days + 1)T00:00:00Z") == nil, "2026-\(month)-\(days + 1)")
        }
    }

    @Test func consecutiveDaysAreOneDayApart() throws {
        // Walk a few years day by day against daysFromCivil's running count.
        var expected = RFC3339.daysFromCivil(1999, 12, 31)
        #expect(expected == 10956)
        for year in 2000...2004 {
            for month in 1...12 {
                let lengths = [31, year % 4 == 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
                for day in 1...lengths[month - 1] {
                    expected += 1
                    #expect(RFC3339.daysFromCivil(year, month, day) == expected, "\(year)-\(month)-\(day)")
                }
            }
        }
        #expect(RFC3339.daysFromCivil(1970, 1, 1) == 0)
        #expect(RFC3339.daysFromCivil(1969, 12, 31) == -1)
    }

    @Test(arguments: [
        "",
        "2026-11-22",
        "2026-11-22T09:30:00",
        "2026-11-22T09:30Z",
        "2026-11-22T09:30:00.Z",
        "2026-11-22T09:30:00.5",
        "2026-11-22T09:30:00+01",
        "2026-11-22T09:30:00+0100",
        "2026-11-22T09:30:00+01:0",
        "2026-11-22T09:30:00+24:00",
        "2026-11-22T09:30:00+01:60",
        "2026-11-22T09:30:00+01:00Z",
        "2026-11-22T09:30:00ZZ",
        "2026-11-22T09:30:00Z ",
        " 2026-11-22T09:30:00Z",
        "2026-11-22T09:30:00UTC",
        "2026-11-22X09:30:00Z",
        "2026/11/22T09:30:00Z",
        "2026-11-22T09-30-00Z",
        "2026-1-22T09:30:00Z",
        "26-11-22T09:30:00Z",
        "+2026-11-22T09:30:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-01-00T00:00:00Z",
        "2026-01-32T00:00:00Z",
        "2026-01-01T24:00:00Z",
        "2026-01-01T23:60:00Z",
        "2026-01-01T23:59:61Z",
        "2026-01-01T-1:00:00Z",
        "2026-O1-01T00:00:00Z",
        "２０２６-11-22T09:30:00Z",
        "2026-11-22T09:30:00.5.5Z",
        "2026-11-22T09:30:00,5Z",
    ])
    func invalidInputsAreRejected(_ input: String) {
        #expect(RFC3339.parse(input) == nil)
    }
}
