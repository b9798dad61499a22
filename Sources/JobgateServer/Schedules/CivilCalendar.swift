/// Proleptic Gregorian calendar arithmetic on day numbers (days since 1970-01-01), shared by the
/// cron matcher (which works in local wall-clock days) and the POSIX TZ rules.
enum CivilCalendar {
    static let secondsPerDay = 86400

    static func isLeapYear(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysIn(month: Int, year: Int) -> Int {
        month == 2 ? (isLeapYear(year) ? 29 : 28) : monthLengths[month - 1]
    }

    private static let monthLengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

    static func day(year: Int, month: Int, day: Int) -> Int { RFC3339.daysFromCivil(year, month, day) }

    /// The date of a day number (the inverse of `day(year:month:day:)`; Howard Hinnant's algorithm).
    static func date(ofDay day: Int) -> (year: Int, month: Int, day: Int) {
        let z = day + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// 0 = Sunday ... 6 = Saturday; day 0 (1970-01-01) was a Thursday.
    static func weekday(ofDay day: Int) -> Int { floorMod(day + 4, 7) }

    static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

    static func floorMod(_ a: Int, _ b: Int) -> Int { a - floorDiv(a, b) * b }
}
