struct SentinelError: Error {
    let reason: String
}

/// Asks Redis Sentinels, one after another, where the primary named `master` is now. Each try
/// has its own short time limit, so a dead sentinel only delays the answer.
final class SentinelLookup {
    private let loop: EventLoop
    private let nodes: [HostPort]
    private let master: String
    private let done: (Result<HostPort, SentinelError>) -> Void
    private var next = 0
    private var current: RedisConnection?
    private var failures: [String] = []
    private lazy var timer = LoopTimer(loop) { [unowned self] in self.giveUp("no answer in 1 s") }
    private var finished = false
    /// Keeps itself alive while a lookup runs.
    private var retainSelf: SentinelLookup?

    static let attemptTimeoutMs: UInt64 = 1000

    init(loop: EventLoop, nodes: [HostPort], master: String, done: @escaping (Result<HostPort, SentinelError>) -> Void) {
        self.loop = loop
        self.nodes = nodes
        self.master = master
        self.done = done
    }

    func start() {
        retainSelf = self
        tryNext()
    }

    private func tryNext() {
        guard next < nodes.count else {
            finish(.failure(SentinelError(reason: "no sentinel knows master '\(master)': " + failures.joined(separator: "; "))))
            return
        }
        let node = nodes[next]
        next += 1
        let connection = RedisConnection(loop: loop, endpoint: .tcp(host: node.host, port: node.port, db: 0))
        connection.reconnects = false
        current = connection
        connection.onConnect = { [unowned self, unowned connection] in
            var ask = RESPCommand(argCount: 3)
            ask.arg("SENTINEL")
            ask.arg("get-master-addr-by-name")
            ask.arg(master)
            connection.send(ask) { [unowned self] reply in
                guard let reply, reply.count == 2, let port = Int(reply[1].string) else {
                    self.giveUp(reply.map { $0.isError ? $0.string : "does not know '\(self.master)'" } ?? "connection lost")
                    return
                }
                self.finish(.success(HostPort(host: reply[0].string, port: port)))
            }
        }
        connection.onLost = { [unowned self] reason in self.giveUp(reason) }
        timer.start(afterMs: SentinelLookup.attemptTimeoutMs)
        connection.connect()
    }

    private func giveUp(_ reason: String) {
        guard !finished, next > 0 else { return }
        failures.append("\(nodes[next - 1]): \(reason)")
        dropCurrent()
        tryNext()
    }

    private func finish(_ result: Result<HostPort, SentinelError>) {
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
