
/// Runs the sweep script a few times a second: due scheduled jobs move to their queues and
/// expired leases come back as failed attempts. Every gateway sweeps; the script is atomic and
/// reads Redis's clock, so concurrent sweeps never move a job twice.
final class Sweeper {
    enum Argument: Int, ScriptNames { case limit, exc_info, exc_string, lock_owner }
    enum Row: Int, ScriptNames { case promoted, expired, expired_ids, problem }

    static let script = Script("sweep", PackageResources.sweep_lua, arguments: Argument.names, row: Row.names, writes: true)

    private unowned let gateway: Gateway
    private lazy var timer = LoopTimer(gateway.loop) { [unowned self] in self.sweep() }
    private var running = false
    /// What kept the sweep from some or all of its work (a key another program wrote, or the
    /// script's own failure), and when it last did: logged when it changes, not on every sweep,
    /// and cleared only after 5 s without it (part of the sweep runs once a second).
    private var problem: String?
    private var problemSeenMs: UInt64 = 0
    private let expiredText: [UInt8]
    private let expiredTextBase64: [UInt8]

    init(gateway: Gateway) {
        self.gateway = gateway
        expiredText = gateway.zlib.compress(Array("lease expired".utf8))
        expiredTextBase64 = Base64.encode(expiredText)
    }

    func start() {
        timer.start(afterMs: gateway.config.sweepIntervalMs, repeatMs: gateway.config.sweepIntervalMs)
        timer.unref()
    }

    func stop() { timer.stop() }

    private func report(_ now: String?) {
        let nowMs = gateway.loop.nowMs
        if let now {
            problemSeenMs = nowMs
            guard now != problem else { return }
            Log.warn("sweep incomplete: what that key guards is left as it is (leases do not expire, jobs do not move)",
                     ["problem": now])
            problem = now
        } else if problem != nil && nowMs - problemSeenMs > 5000 {
            Log.info("sweep complete again")
            problem = nil
        }
    }

    /// The ids the sweep named, and how many it did not: `a,b,c (+4 more)`.
    private static func listed(_ ids: RedisReply, of total: Int) -> String {
        let named = (0..<ids.count).map { ids[$0].string }
        let more = total - named.count
        return named.joined(separator: ",") + (more > 0 ? " (+\(more) more)" : "")
    }

    private func sweep() {
        guard !running, gateway.store.isReady else { return }
        running = true
        let limit = gateway.config.sweepLimit
        let sent = gateway.loop.preciseNs
        gateway.store.run(Sweeper.script, argCount: Argument.allCases.count) { args in
            args.put(Argument.limit, limit)
            args.put(Argument.exc_info, expiredText)
            args.put(Argument.exc_string, expiredTextBase64)
            args.put(Argument.lock_owner, gateway.config.schedulerLockOwner)
        } done: { [unowned self] result in
            running = false
            let counts: RedisReply
            switch result {
            case .success(let reply):
                counts = reply
                report(reply[Row.problem].isNil ? nil : "a queue was left unswept: " + reply[Row.problem].string)
            case .failure(let error) where error.code != .unavailable:  // Redis's own troubles are logged as such
                return report("the sweep failed: " + error.message)
            case .failure:
                return
            }
            gateway.counters.redisRoundTrip = Double(gateway.loop.preciseNs - sent) / 1e9
            let promoted = counts[Row.promoted].integer, expired = counts[Row.expired].integer
            gateway.counters.promoted += promoted
            gateway.counters.leaseExpiries += expired
            if expired > 0 { Log.info("leases expired", ["count": expired, "ids": Sweeper.listed(counts[Row.expired_ids], of: expired)]) }
            if promoted >= limit || expired >= limit { sweep() }
        }
    }
}
