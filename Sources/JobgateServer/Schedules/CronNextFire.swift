extension CronExpression {
    /// How far ahead `next(after:in:)` looks. Every expression that can fire at all fires at least
    /// once in any 8 years (the sparsest, February 29, skips 2100), so finding nothing in 10 years
    /// means it never fires (`0 0 30 2 *`).
    static let searchYears = 10

    /// The first fire time strictly after the instant `after` (Unix seconds), or nil when the
    /// expression never fires (or not before year 9999).
    ///
    /// The expression is matched against the wall clock of `zone`, minute by minute of local
    /// time, and a matching local time becomes an instant by `TimeZoneRules.instant(atLocalTime:)`:
    /// - a local time the clocks skip (spring forward) fires at the first instant after the gap:
    ///   `30 2 * * *` on a night that jumps from 02:00 to 03:00 fires at 03:00 local time; several
    ///   skipped times that match fire once, at that instant;
    /// - a local time the clocks show twice (fall back) fires once, at its first occurrence
    ///   (Vixie cron's rule): `30 2 * * *` fires at 02:30 before the change, and `*/15 * * * *`
    ///   does not fire again while the repeated hour replays.
    ///
    /// The search jumps over months, days and hours that cannot match, so it costs microseconds
    /// even for rare expressions.
    public func next(after: Int, in zone: TimeZoneRules) -> Int? {
        guard TimeZoneRules.supportedInstants.contains(after) else { return nil }
        let localAfter = zone.localTime(at: after)
        var candidate = CivilCalendar.floorDiv(localAfter, 60) + 1
        let lastDay = min(CivilCalendar.floorDiv(localAfter, CivilCalendar.secondsPerDay) + Self.searchYears * 366,
                          TimeZoneRules.supportedInstants.upperBound / CivilCalendar.secondsPerDay)
        while let localMinute = firstMatch(atOrAfterMinute: candidate, throughDay: lastDay) {
            let fire = zone.instant(atLocalTime: localMinute * 60)
            // Only a time in the second run of a repeated hour maps back to or before `after`.
            if fire > after { return TimeZoneRules.supportedInstants.contains(fire) ? fire : nil }
            candidate = localMinute + 1
        }
        return nil
    }

    /// The first local minute (minutes since 1970-01-01T00:00 on the wall clock) not before
    /// `minute` that the expression matches, on or before the local day `lastDay`.
    func firstMatch(atOrAfterMinute minute: Int, throughDay lastDay: Int) -> Int? {
        var day = CivilCalendar.floorDiv(minute, 1440)
        var minuteOfDay = minute - day * 1440
        while day <= lastDay {
            let date = CivilCalendar.date(ofDay: day)
            guard months.contains(date.month) else {
                day = firstDayOfNextMatchingMonth(after: date)
                minuteOfDay = 0
                continue
            }
            if matches(day: day, month: date.month, dayOfMonth: date.day), let time = firstTime(atOrAfter: minuteOfDay) {
                return day * 1440 + time
            }
            day += 1
            minuteOfDay = 0
        }
        return nil
    }

    /// The first matching minute of a matching day, not before `minuteOfDay`.
    private func firstTime(atOrAfter minuteOfDay: Int) -> Int? {
        let hour = minuteOfDay / 60
        if hours.contains(hour), let minute = minutes.first(atOrAfter: minuteOfDay % 60) { return hour * 60 + minute }
        guard let laterHour = hours.first(atOrAfter: hour + 1), let minute = minutes.first(atOrAfter: 0) else { return nil }
        return laterHour * 60 + minute
    }

    private func firstDayOfNextMatchingMonth(after date: (year: Int, month: Int, day: Int)) -> Int {
        if let month = months.first(atOrAfter: date.month + 1) { return CivilCalendar.day(year: date.year, month: month, day: 1) }
        return CivilCalendar.day(year: date.year + 1, month: months.first(atOrAfter: 1) ?? 1, day: 1)
    }
}
