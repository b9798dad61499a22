/// A lease request that is waiting for a job. The lease op supplies how to take jobs, how to
/// answer with them, and how to give back jobs taken for a client that left.
final class LeaseWaiter {
    typealias Taken = Result<(jobs: [LeasedJob], skipped: Bool, shutdown: Bool), OpError>
    let reply: ReplyTicket
    let queues: [String]
    let deadlineMs: UInt64
    let take: (@escaping (Taken) -> Void) -> Void
    let answer: (_ jobs: [LeasedJob], _ shutdown: Bool) -> Void
    let giveBack: ([LeasedJob]) -> Void
    var attempting = false
    var finished = false
    /// Wake-ups seen for this waiter's queues when its last attempt started.
    var epochAtAttempt: UInt64 = 0

    init(reply: ReplyTicket, queues: [String], deadlineMs: UInt64, take: @escaping (@escaping (Taken) -> Void) -> Void,
         answer: @escaping ([LeasedJob], Bool) -> Void, giveBack: @escaping ([LeasedJob]) -> Void) {
        self.reply = reply
        self.queues = queues
        self.deadlineMs = deadlineMs
        self.take = take
        self.answer = answer
        self.giveBack = giveBack
    }
}

/// Blocking leases without blocking Redis commands: a waiter sleeps in memory and is tried again
/// when a queue it waits on becomes non-empty on any gateway (a pub/sub message the scripts
/// publish), when a wake-up may have been missed, and once a second regardless (jobs pushed
/// by RQ producers publish nothing).
final class LeaseWaiters {
    private unowned let gateway: Gateway
    private var byQueue: [String: [LeaseWaiter]] = [:]
    private var epochs: [String: UInt64] = [:]
    private var waiting = 0
    private lazy var ticker = WaitTicker(loop: gateway.loop) { [unowned self] secondly in self.tick(secondly) }

    init(gateway: Gateway) { self.gateway = gateway }

    var count: Int { waiting }

    func start(_ w: LeaseWaiter) { attempt(w) }

    /// A queue became non-empty (nil: retry every queue, e.g. after reconnecting to Redis).
    func queueReady(_ queue: String?) {
        if let queue {
            epochs[queue, default: 0] &+= 1
            wakeFirst(queue)
        } else {
            for q in Array(byQueue.keys) {
                epochs[q, default: 0] &+= 1
                wakeFirst(q)
            }
        }
    }

    func sessionClosed(_ session: Session) {
        for list in Array(byQueue.values) {
            for w in list where w.reply.session === session && !w.finished {
                unregister(w)
                w.finished = true
            }
        }
    }

    func finishAll() {
        for list in byQueue.values { for w in list where !w.finished { finish(w, []) } }
        byQueue = [:]
    }

    private func epoch(of w: LeaseWaiter) -> UInt64 {
        w.queues.reduce(0) { $0 &+ (epochs[$1] ?? 0) }
    }

    private func attempt(_ w: LeaseWaiter) {
        w.attempting = true
        w.epochAtAttempt = epoch(of: w)
        w.take { [unowned self] result in
            w.attempting = false
            switch result {
            case .failure(let error):
                finish(w, nil, error: error)
            case .success(let (jobs, skipped, shutdown)):
                if w.finished || !w.reply.session.isOpen {
                    // The client left (or shutdown answered it) while Redis was leasing.
                    w.giveBack(jobs)
                    if !w.finished { unregister(w) }
                } else if !jobs.isEmpty || shutdown || (!skipped && gateway.loop.nowMs >= w.deadlineMs) {
                    finish(w, jobs, shutdown: shutdown)
                    // More jobs may be waiting behind the ones just taken.
                    if !jobs.isEmpty { for q in w.queues { wakeFirst(q) } }
                } else if skipped || epoch(of: w) != w.epochAtAttempt {
                    attempt(w)
                } else {
                    register(w)
                }
            }
        }
    }

    private func register(_ w: LeaseWaiter) {
        guard !w.finished else { return }
        if !isRegistered(w) {
            for q in w.queues { byQueue[q, default: []].append(w) }
            waiting += 1
        }
        ticker.ensureRunning()
    }

    private func isRegistered(_ w: LeaseWaiter) -> Bool {
        byQueue[w.queues[0]]?.contains { $0 === w } ?? false
    }

    private func unregister(_ w: LeaseWaiter) {
        guard isRegistered(w) else { return }
        waiting -= 1
        for q in w.queues {
            byQueue[q]?.removeAll { $0 === w }
            if byQueue[q]?.isEmpty == true { byQueue[q] = nil }
        }
    }

    private func finish(_ w: LeaseWaiter, _ jobs: [LeasedJob]?, shutdown: Bool = false, error: OpError? = nil) {
        unregister(w)
        w.finished = true
        if let error {
            w.reply.fail(error)
            return
        }
        w.answer(jobs ?? [], shutdown)
    }

    /// Tries the longest-waiting idle waiter of `queue`; a success wakes the next in turn.
    private func wakeFirst(_ queue: String) {
        guard let list = byQueue[queue] else { return }
        if let w = list.first(where: { !$0.attempting && !$0.finished }) { attempt(w) }
    }

    private func tick(_ secondly: Bool) -> Bool {
        let now = gateway.loop.nowMs
        var seen = Set<ObjectIdentifier>()
        for list in Array(byQueue.values) {
            for w in list where !w.finished && seen.insert(ObjectIdentifier(w)).inserted {
                if !w.reply.session.isOpen {
                    unregister(w)
                    w.finished = true
                } else if now >= w.deadlineMs && !w.attempting {
                    finish(w, [])
                }
            }
        }
        if secondly { queueReady(nil) }
        return !byQueue.isEmpty
    }
}
