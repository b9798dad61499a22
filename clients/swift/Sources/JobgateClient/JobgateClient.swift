import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A client for a jobgate gateway: enqueue, look up, wait for and manage jobs, and lease,
/// heartbeat, ack, fail or release them. For a ready-made worker loop see ``Worker``.
///
/// ```swift
/// let client = try JobgateClient()    // JOBGATE_ADDR (else tcp://127.0.0.1:7700), JOBGATE_TOKEN, JOBGATE_TLS_CA
/// let job = try await client.enqueue(queue: "images", function: "img.resize", args: ["a.png", 200])
/// let done = try await client.result(id: job.id, wait: 30)
/// ```
///
/// ## One connection, many requests in flight
///
/// A client holds one main connection, opened on the first request and opened again on the next
/// request after it breaks. Any number of tasks may use the client at once: their requests are
/// pipelined on that connection and jobgate answers them in order, so each reply goes to the
/// request at the head of the queue.
///
/// Requests that may wait at the gateway (`lease` and `result` with a `wait` above 0) would hold
/// back every reply behind them, so each of those goes on a connection of its own, taken from a
/// small pool of idle connections (or opened) and returned to it afterwards.
///
/// When the client has a token, every new connection first sends `auth` with it (TCP and TLS
/// need it when the gateway has a token; a Unix socket is trusted, but a wrong token is still
/// refused). Over `tls://`, a connection is used only once its TLS handshake has verified the
/// gateway's certificate (see ``JobgateTLSOptions``), so the token never goes to an unverified peer.
///
/// A request is not cancellable once sent: its reply has a place in the connection's order.
/// If the connection breaks first, the request fails with
/// ``JobgateClientError/connectionLost(_:)`` and may or may not have taken effect.
///
/// ## Why SwiftNIO
///
/// The gateway itself runs on libuv and hiredis, which are Linux system libraries in this
/// project. The client must build wherever Swift does (macOS and Linux, and iOS in principle)
/// with no system packages, so it uses SwiftNIO: a pure-Swift package that provides TCP and Unix
/// socket channels on both platforms, an event loop that keeps the reply queue free of locks,
/// and futures that bridge to async/await. It needs no Redis library at all: the client speaks
/// only jobgate's JSON lines.
public final class JobgateClient: Sendable {
    /// Where this client connects.
    public let address: JobgateAddress
    private let token: String?
    /// Set for a `tls://` address.
    private let tls: TLSClient?
    private let group: any EventLoopGroup
    private let connectTimeout: TimeAmount
    private let maxReplyLength: Int
    private let maxIdleSideConnections: Int
    private let state = NIOLockedValueBox(State())

    private struct State {
        var closed = false
        var main: Main = .idle
        /// Idle connections for requests that wait at the gateway.
        var idle: [Connection] = []
        /// Connections lent to a waiting request right now.
        var lent: [ObjectIdentifier: Connection] = [:]
    }

    private enum Main {
        case idle
        case connecting(Task<Connection, any Error>)
        case connected(Connection)
    }

    /// A client for `address`. It connects on the first request.
    ///
    /// - Parameters:
    ///   - token: sent with `auth` on every new connection; needed over TCP and TLS when the
    ///     gateway runs with `--token`.
    ///   - tls: how to verify the gateway behind a `tls://` address; by default, against the
    ///     system's trusted CAs. Other addresses ignore it.
    ///   - eventLoopGroup: the NIO event loops to use; by default, NIO's shared singleton.
    ///   - connectTimeout: seconds to wait for a connection.
    ///   - maxReplyLength: the longest reply line accepted, in bytes.
    ///   - maxIdleConnections: idle connections kept for waiting requests (`lease`/`result` with
    ///     `wait`), beyond the main one.
    public init(
        address: JobgateAddress,
        token: String? = nil,
        tls: JobgateTLSOptions = JobgateTLSOptions(),
        eventLoopGroup: (any EventLoopGroup)? = nil,
        connectTimeout: Double = 10,
        maxReplyLength: Int = 256 << 20,
        maxIdleConnections: Int = 4
    ) {
        self.address = address
        self.token = token
        if case .tls(let host, _) = address {
            self.tls = TLSClient(options: tls, host: host)
        } else {
            self.tls = nil
        }
        self.group = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        self.connectTimeout = .milliseconds(Int64(max(connectTimeout, 0.001) * 1000))
        self.maxReplyLength = maxReplyLength
        self.maxIdleSideConnections = max(maxIdleConnections, 0)
    }

    /// A client for `tcp://HOST:PORT`, `tls://HOST:PORT` or `unix:PATH`.
    public convenience init(_ address: String, token: String? = nil, tls: JobgateTLSOptions = JobgateTLSOptions()) throws {
        self.init(address: try JobgateAddress(parsing: address), token: token, tls: tls)
    }

    /// A client for `JOBGATE_ADDR` (or `tcp://127.0.0.1:7700` when it is not set), with the
    /// token in `JOBGATE_TOKEN`, if set, and for `tls://` the CA file in `JOBGATE_TLS_CA`, if set.
    public convenience init() throws {
        let token = getenv("JOBGATE_TOKEN").map { String(cString: $0) }
        self.init(address: try JobgateAddress.fromEnvironment(), token: token?.isEmpty == false ? token : nil,
                  tls: .fromEnvironment())
    }

    /// Closes the client. Requests waiting on the main connection fail with `connectionLost`;
    /// later requests fail with ``JobgateClientError/clientClosed``.
    ///
    /// A `lease` or `result` still waiting at the gateway keeps its connection until its reply
    /// arrives, and that connection closes afterwards. Closing it earlier could strand a job:
    /// the gateway may already have leased it for a client that is gone, and it would come back
    /// only when the lease expires, counting as a failed attempt.
    public func close() async {
        let (main, idle) = state.withLockedValue { s -> (Main, [Connection]) in
            s.closed = true
            let main = s.main
            let idle = s.idle
            s.main = .idle
            s.idle = []
            return (main, idle)
        }
        switch main {
        case .connected(let c): await c.close()
        case .connecting(let task): if let c = try? await task.value { await c.close() }
        case .idle: break
        }
        for c in idle { await c.close() }
    }

    // MARK: - Producer

    /// Checks the gateway and reports its version, Redis's state and the limits in effect.
    public func ping() async throws -> PingInfo {
        try await call(RequestWriter(op: "ping"), as: PingInfo.self)
    }

    /// Enqueues one job.
    ///
    /// Throws ``JobgateError`` with code `.duplicate` if the job's `id` already exists.
    @discardableResult
    public func enqueue(_ job: NewJob) async throws -> EnqueuedJob {
        guard job.queue != nil else { throw JobgateClientError.invalidArgument("the job has no queue") }
        var w = RequestWriter(op: "enqueue")
        try job.write(into: &w)
        return try await call(w, as: EnqueuedJob.self)
    }

    /// Enqueues a call to `function` with JSON arguments.
    @discardableResult
    public func enqueue(
        queue: String,
        function: String,
        args: [JSONValue] = [],
        kwargs: [String: JSONValue] = [:],
        options: EnqueueOptions = EnqueueOptions()
    ) async throws -> EnqueuedJob {
        try await enqueue(NewJob(queue: queue, function: function, args: args, kwargs: kwargs, options: options))
    }

    /// Enqueues a call to `function` with one `Codable` payload as its positional argument.
    @discardableResult
    public func enqueue(
        queue: String,
        function: String,
        payload: some Encodable,
        options: EnqueueOptions = EnqueueOptions(),
        encoder: JSONEncoder? = nil
    ) async throws -> EnqueuedJob {
        try await enqueue(NewJob(queue: queue, function: function, payload: payload, options: options, encoder: encoder))
    }

    /// Enqueues up to `max_batch` jobs in one atomic step.
    ///
    /// If any job is invalid, the whole batch is refused: this throws ``JobgateError`` with
    /// `.badRequest`, naming the item (`jobs[3]: ...`), and nothing is enqueued. Otherwise each
    /// job gets its own answer, in order; a duplicate id fails only its own item.
    ///
    /// - Parameter defaultQueue: the queue for jobs whose `queue` is nil.
    public func enqueueBatch(
        _ jobs: [NewJob],
        defaultQueue: String? = nil
    ) async throws -> [Result<EnqueuedJob, JobgateError>] {
        var w = RequestWriter(op: "enqueue")
        w.string("queue", defaultQueue)
        var list: [UInt8] = [UInt8(ascii: "[")]
        for (i, job) in jobs.enumerated() {
            if i > 0 { list.append(UInt8(ascii: ",")) }
            var item = RequestWriter()
            try job.write(into: &item)
            list.append(contentsOf: item.object)
        }
        list.append(UInt8(ascii: "]"))
        w.raw("jobs", RawJSON(uncheckedBytes: list))
        let reply = try await call(w, as: BatchReply.self)
        guard reply.jobs.count == jobs.count else {
            throw JobgateClientError.malformedReply("a batch of \(jobs.count) got \(reply.jobs.count) answers")
        }
        return try reply.jobs.map { item in
            if item.ok, let id = item.id, let state = item.state {
                return .success(EnqueuedJob(id: id, state: state, runAt: item.runAt))
            }
            guard let error = item.error else { throw JobgateClientError.malformedReply("a batch item has neither a job nor an error") }
            return .failure(error.jobgateError(id: item.id))
        }
    }

    /// Looks a job up. Throws ``JobgateError`` with `.notFound` when there is no such job.
    public func job(_ id: String) async throws -> JobInfo {
        var w = RequestWriter(op: "job")
        w.string("id", id)
        return try await call(w, as: JobReply.self).job
    }

    /// Waits up to `wait` seconds for a job to end (`finished`, `failed`, `canceled` or
    /// `stopped`) and returns it, with its ``JobInfo/result`` or ``JobInfo/error``; nil if it
    /// has not ended by then. With `wait` 0 it only checks.
    ///
    /// This is the gateway's `result` op: the gateway wakes the request as soon as the job ends.
    /// A wait above 0 runs on a connection of its own, so it holds back no other request. Waits
    /// longer than the gateway's 60 s limit are made of several requests.
    /// A job enqueued with `resultTTL: 0` is deleted when it is acked, so this throws
    /// `.notFound` for it.
    public func result(id: String, wait: Double = 0) async throws -> JobInfo? {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(max(wait, 0) * 1000)))
        while true {
            let left = deadline - ContinuousClock.now
            let slice = min(max(Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18, 0), 60)
            var w = RequestWriter(op: "result")
            w.string("id", id)
            let reply: ResultReply
            if slice > 0 {
                try w.double("wait", (slice * 1000).rounded(.down) / 1000)
                reply = try await callWaiting(w, as: ResultReply.self)
            } else {
                reply = try await call(w, as: ResultReply.self)
            }
            if reply.done, let job = reply.job { return job }
            if slice <= 0 || ContinuousClock.now >= deadline { return nil }
        }
    }

    /// Cancels a job that has not started (`queued`, `scheduled` or `deferred`); returns
    /// `canceled`. Any other job answers `.wrongState`.
    @discardableResult
    public func cancel(_ id: String) async throws -> JobState {
        var w = RequestWriter(op: "cancel")
        w.string("id", id)
        return try await call(w, as: StateReply.self).state
    }

    /// Stops a started job; returns `stopped` (its holder hears `.stopped` at its next heartbeat),
    /// or `stopping` for a job a real RQ worker runs. A job that has not started answers
    /// `.wrongState`.
    @discardableResult
    public func stop(_ id: String) async throws -> JobState {
        var w = RequestWriter(op: "stop")
        w.string("id", id)
        return try await call(w, as: StateReply.self).state
    }

    /// Removes a job and every trace of it, whatever its state; returns `deleted`. If it was
    /// leased, the holder's `ack` answers `.notFound`.
    @discardableResult
    public func delete(_ id: String) async throws -> JobState {
        var w = RequestWriter(op: "delete")
        w.string("id", id)
        return try await call(w, as: StateReply.self).state
    }

    /// A page of a queue's failed registry, oldest failure first (`limit` 1 to 1000).
    public func failedJobs(queue: String, offset: Int = 0, limit: Int = 100) async throws -> FailedPage {
        var w = RequestWriter(op: "failed")
        w.string("queue", queue)
        if offset != 0 { w.int("offset", offset) }
        w.int("limit", limit)
        return try await call(w, as: FailedPage.self)
    }

    /// Puts one failed job back at the tail of its queue (its `retries_left` is not reset).
    /// A job that is not in the failed registry answers `.wrongState`.
    @discardableResult
    public func requeue(_ id: String) async throws -> RequeueOutcome {
        var w = RequestWriter(op: "requeue")
        w.string("id", id)
        return try await call(w, as: RequeueOutcome.self)
    }

    /// Puts every failed job of `queue` back at the tail of the queue.
    @discardableResult
    public func requeueAll(queue: String) async throws -> RequeueOutcome {
        var w = RequestWriter(op: "requeue")
        w.string("queue", queue)
        w.bool("all", true)
        return try await call(w, as: RequeueOutcome.self)
    }

    /// Puts at most `limit` failed jobs of `queue` back, oldest failure first. Call it again to
    /// requeue in steps, showing progress from ``RequeueOutcome/stillFailed``.
    @discardableResult
    public func requeue(queue: String, limit: Int) async throws -> RequeueOutcome {
        var w = RequestWriter(op: "requeue")
        w.string("queue", queue)
        w.int("limit", limit)
        return try await call(w, as: RequeueOutcome.self)
    }

    /// Pauses a queue: it still accepts jobs, but `lease` takes nothing from it.
    @discardableResult
    public func pause(queue: String) async throws -> QueuePauseState {
        var w = RequestWriter(op: "pause")
        w.string("queue", queue)
        return try await call(w, as: QueuePauseState.self)
    }

    /// Resumes a paused queue, waking waiting leases at once.
    @discardableResult
    public func resume(queue: String) async throws -> QueuePauseState {
        var w = RequestWriter(op: "resume")
        w.string("queue", queue)
        return try await call(w, as: QueuePauseState.self)
    }

    /// Counts for every queue, and this gateway's counters.
    public func stats() async throws -> Stats {
        try await call(RequestWriter(op: "stats"), as: Stats.self)
    }

    // MARK: - Worker side

    /// Takes up to `count` jobs from `queues`, in strict priority order (a later queue is used
    /// only when every earlier one is empty). Waits up to `wait` seconds when none is ready; the
    /// result may be shorter than `count`, or empty. A wait above 0 runs on a connection of its
    /// own, so it holds back no other request.
    ///
    /// - Parameters:
    ///   - leaseFor: the lease length in seconds; by default the job's `timeout`.
    ///   - worker: a name, stored as RQ's `worker_name`.
    public func lease(
        queues: [String],
        count: Int,
        wait: Double = 0,
        leaseFor: Double? = nil,
        worker: String? = nil
    ) async throws -> [LeasedJob] {
        try await leaseBatch(queues: queues, count: count, wait: wait, leaseFor: leaseFor, worker: worker).jobs
    }

    /// ``lease(queues:count:wait:leaseFor:worker:)``, with `shutdown`: true when RQ's shutdown
    /// command named `worker` (then no job is leased).
    func leaseBatch(queues: [String], count: Int, wait: Double, leaseFor: Double?, worker: String?) async throws -> LeaseManyReply {
        let w = try leaseRequest(queues: queues, count: count, wait: wait, leaseFor: leaseFor, worker: worker)
        return try await wait > 0 ? callWaiting(w, as: LeaseManyReply.self) : call(w, as: LeaseManyReply.self)
    }

    /// Takes one job from `queues`, or returns nil if none came within `wait` seconds.
    public func lease(
        queues: [String],
        wait: Double = 0,
        leaseFor: Double? = nil,
        worker: String? = nil
    ) async throws -> LeasedJob? {
        let w = try leaseRequest(queues: queues, count: nil, wait: wait, leaseFor: leaseFor, worker: worker)
        return try await (wait > 0 ? callWaiting(w, as: LeaseOneReply.self) : call(w, as: LeaseOneReply.self)).job
    }

    private func leaseRequest(queues: [String], count: Int?, wait: Double, leaseFor: Double?, worker: String?) throws -> RequestWriter {
        var w = RequestWriter(op: "lease")
        try w.json("queues", .array(queues.map { .string($0) }))
        if wait != 0 { try w.double("wait", wait) }
        w.int("count", count)
        try w.double("lease_for", leaseFor)
        w.string("worker", worker)
        return w
    }

    /// Extends a lease by `extend` seconds from now (default: its `lease_seconds`; 0 leaves the
    /// expiry alone, for a heartbeat that only reports) and returns the new expiry, Unix seconds.
    /// `meta` replaces the job's meta (RQ's `meta`); `progress` (0 to 100) is stored in it.
    /// Throws `.leaseLost` if the lease is gone, `.stopped` if the job was stopped.
    @discardableResult
    public func heartbeat(
        id: String, lease: String, extend: Double? = nil, meta: [String: JSONValue]? = nil, progress: Double? = nil
    ) async throws -> Double {
        var w = RequestWriter(op: "heartbeat")
        w.string("id", id)
        w.string("lease", lease)
        try w.double("extend", extend)
        try w.json("meta", meta.map { .object($0) })
        try w.double("progress", progress)
        return try await call(w, as: HeartbeatReply.self).expiresAt
    }

    /// Extends `job`'s lease. See ``heartbeat(id:lease:extend:meta:progress:)``.
    @discardableResult
    public func heartbeat(
        _ job: LeasedJob, extend: Double? = nil, meta: [String: JSONValue]? = nil, progress: Double? = nil
    ) async throws -> Double {
        try await heartbeat(id: job.id, lease: job.lease, extend: extend, meta: meta, progress: progress)
    }

    /// Marks a job done, keeping `rawResult` (any JSON) for the job's `result_ttl`.
    /// Returns `finished`, or `deleted` when `result_ttl` is 0.
    @discardableResult
    public func ack(id: String, lease: String, rawResult: RawJSON?) async throws -> JobState {
        var w = RequestWriter(op: "ack")
        w.string("id", id)
        w.string("lease", lease)
        w.raw("result", rawResult)
        return try await call(w, as: StateReply.self).state
    }

    /// Marks a job done with no result.
    @discardableResult
    public func ack(id: String, lease: String) async throws -> JobState {
        try await ack(id: id, lease: lease, rawResult: nil)
    }

    /// Marks a job done with an `Encodable` result.
    @discardableResult
    public func ack(id: String, lease: String, result: some Encodable, encoder: JSONEncoder? = nil) async throws -> JobState {
        try await ack(id: id, lease: lease, rawResult: RawJSON(encoding: result, encoder: encoder))
    }

    /// Marks `job` done with no result.
    @discardableResult
    public func ack(_ job: LeasedJob) async throws -> JobState {
        try await ack(id: job.id, lease: job.lease, rawResult: nil)
    }

    /// Marks `job` done with an `Encodable` result.
    @discardableResult
    public func ack(_ job: LeasedJob, result: some Encodable, encoder: JSONEncoder? = nil) async throws -> JobState {
        try await ack(id: job.id, lease: job.lease, result: result, encoder: encoder)
    }

    /// Acks many jobs in one step. Each is settled on its own and gets its own answer, in order:
    /// `finished` (or `deleted`), or an error such as `.leaseLost`.
    public func ackBatch(_ items: [AckItem]) async throws -> [Result<JobState, JobgateError>] {
        var w = RequestWriter(op: "ack")
        var list: [UInt8] = [UInt8(ascii: "[")]
        for (i, item) in items.enumerated() {
            if i > 0 { list.append(UInt8(ascii: ",")) }
            var o = RequestWriter()
            o.string("id", item.id)
            o.string("lease", item.lease)
            o.raw("result", item.result)
            list.append(contentsOf: o.object)
        }
        list.append(UInt8(ascii: "]"))
        w.raw("jobs", RawJSON(uncheckedBytes: list))
        let reply = try await call(w, as: BatchReply.self)
        guard reply.jobs.count == items.count else {
            throw JobgateClientError.malformedReply("a batch of \(items.count) got \(reply.jobs.count) answers")
        }
        return try reply.jobs.map { item in
            if item.ok, let state = item.state { return .success(state) }
            guard let error = item.error else { throw JobgateClientError.malformedReply("a batch item has neither a state nor an error") }
            return .failure(error.jobgateError(id: item.id))
        }
    }

    /// Fails this attempt. With `retry` and retries left, the job runs again (at once or after
    /// its retry interval); otherwise it is failed for good.
    @discardableResult
    public func fail(id: String, lease: String, error: String = "", retry: Bool = true) async throws -> FailOutcome {
        var w = RequestWriter(op: "fail")
        w.string("id", id)
        w.string("lease", lease)
        w.string("error", error)
        if !retry { w.bool("retry", false) }
        return try await call(w, as: FailOutcome.self)
    }

    /// Fails this attempt of `job`. See ``fail(id:lease:error:retry:)``.
    @discardableResult
    public func fail(_ job: LeasedJob, error: String = "", retry: Bool = true) async throws -> FailOutcome {
        try await fail(id: job.id, lease: job.lease, error: error, retry: retry)
    }

    /// Gives a leased job back without spending a retry: to the head of its queue, or scheduled
    /// `delay` seconds from now.
    @discardableResult
    public func release(id: String, lease: String, delay: Double? = nil) async throws -> ReleaseOutcome {
        var w = RequestWriter(op: "release")
        w.string("id", id)
        w.string("lease", lease)
        try w.double("delay", delay)
        return try await call(w, as: ReleaseOutcome.self)
    }

    /// Gives `job` back. See ``release(id:lease:delay:)``.
    @discardableResult
    public func release(_ job: LeasedJob, delay: Double? = nil) async throws -> ReleaseOutcome {
        try await release(id: job.id, lease: job.lease, delay: delay)
    }

    // MARK: - Raw requests

    /// Sends any request object (it must have `op`) and returns the whole reply object, for ops
    /// this client has no method for. An error reply throws ``JobgateError``.
    public func request(_ fields: [String: JSONValue]) async throws -> [String: JSONValue] {
        var w = RequestWriter()
        for key in fields.keys.sorted() { try w.json(key, fields[key]) }
        return try await call(w, as: [String: JSONValue].self)
    }

    // MARK: - Plumbing

    /// Sends a request on the main connection and decodes the reply.
    private func call<T: Decodable>(_ request: RequestWriter, as type: T.Type) async throws -> T {
        let connection = try await mainConnection()
        let line = try await connection.roundTrip(request.line)
        return try Reply.decode(T.self, from: line)
    }

    /// Sends a request that may wait at the gateway on a connection of its own.
    private func callWaiting<T: Decodable>(_ request: RequestWriter, as type: T.Type) async throws -> T {
        let connection = try await borrowConnection()
        let line: ByteBuffer
        do {
            line = try await connection.roundTrip(request.line)
        } catch {
            giveBack(connection)
            throw error
        }
        giveBack(connection)
        return try Reply.decode(T.self, from: line)
    }

    /// The open main connection, or a new one. Concurrent callers share one connect.
    private func mainConnection() async throws -> Connection {
        enum Pick {
            case ready(Connection)
            case wait(Task<Connection, any Error>)
        }
        let pick = try state.withLockedValue { s -> Pick in
            guard !s.closed else { throw JobgateClientError.clientClosed }
            switch s.main {
            case .connected(let c) where c.isActive:
                return .ready(c)
            case .connecting(let task):
                return .wait(task)
            case .idle, .connected:
                let task = Task { try await self.openConnection() }
                s.main = .connecting(task)
                return .wait(task)
            }
        }
        guard case .wait(let task) = pick else {
            if case .ready(let c) = pick { return c }
            fatalError("unreachable")
        }
        let connection: Connection
        do {
            connection = try await task.value
        } catch {
            state.withLockedValue { s in
                if case .connecting(let t) = s.main, t == task { s.main = .idle }
            }
            throw error
        }
        let keep = state.withLockedValue { s -> Bool in
            guard !s.closed else { return false }
            switch s.main {
            case .connecting(let t) where t == task:
                s.main = .connected(connection)
                return true
            case .connected(let c):
                return c === connection
            default:
                return false
            }
        }
        if !keep {
            await connection.close()
            throw JobgateClientError.clientClosed
        }
        return connection
    }

    /// An idle side connection, or a new one.
    private func borrowConnection() async throws -> Connection {
        let reused = try state.withLockedValue { s -> Connection? in
            guard !s.closed else { throw JobgateClientError.clientClosed }
            while let c = s.idle.popLast() {
                if c.isActive {
                    s.lent[ObjectIdentifier(c)] = c
                    return c
                }
            }
            return nil
        }
        if let reused { return reused }
        let connection = try await openConnection()
        let ok = state.withLockedValue { s -> Bool in
            guard !s.closed else { return false }
            s.lent[ObjectIdentifier(connection)] = connection
            return true
        }
        if !ok {
            await connection.close()
            throw JobgateClientError.clientClosed
        }
        return connection
    }

    private func giveBack(_ connection: Connection) {
        let keep = state.withLockedValue { s -> Bool in
            guard s.lent.removeValue(forKey: ObjectIdentifier(connection)) != nil else { return false }
            guard !s.closed, connection.isActive, s.idle.count < maxIdleSideConnections else { return false }
            s.idle.append(connection)
            return true
        }
        if !keep { connection.closeInBackground() }
    }

    /// Connects (over `tls://`, through a verified handshake), and authenticates when the
    /// client has a token.
    private func openConnection() async throws -> Connection {
        let setup = try tls?.prepare()
        let connection: Connection
        do {
            connection = try await Connection.connect(to: address, tls: setup, group: group, maxReplyLength: maxReplyLength,
                                                      connectTimeout: connectTimeout).get()
        } catch {
            throw tls?.explain(error, connectingTo: address) ?? JobgateClientError.connectionLost("cannot connect to \(address): \(error)")
        }
        guard let token else { return connection }
        do {
            var auth = RequestWriter(op: "auth")
            auth.string("token", token)
            _ = try Reply.decode([String: JSONValue].self, from: try await connection.roundTrip(auth.line))
            return connection
        } catch {
            await connection.close()
            throw error
        }
    }
}

// MARK: - Replies

enum Reply {
    struct Envelope: Decodable {
        let ok: Bool
        let error: ErrorBody?
        let id: String?
    }

    static func decode<T: Decodable>(_ type: T.Type, from line: ByteBuffer) throws -> T {
        try decode(type, from: Data(line.readableBytesView))
    }

    static func decode<T: Decodable>(_ type: T.Type, from line: [UInt8]) throws -> T {
        try decode(type, from: Data(line))
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        let decoder = JSONDecoder()
        let envelope: Envelope
        do {
            envelope = try decoder.decode(Envelope.self, from: data)
        } catch {
            throw JobgateClientError.malformedReply("\(error) in \(preview(data))")
        }
        guard envelope.ok else {
            guard let error = envelope.error else {
                throw JobgateClientError.malformedReply("an error reply without 'error': \(preview(data))")
            }
            throw error.jobgateError(id: envelope.id)
        }
        do {
            return try decoder.decode(T.self, from: data)
        } catch {
            throw JobgateClientError.malformedReply("\(error) in \(preview(data))")
        }
    }

    private static func preview(_ data: Data) -> String {
        let text = String(decoding: data.prefix(300), as: UTF8.self)
        return data.count > 300 ? text + "..." : text
    }
}

struct ErrorBody: Decodable {
    let code: String
    let message: String
    let retryable: Bool?

    func jobgateError(id: String?) -> JobgateError {
        JobgateError(code: .init(rawValue: code), message: message, retryable: retryable, id: id)
    }
}

struct BatchReply: Decodable {
    struct Item: Decodable {
        let ok: Bool
        let id: String?
        let state: JobState?
        let runAt: Double?
        let error: ErrorBody?

        enum CodingKeys: String, CodingKey {
            case ok, id, state, error
            case runAt = "run_at"
        }
    }

    let jobs: [Item]
}

struct JobReply: Decodable {
    let job: JobInfo
}

struct LeaseOneReply: Decodable {
    let job: LeasedJob?
}

struct LeaseManyReply: Decodable {
    let jobs: [LeasedJob]
    let shutdown: Bool

    enum CodingKeys: String, CodingKey { case jobs, shutdown }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        jobs = try c.decode([LeasedJob].self, forKey: .jobs)
        shutdown = try c.decodeIfPresent(Bool.self, forKey: .shutdown) ?? false
    }
}

struct HeartbeatReply: Decodable {
    let expiresAt: Double
    enum CodingKeys: String, CodingKey { case expiresAt = "expires_at" }
}

struct StateReply: Decodable {
    let state: JobState
}

struct ResultReply: Decodable {
    let done: Bool
    let job: JobInfo?
}
