/// Asks Redis Sentinels, one after another, where the primary named `master` is now. Each try
/// has its own short time limit, so a dead sentinel only delays the answer.
final class SentinelLookup {
    private let loop: EventLoop
    private let nodes: [HostPort]
    private let master: String
    private let endpoint: RedisEndpoint
    private let tls: TLSContext?
    private let done: (Result<HostPort, RedisProblem>) -> Void
    private var next = 0
    private var current: RedisConnection?
    private var failures: [(node: String, reason: String)] = []
    private var refused = false
    private lazy var timer = LoopTimer(loop) { [unowned self] in
        self.giveUp(RedisProblem(.unreachable, "no answer in \(SentinelLookup.attemptTimeoutMs) ms"))
    }
    private var finished = false
    /// Keeps itself alive while a lookup runs.
    private var retainSelf: SentinelLookup?

    static let attemptTimeoutMs: UInt64 = 1000

    /// `endpoint` gives the sentinels' login and the TLS settings.
    init(loop: EventLoop, nodes: [HostPort], master: String, endpoint: RedisEndpoint, tls: TLSContext?,
         done: @escaping (Result<HostPort, RedisProblem>) -> Void) {
        self.loop = loop
        self.nodes = nodes
        self.master = master
        self.endpoint = endpoint
        self.tls = tls
        self.done = done
    }

    func start() {
        retainSelf = self
        tryNext()
    }

    private func tryNext() {
        guard next < nodes.count else {
            // The same answer from every sentinel (a wrong password, say) is said once.
            let distinct = Set(failures.map(\.reason))
            let why = distinct.count == 1 && failures.count > 1
                ? "no sentinel knows master '\(master)': every sentinel (\(failures.map(\.node).joined(separator: ", "))): \(distinct.first!)"
                : "no sentinel knows master '\(master)': " + failures.map { "\($0.node): \($0.reason)" }.joined(separator: "; ")
            finish(.failure(RedisProblem(refused ? .refused : .unreachable, why)))
            return
        }
        let node = nodes[next]
        next += 1
        let connection = RedisConnection(loop: loop, endpoint: endpoint.at(node, credentials: endpoint.sentinelCredentials, db: 0), tls: tls)
        connection.reconnects = false
        connection.isSentinel = true
        current = connection
        connection.onConnect = { [unowned self, unowned connection] in
            var ask = RESPCommand(argCount: 3)
            ask.arg("SENTINEL")
            ask.arg("get-master-addr-by-name")
            ask.arg(master)
            connection.send(ask) { [unowned self] reply in
                guard let reply, reply.count == 2, let port = Int(reply[1].string) else {
                    let why = reply.map { $0.isError ? RedisProblem(loginError: $0.string, toSentinel: true) : RedisProblem(.unreachable, "does not know '\(self.master)'") }
                    self.giveUp(why ?? RedisProblem(.unreachable, "connection lost"))
                    return
                }
                self.finish(.success(HostPort(host: reply[0].string, port: port)))
            }
        }
        connection.onLost = { [unowned self] problem in self.giveUp(problem) }
        timer.start(afterMs: SentinelLookup.attemptTimeoutMs)
        connection.connect()
    }

    private func giveUp(_ problem: RedisProblem) {
        guard !finished, next > 0 else { return }
        if problem.kind == .refused { refused = true }
        failures.append((nodes[next - 1].description, problem.message))
        dropCurrent()
        tryNext()
    }

    private func finish(_ result: Result<HostPort, RedisProblem>) {
        guard !finished else { return }
        finished = true
        timer.stop()
        dropCurrent()
        done(result)
        retainSelf = nil
    }

    private func dropCurrent() {
        guard let c = current else { return }
        current = nil
        c.onLost = nil
        c.onConnect = nil
        c.disconnect()
    }
}
