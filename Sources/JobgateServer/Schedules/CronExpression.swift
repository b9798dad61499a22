/// A parsed five-field cron expression: `minute hour day-of-month month day-of-week`.
///
/// Each field is a comma-separated list of items; an item is `*`, a value `N`, a range `N-M`
/// (never backwards: `50-10` is an error), optionally followed by a step `/S`: `*/15`,
/// `3-59/10`, and `N/S` meaning `N-max/S`. Months may be written `jan`..`dec` and days of the
/// week `sun`..`sat` (any case, three letters). Day-of-week is 0-7 with both 0 and 7 meaning
/// Sunday; `*` and `N/S` there run to 6. The aliases `@yearly` (`@annually`), `@monthly`,
/// `@weekly`, `@daily` (`@midnight`) and `@hourly` stand for their usual expressions.
///
/// Day-of-month and day-of-week (Vixie cron's rule, croniter's default): when both fields are
/// restricted, that is neither is written as exactly `*`, a day matches when EITHER field matches
/// (`0 0 13 * fri` fires on every 13th and on every Friday). When one of them is `*`, only the
/// other one restricts the day. A field other than `*` counts as restricted even when it lists
/// every value (`1-31`, `*/1`, `0-6`).
public struct CronExpression: Equatable, Sendable {
    let minutes: CronValueSet
    let hours: CronValueSet
    let daysOfMonth: CronValueSet
    let months: CronValueSet
    let daysOfWeek: CronValueSet
    /// Whether day-of-month and day-of-week combine with OR (both restricted) or AND.
    let daysMatchEither: Bool

    /// Parses `text`; a `ScheduleError` names the field at fault and what is wrong with it.
    public init(parsing text: String) throws(ScheduleError) {
        var words = text.split(whereSeparator: { $0.isWhitespace })
        if words.count == 1, words[0].hasPrefix("@") { words = try Self.expansion(ofAlias: words[0]).split(separator: " ") }
        guard words.count == 5 else {
            throw ScheduleError(words.isEmpty ? "cron: the expression is empty"
                : "cron: expected 5 fields (minute hour day-of-month month day-of-week), got \(words.count)")
        }
        minutes = try CronField.minute.parse(words[0])
        hours = try CronField.hour.parse(words[1])
        daysOfMonth = try CronField.dayOfMonth.parse(words[2])
        months = try CronField.month.parse(words[3])
        daysOfWeek = try CronField.dayOfWeek.parse(words[4])
        daysMatchEither = words[2] != "*" && words[4] != "*"
    }

    private static func expansion(ofAlias alias: Substring) throws(ScheduleError) -> String {
        switch alias.lowercased() {
        case "@yearly", "@annually": "0 0 1 1 *"
        case "@monthly": "0 0 1 * *"
        case "@weekly": "0 0 * * 0"
        case "@daily", "@midnight": "0 0 * * *"
        case "@hourly": "0 * * * *"
        default:
            throw ScheduleError("cron: unknown alias \(ScheduleError.quoting(alias)) "
                + "(known: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)")
        }
    }

    /// Whether the local calendar day `day` (days since 1970-01-01) is one the expression fires on.
    func matches(day: Int, month: Int, dayOfMonth: Int) -> Bool {
        let byMonthDay = daysOfMonth.contains(dayOfMonth)
        let byWeekday = daysOfWeek.contains(CivilCalendar.weekday(ofDay: day))
        return daysMatchEither ? byMonthDay || byWeekday : byMonthDay && byWeekday
    }
}

/// One field's allowed values as a bit set: bit n set means value n matches.
struct CronValueSet: Equatable, Sendable {
    private(set) var bits: UInt64 = 0

    func contains(_ value: Int) -> Bool { value >= 0 && value < 64 && (bits >> UInt64(value)) & 1 == 1 }

    /// The smallest member not below `value`.
    func first(atOrAfter value: Int) -> Int? {
        guard value < 64 else { return nil }
        let rest = value <= 0 ? bits : bits & ~((1 << UInt64(value)) - 1)
        return rest == 0 ? nil : rest.trailingZeroBitCount
    }

    mutating func insert(_ value: Int) { bits |= 1 << UInt64(value) }
}

/// What the parser knows about one of the five fields.
struct CronField {
    let name: String
    let range: ClosedRange<Int>
    /// Where `*` and `N/S` end. Values above it are other names for the first value: only
    /// day-of-week has one, 7 for Sunday (0).
    let openEnd: Int
    /// Names for the values from `range.lowerBound` up, and what to call them in errors.
    let valueNames: [String]
    let valueNamesAre: String

    static let minute = CronField(name: "minute", range: 0...59)
    static let hour = CronField(name: "hour", range: 0...23)
    static let dayOfMonth = CronField(name: "day-of-month", range: 1...31)
    static let month = CronField(
        name: "month", range: 1...12,
        valueNames: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        valueNamesAre: "month name")
    static let dayOfWeek = CronField(
        name: "day-of-week", range: 0...7, openEnd: 6,
        valueNames: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"], valueNamesAre: "day name")

    init(name: String, range: ClosedRange<Int>, openEnd: Int? = nil, valueNames: [String] = [], valueNamesAre: String = "") {
        self.name = name
        self.range = range
        self.openEnd = openEnd ?? range.upperBound
        self.valueNames = valueNames
        self.valueNamesAre = valueNamesAre
    }

    func parse(_ text: Substring) throws(ScheduleError) -> CronValueSet {
        var set = CronValueSet()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let values = try parseItem(item)
            for value in values { set.insert(value > openEnd ? range.lowerBound : value) }
        }
        return set
    }

    private func parseItem(_ item: Substring) throws(ScheduleError) -> StrideThrough<Int> {
        guard !item.isEmpty else { throw failure("an empty list item") }
        let parts = item.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        var step = 1
        if parts.count == 2 {
            guard let s = Self.number(parts[1]), s >= 1 else {
                throw failure("step \(ScheduleError.quoting(parts[1])) is not a whole number of at least 1")
            }
            step = s
        }
        let base = parts[0]
        let bounds: ClosedRange<Int>
        if base == "*" {
            bounds = range.lowerBound...openEnd
        } else if let dash = base.firstIndex(of: "-") {
            let low = try value(base[..<dash]), high = try value(base[base.index(after: dash)...])
            guard low <= high else { throw failure("range \(base) is backwards") }
            bounds = low...high
        } else {
            let start = try value(base)
            bounds = start...(parts.count == 2 ? max(start, openEnd) : start)
        }
        return stride(from: bounds.lowerBound, through: bounds.upperBound, by: step)
    }

    private func value(_ text: Substring) throws(ScheduleError) -> Int {
        if Self.isDigits(text) {
            guard text.count <= 9, let n = Int(text), range.contains(n) else {
                throw failure("\(text.count <= 9 ? text : text.prefix(9) + "...") is out of range \(range.lowerBound)-\(range.upperBound)")
            }
            return n
        }
        if let index = valueNames.firstIndex(of: text.lowercased()) { return range.lowerBound + index }
        let expected = valueNames.isEmpty ? "a number" : "a number or \(valueNamesAre)"
        throw failure("\(ScheduleError.quoting(text)) is not \(expected)")
    }

    /// A plain decimal number of at most 9 digits (a longer one is no value any field accepts).
    private static func number(_ text: Substring) -> Int? {
        guard isDigits(text), text.count <= 9 else { return nil }
        return Int(text)
    }

    private static func isDigits(_ text: Substring) -> Bool { !text.isEmpty && text.allSatisfy { $0 >= "0" && $0 <= "9" } }

    private func failure(_ what: String) -> ScheduleError { ScheduleError("cron: \(name): \(what)") }
}
