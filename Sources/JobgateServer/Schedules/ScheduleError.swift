/// A schedule the gateway cannot use: a malformed cron expression or an unusable time zone.
/// `message` names the part at fault and is meant to be sent verbatim in a BAD_REQUEST reply
/// (`cron: day-of-week: 8 is out of range 0-7`, `tz: "Mars/Olympus" is not a known time zone`).
public struct ScheduleError: Error, Equatable, CustomStringConvertible, Sendable {
    public let message: String

    init(_ message: String) { self.message = message }

    public var description: String { message }

    /// User text for a message, quoted and cut short so a huge input cannot flood a reply.
    static func quoting(_ text: some StringProtocol) -> String {
        text.count > 40 ? "\"\(text.prefix(40))...\"" : "\"\(text)\""
    }
}
