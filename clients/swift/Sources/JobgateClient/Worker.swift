import Foundation
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Throw this from a ``Worker`` handler to fail the job with your own message, and to choose
/// whether it may be retried. Any other error fails the job with its description and
/// ``Worker/Configuration/retryFailedJobs``.
public struct JobFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var retry: Bool

    public init(_ message: String, retry: Bool = true) {
        self.message = message
        self.retry = retry
    }

    public var description: String { message }
}

/// Leases jobs and runs a handler on each, up to a fixed number at once.
///
/// ```swift
/// let worker = Worker(address: .tcp(host: "127.0.0.1", port: 7700),
///                     configuration: .init(queues: ["urgent", "images"], concurrency: 4)) { job in
///     let task = try job.payload(as: ResizeTask.self)
///     return try await resize(task)          // any Encodable: the ack's result
/// }
/// try await worker.run()                       // until worker.stop()
/// ```
///
/// For each job the worker:
/// - runs the handler in a child task, and meanwhile heartbeats the lease every
///   `lease_seconds / 3` seconds (or ``Configuration/heartbeatInterval``);
/// - if a heartbeat answers `LEASE_LOST` (the lease expired or the job was taken back), cancels
///   the handler's task and does not ack: the job is no longer this worker's. Handlers doing
///   long work should check `Task.isCancelled` or call cancellable APIs;
/// - if a heartbeat answers `STOPPED` (the job was stopped: `stop`, RQ's stop commands), cancels
///   the handler's task the same way and reports ``Event/error(_:_:)`` with that
///   ``JobgateError`` (code `.stopped`). A stop is heard at the next heartbeat, so give long
///   leases a short ``Configuration/heartbeatInterval``;
/// - meanwhile the handler may report how the job goes: ``LeasedJob/progress(_:)`` and
///   ``LeasedJob/report(meta:)``;
/// - when the handler returns, acks with its return value as the result;
/// - when it throws, fails the attempt with the error's description (see ``JobFailure``).
///
/// ## Concurrency model
///
/// ``run()`` owns a task group. One loop leases jobs in batches (`count` = free slots). A lease
/// that waits goes on a connection of its own, so it never delays heartbeats, acks and fails,
/// which share the client's main connection. Each job is a child task of the group; a slot is
/// freed only when the job's handler has returned (even after a lost lease), so at most
/// ``Configuration/concurrency`` handlers ever run at once.
///
/// RQ's `send_shutdown_command` naming ``Configuration/name`` is heard at the next lease and
/// works like ``stop()``.
///
/// ``stop()`` is graceful: no new lease is sent, running handlers finish and are acked or
/// failed, then ``run()`` returns. A lease already waiting at the gateway is allowed to answer
/// (at most ``Configuration/leaseWait`` seconds); jobs it brings are released back to the head
/// of their queue without spending a retry. Cancelling the task that called ``run()`` is the
/// hard stop: handlers are cancelled, and jobs whose handlers end by throwing are released.
public final class Worker: Sendable {
    public struct Configuration: Sendable {
        /// Queues in strict priority order.
        public var queues: [String]
        /// The most handlers that run at once.
        public var concurrency: Int
        /// The lease length in seconds; nil uses each job's `timeout`.
        public var leaseFor: Double?
        /// Seconds each lease request waits for a job (0 to 60). ``Worker/stop()`` may wait
        /// this long for a lease already sent.
        public var leaseWait: Double
        /// The worker's name, stored as RQ's `worker_name`; a named lease also shows in RQ's
        /// tools as a worker and what it works on. Empty: anonymous leases, which save the
        /// gateway a few Redis commands per job. Don't reuse the name of a real RQ worker.
        public var name: String
        /// Seconds between heartbeats; nil is a third of each job's `lease_seconds`.
        public var heartbeatInterval: Double?
        /// The `retry` flag sent when a handler throws an error other than ``JobFailure``.
        public var retryFailedJobs: Bool

        public init(
            queues: [String],
            concurrency: Int = 1,
            leaseFor: Double? = nil,
            leaseWait: Double = 5,
            name: String = Worker.defaultName(),
            heartbeatInterval: Double? = nil,
            retryFailedJobs: Bool = true
        ) {
            self.queues = queues
            self.concurrency = concurrency
            self.leaseFor = leaseFor
            self.leaseWait = leaseWait
            self.name = name
            self.heartbeatInterval = heartbeatInterval
            self.retryFailedJobs = retryFailedJobs
        }
    }

    /// What happened to a job, or a request that failed. Delivered synchronously on a worker
    /// task: keep the callback short.
    public enum Event: Sendable {
        /// The handler is about to run.
        case started(LeasedJob)
        /// The handler returned and the job was acked (`finished` or `deleted`).
        case acked(LeasedJob, JobState)
        /// The handler threw and the attempt was failed with `error`.
        case failed(LeasedJob, error: String, FailOutcome)
        /// The job was given back without running (stop or cancellation).
        case released(LeasedJob)
        /// The lease was lost: the handler was cancelled (or its result dropped).
        case leaseLost(LeasedJob)
        /// A request failed; the worker carries on (a lease is tried again after a pause).
        case error(LeasedJob?, any Error)
    }

    /// Where the worker connects.
    public let address: JobgateAddress
    private let token: String?
    private let tls: JobgateTLSOptions
    public let configuration: Configuration
    private let group: (any EventLoopGroup)?
    private let handler: @Sendable (LeasedJob) async throws -> RawJSON?
    private let onEvent: (@Sendable (Event) -> Void)?
    private let stopping = Latch()
    private let slots: SlotPool
    private let started = NIOLockedValueBox(false)

    /// A worker whose handler's return value becomes the job's result.
    public convenience init<Result: Encodable & Sendable>(
        address: JobgateAddress,
        token: String? = nil,
        tls: JobgateTLSOptions = JobgateTLSOptions(),
        configuration: Configuration,
        eventLoopGroup: (any EventLoopGroup)? = nil,
        onEvent: (@Sendable (Event) -> Void)? = nil,
        handler: @escaping @Sendable (LeasedJob) async throws -> Result
    ) {
        self.init(address: address, token: token, tls: tls, configuration: configuration, eventLoopGroup: eventLoopGroup,
                  onEvent: onEvent, rawHandler: { job in try RawJSON(encoding: try await handler(job)) })
    }

    /// A worker whose handler returns nothing: jobs are acked with no result.
    public convenience init(
        address: JobgateAddress,
        token: String? = nil,
        tls: JobgateTLSOptions = JobgateTLSOptions(),
        configuration: Configuration,
        eventLoopGroup: (any EventLoopGroup)? = nil,
        onEvent: (@Sendable (Event) -> Void)? = nil,
        handler: @escaping @Sendable (LeasedJob) async throws -> Void
    ) {
        self.init(address: address, token: token, tls: tls, configuration: configuration, eventLoopGroup: eventLoopGroup,
                  onEvent: onEvent, rawHandler: { job in try await handler(job); return nil })
    }

    private init(
        address: JobgateAddress,
        token: String?,
        tls: JobgateTLSOptions,
        configuration: Configuration,
        eventLoopGroup: (any EventLoopGroup)?,
        onEvent: (@Sendable (Event) -> Void)?,
        rawHandler: @escaping @Sendable (LeasedJob) async throws -> RawJSON?
    ) {
        self.address = address
        self.token = token
        self.tls = tls
        self.configuration = configuration
        self.group = eventLoopGroup
        self.onEvent = onEvent
        self.handler = rawHandler
        self.slots = SlotPool(configuration.concurrency)
    }

    /// `HOST/PID`: the host name and process id.
    public static func defaultName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let host = gethostname(&buffer, buffer.count) == 0
            ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : "swift"
        return String("\(host)/\(getpid())".utf8.prefix(128)) ?? "swift-worker"
    }

    /// Stops leasing; running handlers finish, then ``run()`` returns. Safe to call any time,
    /// from any task, more than once.
    public func stop() {
        stopping.set()
        slots.close()
    }

    /// Leases and runs jobs until ``stop()`` is called (or the calling task is cancelled), then
    /// waits for running handlers and returns. A worker runs once.
    ///
    /// Throws when the configuration is invalid, or when the gateway refuses the lease request
    /// itself (`BAD_REQUEST` for an invalid queue name, `UNAUTHORIZED` for a missing or wrong
    /// token) or TLS refuses the gateway (``JobgateClientError/tls(_:)``); running jobs still
    /// finish first.
    public func run() async throws {
        guard !configuration.queues.isEmpty else { throw JobgateClientError.invalidArgument("a worker needs at least one queue") }
        guard configuration.concurrency >= 1 else { throw JobgateClientError.invalidArgument("concurrency must be at least 1") }
        guard started.withLockedValue({ s in defer { s = true }; return !s }) else {
            throw JobgateClientError.invalidArgument("this worker has already run")
        }
        // Waiting leases go on a side connection of the client, so heartbeats, acks and fails on
        // its main connection never wait behind them.
        let client = JobgateClient(address: address, token: token, tls: tls, eventLoopGroup: group)
        let fatal = await withDiscardingTaskGroup { group -> (any Error)? in
            await leaseLoop(&group, client: client)
        }
        await client.close()
        if let fatal { throw fatal }
    }

    private func leaseLoop(_ group: inout DiscardingTaskGroup, client: JobgateClient) async -> (any Error)? {
        let config = configuration
        var pause = 0.1
        while true {
            let free = await slots.acquireAll()
            if free == 0 || stopping.isSet || Task.isCancelled {
                slots.give(free)
                return nil
            }
            let jobs: [LeasedJob]
            do {
                let reply = try await client.leaseBatch(queues: config.queues, count: free, wait: config.leaseWait,
                                                        leaseFor: config.leaseFor, worker: config.name.isEmpty ? nil : config.name)
                if reply.shutdown {
                    // RQ's shutdown command named this worker: as stop(), the running jobs finish.
                    slots.give(free)
                    stop()
                    return nil
                }
                jobs = reply.jobs
                pause = 0.1
            } catch {
                slots.give(free)
                emit(.error(nil, error))
                if Self.isPermanent(error) {
                    stop()
                    return error
                }
                await stopping.wait(timeout: pause)
                pause = min(pause * 2, 5)
                continue
            }
            slots.give(free - jobs.count)
            if stopping.isSet || Task.isCancelled {
                for job in jobs { await giveBack(job, client: client) }
                slots.give(jobs.count)
                return nil
            }
            for job in jobs {
                group.addTask {
                    await self.process(job, client: client)
                    self.slots.give(1)
                }
            }
        }
    }

    /// The lease request or the connection's configuration is wrong (a bad queue name, a
    /// missing token, a gateway certificate that TLS refuses): sending it again cannot help.
    private static func isPermanent(_ error: any Error) -> Bool {
        if let error = error as? JobgateError {
            return [.badRequest, .unknownOp, .unauthorized].contains(error.code)
        }
        if case .tls = error as? JobgateClientError { return true }
        return false
    }

    private enum Outcome: Sendable {
        case returned(RawJSON?)
        case threw(any Error)
        case leaseLost
        case stopped(JobgateError)
    }

    private func process(_ job: LeasedJob, client: JobgateClient) async {
        emit(.started(job))
        let interval = max(configuration.heartbeatInterval ?? job.leaseSeconds / 3, 0.01)
        let outcome = await withTaskGroup(of: Outcome?.self) { group -> Outcome in
            group.addTask {
                do {
                    return .returned(try await JobReporter.$current.withValue(JobReporter(job: job, client: client)) {
                        try await self.handler(job)
                    })
                } catch {
                    return .threw(error)
                }
            }
            group.addTask { await self.keepAlive(job, every: interval, client: client) }
            var first: Outcome = .threw(CancellationError())
            for await outcome in group {
                if let outcome {
                    first = outcome
                    break
                }
            }
            // Stops the heartbeats, or cancels the handler after a lost lease or a stop. Leaving the group
            // waits for both, so the job's slot stays taken until the handler has returned.
            group.cancelAll()
            return first
        }

        switch outcome {
        case .leaseLost:
            emit(.leaseLost(job))
        case .stopped(let error):
            emit(.error(job, error))
        case .returned(let result):
            if let state = await settle(job, { try await client.ack(id: job.id, lease: job.lease, rawResult: result) }) {
                emit(.acked(job, state))
            }
        case .threw(let error):
            if Task.isCancelled && error is CancellationError {
                await giveBack(job, client: client)
                return
            }
            let message: String
            let retry: Bool
            if let failure = error as? JobFailure {
                message = failure.message
                retry = failure.retry
            } else {
                message = String(describing: error)
                retry = configuration.retryFailedJobs
            }
            if let reply = await settle(job, { try await client.fail(id: job.id, lease: job.lease, error: message, retry: retry) }) {
                emit(.failed(job, error: message, reply))
            }
        }
    }

    /// Heartbeats until cancelled (returns nil) or until the lease is lost.
    private func keepAlive(_ job: LeasedJob, every interval: Double, client: JobgateClient) async -> Outcome? {
        while true {
            do {
                try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
            } catch {
                return nil
            }
            do {
                try await client.heartbeat(id: job.id, lease: job.lease)
            } catch let error as JobgateError where error.code == .leaseLost {
                return .leaseLost
            } catch let error as JobgateError where error.code == .stopped {
                return .stopped(error)
            } catch {
                if Task.isCancelled { return nil }
                // A broken connection or UNAVAILABLE: try again at the next beat; if the lease
                // runs out meanwhile, that beat answers LEASE_LOST.
                emit(.error(job, error))
            }
        }
    }

    /// Sends ack or fail, trying again (on a new connection) when the connection broke or the
    /// gateway says the error is retryable. Returns nil when it did not succeed.
    private func settle<T: Sendable>(_ job: LeasedJob, _ send: @Sendable () async throws -> T) async -> T? {
        var pause = 0.2
        for attempt in 1...4 {
            do {
                return try await send()
            } catch let error as JobgateError where error.code == .leaseLost {
                emit(.leaseLost(job))
                return nil
            } catch {
                let transient = (error as? JobgateError)?.retryable ?? (error is JobgateClientError)
                if !transient || attempt == 4 {
                    emit(.error(job, error))
                    return nil
                }
                try? await Task.sleep(for: .milliseconds(Int64(pause * 1000)))
                pause *= 2
            }
        }
        return nil
    }

    private func giveBack(_ job: LeasedJob, client: JobgateClient) async {
        if await settle(job, { try await client.release(id: job.id, lease: job.lease) }) != nil {
            emit(.released(job))
        }
    }

    private func emit(_ event: Event) {
        onEvent?(event)
    }
}

/// Free job slots. The lease loop takes every free slot at once (waiting when there is none);
/// each finished job gives its slot back.
final class SlotPool: Sendable {
    private struct State {
        var free: Int
        var waiter: CheckedContinuation<Int, Never>?
        var closed = false
    }

    private let state: NIOLockedValueBox<State>

    init(_ count: Int) {
        state = NIOLockedValueBox(State(free: max(count, 0)))
    }

    /// All free slots (at least one), or 0 once closed or when the task is cancelled.
    func acquireAll() async -> Int {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
                let now: Int? = state.withLockedValue { s in
                    if s.closed { return 0 }
                    if s.free > 0 {
                        defer { s.free = 0 }
                        return s.free
                    }
                    s.waiter = continuation
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            close()
        }
    }

    func give(_ count: Int) {
        guard count > 0 else { return }
        let wake: (CheckedContinuation<Int, Never>, Int)? = state.withLockedValue { s in
            s.free += count
            guard let waiter = s.waiter else { return nil }
            s.waiter = nil
            defer { s.free = 0 }
            return (waiter, s.free)
        }
        if let (waiter, n) = wake { waiter.resume(returning: n) }
    }

    /// Wakes the waiting loop with 0 and makes every later acquire return 0.
    func close() {
        let waiter = state.withLockedValue { s -> CheckedContinuation<Int, Never>? in
            s.closed = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: 0)
    }
}

/// A one-way signal: set once, awaited by any number of tasks.
final class Latch: Sendable {
    private struct State {
        var isSet = false
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var cancelled: Set<Int> = []
    }

    private let state = NIOLockedValueBox(State())

    var isSet: Bool { state.withLockedValue { $0.isSet } }

    func set() {
        let waiters = state.withLockedValue { s -> [CheckedContinuation<Void, Never>] in
            s.isSet = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume() }
    }

    /// Returns when set, or when the task is cancelled.
    func wait() async {
        let id = state.withLockedValue { s -> Int in
            defer { s.nextID += 1 }
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLockedValue { s -> Bool in
                    if s.isSet || s.cancelled.remove(id) != nil { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
                if let w = s.waiters.removeValue(forKey: id) { return w }
                if !s.isSet { s.cancelled.insert(id) }
                return nil
            }
            waiter?.resume()
        }
    }

    /// Returns when set, after `seconds`, or when the task is cancelled.
    func wait(timeout seconds: Double) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000))) }
            group.addTask { await self.wait() }
            await group.next()
            group.cancelAll()
        }
    }
}
