/// A time zone's UTC offsets at every instant, from the system's compiled IANA rules: the
/// transitions a TZif file lists, then its POSIX TZ rule for all later instants.
/// Instants are Unix seconds; "local times" are the zone's wall-clock readings counted the same
/// way (seconds since 1970-01-01T00:00 on the wall clock), so `local = utc + offset(at: utc)`.
public struct TimeZoneRules: Sendable {
    public let name: String
    private let changes: [(at: Int, offset: Int)]
    private let initialOffset: Int
    private let footer: PosixTZRule?
    /// Where the footer takes over from the table (the table's last transition).
    private let footerFrom: Int

    /// Where Debian's `tzdata` installs the compiled IANA database.
    public static let systemDirectory = "/usr/share/zoneinfo"

    /// Years 1 to 9999: the instants the rules answer for. Others are clamped to it.
    public static let supportedInstants = -62_135_596_800...253_402_300_799

    public static let utc = TimeZoneRules(name: "UTC", changes: [], initialOffset: 0, footer: nil, footerFrom: .min)

    private init(name: String, changes: [(at: Int, offset: Int)], initialOffset: Int, footer: PosixTZRule?, footerFrom: Int) {
        self.name = name
        self.changes = changes
        self.initialOffset = initialOffset
        self.footer = footer
        self.footerFrom = footerFrom
    }

    /// Loads the zone `name` (`Europe/Berlin`) from `directory`. `UTC` needs no file. A
    /// `ScheduleError` says whether the name is malformed, unknown, or its file unusable.
    public init(named name: String, directory: String = systemDirectory) throws(ScheduleError) {
        if name == "UTC" {
            self = .utc
            return
        }
        try ZoneInfoFile.validate(name)
        guard let bytes = ZoneInfoFile.contents(of: name, in: directory) else {
            throw ScheduleError("tz: \(ScheduleError.quoting(name)) is not a known time zone")
        }
        try self.init(name: name, tzif: bytes)
    }

    /// Rules from the contents of a TZif file.
    init(name: String, tzif bytes: [UInt8]) throws(ScheduleError) {
        let tzif: TZif
        do {
            tzif = try TZif(decoding: bytes)
        } catch .leapSeconds {
            throw ScheduleError("tz: \(ScheduleError.quoting(name)) counts leap seconds (a right/ zone); use the zone without right/")
        } catch {
            throw ScheduleError("tz: \(ScheduleError.quoting(name)) is not a valid time zone file")
        }
        self.init(name: name, changes: tzif.changes, initialOffset: tzif.initialOffset, footer: tzif.footer,
                  footerFrom: tzif.footer == nil ? .max : tzif.lastTransition ?? .min)
    }

    /// Seconds east of UTC in effect at `utc`.
    public func offset(at utc: Int) -> Int {
        let utc = utc.clamped(to: Self.supportedInstants)
        if let footer, utc >= footerFrom { return footer.offset(at: utc) }
        let i = changeIndex(atOrBefore: utc)
        return i < 0 ? initialOffset : changes[i].offset
    }

    /// The wall-clock reading at `utc`.
    public func localTime(at utc: Int) -> Int { utc + offset(at: utc) }

    /// The first instant after `utc` at which the offset changes, or nil when it never does again.
    func nextChange(after utc: Int) -> Int? {
        let i = changeIndex(atOrBefore: utc) + 1
        if i < changes.count { return changes[i].at }
        return footer?.nextChange(after: max(utc, footerFrom))
    }

    /// The instant the wall clock reads `local`, by the rules cron fire times follow:
    /// - a local time that occurs twice (the hour repeated when clocks fall back) means its FIRST
    ///   occurrence, so a job fires once, before the clocks go back;
    /// - a local time that never occurs (skipped when clocks spring forward) means the first
    ///   instant after the gap, the moment of the change: 02:30 on a night that jumps from 02:00
    ///   to 03:00 is 03:00 local time.
    /// The result never decreases as `local` grows.
    public func instant(atLocalTime local: Int) -> Int {
        let local = local.clamped(to: Self.supportedInstants)
        // Offsets stay within ±26 hours, so the reading `local` lies within two days of its instant.
        var start = local - 2 * CivilCalendar.secondsPerDay
        var offset = self.offset(at: start)
        while true {
            if local < start + offset { return start }
            guard let end = nextChange(after: start), local >= end + offset else { return local - offset }
            start = end
            offset = self.offset(at: end)
        }
    }

    /// The index of the last table change at or before `utc`, -1 when there is none.
    private func changeIndex(atOrBefore utc: Int) -> Int {
        var low = 0, high = changes.count
        while low < high {
            let mid = (low + high) / 2
            if changes[mid].at <= utc { low = mid + 1 } else { high = mid }
        }
        return low - 1
    }
}

extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
