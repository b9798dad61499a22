/// Leases Redis may have made while the gateway stopped waiting for the answer (Redis stalled
/// past the command timeout, or the connection broke with the lease call in flight; a stalled
/// Redis still runs the call once it wakes). Nobody holds their tokens: once Redis is back they
/// are found and given back as undelivered, instead of expiring and costing the job an attempt,
/// with no retries left its only one.
final class LostLeases {
    enum Argument: Int, ScriptNames { case queue_count }

    static let script = Script("lost_leases", PackageResources.lost_leases_lua, arguments: Argument.names, writes: false)

    private unowned let gateway: Gateway
    private var pending: [(queues: [String], tokens: [String])] = []

    init(gateway: Gateway) { self.gateway = gateway }

    /// A lease call with these tokens failed without an answer; `error` says whether it may have run.
    func leaseFailed(queues: [String], tokens: [String], _ error: OpError) {
        guard error.message == RedisStore.lost.message else { return }
        pending.append((queues, tokens))
    }

    /// Redis is usable again: look for those leases and give them back.
    func redisReady() {
        let lost = pending
        pending = []
        for call in lost { giveBack(call) }
    }

    private func giveBack(_ call: (queues: [String], tokens: [String])) {
        let g = gateway
        g.store.run(LostLeases.script, argCount: Argument.allCases.count + call.queues.count + call.tokens.count) { args in
            args.put(Argument.queue_count, call.queues.count)
            for q in call.queues { args.arg(q) }
            for t in call.tokens { args.arg(t) }
        } done: { [weak self] result in
            guard case .success(let members) = result else { self?.pending.append(call); return }
            let leases: [(id: String, token: String)] = (0..<members.count).compactMap { i in
                let member = members[i].string
                guard let colon = member.lastIndex(of: ":") else { return nil }
                return (String(member[..<colon]), String(member[member.index(after: colon)...]))
            }
            Release.giveBack(leases, g)
        }
    }
}
