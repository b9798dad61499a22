/// Failed logins per address, for TCP `auth` and the console's login: a few a minute, then
/// refused until the minute is over, so a token cannot be guessed by reconnecting and the
/// log gets a few lines per address, not one per guess.
final class LoginThrottle {
    static let maxFailures = 5
    static let windowMs: UInt64 = 60_000
    private let loop: EventLoop
    private var failures: [String: [UInt64]] = [:]
    private var prunedMs: UInt64 = 0

    init(loop: EventLoop) { self.loop = loop }

    func isLockedOut(peer: String) -> Bool {
        prune()
        return failures[address(peer), default: []].count >= LoginThrottle.maxFailures
    }

    /// Counts a failure; true when it is the one that locks the address out.
    @discardableResult
    func failed(peer: String) -> Bool {
        let key = address(peer)
        failures[key, default: []].append(loop.nowMs)
        return failures[key]?.count == LoginThrottle.maxFailures
    }

    /// At most once a second: many addresses guessing at once must not make each check slow.
    private func prune() {
        let now = loop.nowMs
        guard now - prunedMs >= 1000 else { return }
        prunedMs = now
        failures = failures.compactMapValues { times in
            let recent = times.filter { now - $0 < LoginThrottle.windowMs }
            return recent.isEmpty ? nil : recent
        }
    }

    /// The peer without its port: each new connection has another one.
    private func address(_ peer: String) -> String {
        guard let colon = peer.lastIndex(of: ":") else { return peer }
        return String(peer[..<colon])
    }
}
