/// The POSIX TZ string at the end of a TZif file (`CET-1CEST,M3.5.0,M10.5.0/3`,
/// `<+1030>-10:30<+11>-11,M10.1.0,M4.1.0`): the zone's rule for every instant after the last
/// transition its table lists, so times beyond 2037 (or beyond a "slim" file's table) follow it.
/// The TZif v3 extensions are understood: rule times from -167 to 167 hours, and DST all year.
struct PosixTZRule: Equatable, Sendable {
    /// Seconds east of UTC (POSIX writes them west: `CET-1` is one hour east).
    let standardOffset: Int
    let daylight: Daylight?

    struct Daylight: Equatable, Sendable {
        let offset: Int
        /// When DST starts (in standard local time) and ends (in daylight local time).
        let start: RuleDate, startTime: Int
        let end: RuleDate, endTime: Int
    }

    enum RuleDate: Equatable, Sendable {
        /// `Jn`: day n of the year, 1...365, never counting February 29.
        case julianSkippingLeapDay(Int)
        /// `n`: day n of the year, 0...365, counting February 29.
        case dayOfYear(Int)
        /// `Mm.w.d`: weekday d (0 = Sunday) of week w (1...5, 5 = the last) of month m.
        case monthWeekDay(month: Int, week: Int, weekday: Int)

        func day(inYear year: Int) -> Int {
            let january1 = CivilCalendar.day(year: year, month: 1, day: 1)
            switch self {
            case .julianSkippingLeapDay(let n):
                return january1 + n - 1 + (CivilCalendar.isLeapYear(year) && n >= 60 ? 1 : 0)
            case .dayOfYear(let n):
                return january1 + n
            case .monthWeekDay(let month, let week, let weekday):
                let first = CivilCalendar.day(year: year, month: month, day: 1)
                var day = first + CivilCalendar.floorMod(weekday - CivilCalendar.weekday(ofDay: first), 7) + (week - 1) * 7
                while day >= first + CivilCalendar.daysIn(month: month, year: year) { day -= 7 }
                return day
            }
        }
    }

    func offset(at utc: Int) -> Int {
        let year = Self.year(of: utc)
        return changes(inYears: (year - 2)...(year + 1)).last(where: { $0.at <= utc })?.offset ?? standardOffset
    }

    /// The first instant after `utc` at which the offset changes; nil when it never does again
    /// (no DST, or DST all year).
    func nextChange(after utc: Int) -> Int? {
        // Rules change the offset twice a year or never, so a change comes before the end of
        // next year or not at all; the list's last entry stands at the end of the year after, where
        // it has no successor to cancel it.
        let year = Self.year(of: utc)
        let list = changes(inYears: (year - 2)...(year + 2))
        let horizon = CivilCalendar.day(year: year + 2, month: 1, day: 1) * CivilCalendar.secondsPerDay
        return zip(list.dropFirst(), list)
            .first(where: { $0.0.at > utc && $0.0.offset != $0.1.offset })
            .flatMap { $0.0.at < horizon ? $0.0.at : nil }
    }

    private static func year(of utc: Int) -> Int {
        CivilCalendar.date(ofDay: CivilCalendar.floorDiv(utc, CivilCalendar.secondsPerDay)).year
    }

    /// The rule's changes in `years`, as instants and the offset from then on, in time order;
    /// where a start and an end fall on the same instant (DST all year) the later rule alone is kept.
    private func changes(inYears years: ClosedRange<Int>) -> [(at: Int, offset: Int)] {
        guard let dst = daylight else { return [] }
        var list: [(at: Int, offset: Int)] = []
        for y in years {
            let end = dst.end.day(inYear: y) * CivilCalendar.secondsPerDay + dst.endTime - dst.offset
            let start = dst.start.day(inYear: y) * CivilCalendar.secondsPerDay + dst.startTime - standardOffset
            list.append((end, standardOffset))
            list.append((start, dst.offset))
        }
        list = list.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        return list.enumerated().filter { $0.offset + 1 == list.count || list[$0.offset + 1].at != $0.element.at }.map(\.element)
    }
}

extension PosixTZRule {
    /// Parses a TZ string; nil when it is not one.
    init?(parsing text: [UInt8]) {
        var scanner = TZStringScanner(text)
        guard scanner.skipName(), let std = scanner.offset(maxHours: 24) else { return nil }
        standardOffset = -std
        guard !scanner.atEnd else {
            daylight = nil
            return
        }
        guard scanner.skipName() else { return nil }
        let dstOffset = scanner.peek == UInt8(ascii: ",") ? standardOffset + 3600 : scanner.offset(maxHours: 24).map { -$0 }
        guard let dstOffset, scanner.take(","), let start = scanner.ruleDate(), let startTime = scanner.ruleTime(),
              scanner.take(","), let end = scanner.ruleDate(), let endTime = scanner.ruleTime(), scanner.atEnd
        else { return nil }
        daylight = Daylight(offset: dstOffset, start: start, startTime: startTime, end: end, endTime: endTime)
    }
}

/// Reads the pieces of a TZ string left to right.
private struct TZStringScanner {
    private let bytes: [UInt8]
    private var at = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { at == bytes.count }
    var peek: UInt8? { at < bytes.count ? bytes[at] : nil }

    mutating func take(_ c: Unicode.Scalar) -> Bool {
        guard peek == UInt8(ascii: c) else { return false }
        at += 1
        return true
    }

    /// A zone abbreviation: three or more letters, or `<...>` (which may hold digits and signs).
    mutating func skipName() -> Bool {
        let start = at
        if take("<") {
            while let c = peek, c != UInt8(ascii: ">") { at += 1 }
            return take(">") && at - start >= 5
        }
        while let c = peek, (c | 0x20) >= UInt8(ascii: "a"), (c | 0x20) <= UInt8(ascii: "z") { at += 1 }
        return at - start >= 3
    }

    /// `[+-]hh[:mm[:ss]]` in seconds, as written (POSIX offsets count west of UTC).
    mutating func offset(maxHours: Int) -> Int? {
        let sign = take("-") ? -1 : 1
        if sign == 1 { _ = take("+") }
        guard let hours = number(maxDigits: 3), hours <= maxHours else { return nil }
        var seconds = hours * 3600
        for scale in [60, 1] {
            guard take(":") else { break }
            guard let part = number(maxDigits: 2), part < 60 else { return nil }
            seconds += part * scale
        }
        return sign * seconds
    }

    mutating func ruleDate() -> PosixTZRule.RuleDate? {
        if take("J") {
            guard let n = number(maxDigits: 3), (1...365).contains(n) else { return nil }
            return .julianSkippingLeapDay(n)
        }
        if take("M") {
            guard let m = number(maxDigits: 2), (1...12).contains(m), take("."), let w = number(maxDigits: 1), (1...5).contains(w),
                  take("."), let d = number(maxDigits: 1), d <= 6 else { return nil }
            return .monthWeekDay(month: m, week: w, weekday: d)
        }
        guard let n = number(maxDigits: 3), n <= 365 else { return nil }
        return .dayOfYear(n)
    }

    /// `/time` after a rule date, 02:00 when absent.
    mutating func ruleTime() -> Int? { take("/") ? offset(maxHours: 167) : 7200 }

    private mutating func number(maxDigits: Int) -> Int? {
        var value = 0, digits = 0
        while let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9"), digits < maxDigits {
            value = value * 10 + Int(c - UInt8(ascii: "0"))
            digits += 1
            at += 1
        }
        return digits == 0 ? nil : value
    }
}
