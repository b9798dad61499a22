import Foundation

/// A job's state, as RQ names it (`queued`, `scheduled`, `started`, `finished`, `failed`, ...).
/// Values this client does not list still decode; compare ``rawValue`` for those.
public struct JobState: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let queued = JobState(rawValue: "queued")
    public static let scheduled = JobState(rawValue: "scheduled")
    public static let deferred = JobState(rawValue: "deferred")
    public static let started = JobState(rawValue: "started")
    public static let finished = JobState(rawValue: "finished")
    public static let failed = JobState(rawValue: "failed")
    public static let canceled = JobState(rawValue: "canceled")
    public static let stopped = JobState(rawValue: "stopped")
    public static let created = JobState(rawValue: "created")
    /// `ack` of a job whose `result_ttl` is 0.
    public static let deleted = JobState(rawValue: "deleted")

    /// True for states a job does not leave by itself: finished, failed, canceled, stopped.
    public var isTerminal: Bool { [.finished, .failed, .canceled, .stopped].contains(self) }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public var description: String { rawValue }
}

/// When a job may first run. Without one, it is queued at once.
public enum Schedule: Sendable, Hashable {
    /// Seconds from now, by Redis's clock (`delay`).
    case delay(Double)
    /// A point in time (`at`, sent as Unix seconds).
    case at(Date)
    /// Unix seconds (`at`).
    case atUnixTime(Double)
    /// An RFC 3339 time such as `2026-11-22T09:30:00Z` (`at`, sent as text).
    case atRFC3339(String)
}

/// Every `enqueue` option of the protocol except the payload. `nil` leaves the gateway's default.
public struct EnqueueOptions: Sendable, Hashable {
    /// Your own job id (1-128 of `A-Z a-z 0-9 _ -`). If it exists, `enqueue` fails with DUPLICATE.
    public var id: String?
    /// Put the job at the head of its queue.
    public var atFront: Bool
    /// `delay` or `at`.
    public var schedule: Schedule?
    /// Lease length in seconds when `lease` has no `lease_for` (default 180; -1 is "no limit").
    public var timeout: Int?
    /// Failed attempts to retry before the job is failed (default 0).
    public var retries: Int?
    /// Whole seconds to wait before each retry, by RQ's rule (default `[0]`).
    public var retryIntervals: [Int]?
    /// Seconds to keep the result after `ack` (default 500; 0 deletes the job; -1 forever).
    public var resultTTL: Int?
    /// Seconds to keep a failed job (default one year; -1 forever).
    public var failureTTL: Int?
    /// Seconds the job may wait in its queue before Redis drops it.
    public var ttl: Int?
    /// Free text, shown by RQ's tools (up to 4096 bytes).
    public var description: String?
    /// Free JSON, returned with the job.
    public var meta: [String: JSONValue]?
    /// Ids of jobs (1 to 100) that must finish first; until then the job is `deferred`.
    /// Cannot be combined with a schedule.
    public var dependsOn: [String]?

    public init(
        id: String? = nil,
        atFront: Bool = false,
        schedule: Schedule? = nil,
        timeout: Int? = nil,
        retries: Int? = nil,
        retryIntervals: [Int]? = nil,
        resultTTL: Int? = nil,
        failureTTL: Int? = nil,
        ttl: Int? = nil,
        description: String? = nil,
        meta: [String: JSONValue]? = nil,
        dependsOn: [String]? = nil
    ) {
        self.id = id
        self.atFront = atFront
        self.schedule = schedule
        self.timeout = timeout
        self.retries = retries
        self.retryIntervals = retryIntervals
        self.resultTTL = resultTTL
        self.failureTTL = failureTTL
        self.ttl = ttl
        self.description = description
        self.meta = meta
        self.dependsOn = dependsOn
    }
}

/// A job to enqueue: a function name, its arguments and options.
///
/// Arguments are JSON: `args` must be an array and `kwargs` an object. Give them as
/// ``JSONValue``s, as one `Codable` payload (sent as the single positional argument), or as
/// ``RawJSON`` text that is sent byte for byte.
public struct NewJob: Sendable, Hashable {
    /// The queue. In a batch, `nil` takes the batch's default queue.
    public var queue: String?
    /// The function to call, e.g. `img.resize`.
    public var function: String
    /// Positional arguments: a JSON array.
    public var args: RawJSON
    /// Keyword arguments: a JSON object.
    public var kwargs: RawJSON
    public var options: EnqueueOptions

    /// A job with JSON arguments.
    public init(
        queue: String?,
        function: String,
        args: [JSONValue] = [],
        kwargs: [String: JSONValue] = [:],
        options: EnqueueOptions = EnqueueOptions()
    ) {
        self.queue = queue
        self.function = function
        self.args = RawJSON(.array(args))
        self.kwargs = RawJSON(.object(kwargs))
        self.options = options
    }

    /// A job whose single positional argument is `payload`, encoded with `encoder`.
    /// A worker reads it back with ``LeasedJob/payload(as:decoder:)``.
    public init(
        queue: String?,
        function: String,
        payload: some Encodable,
        options: EnqueueOptions = EnqueueOptions(),
        encoder: JSONEncoder? = nil
    ) throws {
        let encoded = try RawJSON(encoding: payload, encoder: encoder)
        self.queue = queue
        self.function = function
        self.args = RawJSON(uncheckedBytes: [UInt8(ascii: "[")] + encoded.bytes + [UInt8(ascii: "]")])
        self.kwargs = RawJSON(uncheckedBytes: Array("{}".utf8))
        self.options = options
    }

    /// A job whose arguments are JSON text, sent as they are. `rawArgs` must be an array and
    /// `rawKwargs` an object.
    public init(
        queue: String?,
        function: String,
        rawArgs: RawJSON,
        rawKwargs: RawJSON = RawJSON(.object([:])),
        options: EnqueueOptions = EnqueueOptions()
    ) throws {
        guard rawArgs.isArray else { throw JobgateClientError.invalidArgument("args must be a JSON array") }
        guard rawKwargs.isObject else { throw JobgateClientError.invalidArgument("kwargs must be a JSON object") }
        self.queue = queue
        self.function = function
        self.args = rawArgs
        self.kwargs = rawKwargs
        self.options = options
    }

    /// The job as a JSON object (the body of `enqueue`, or one item of `jobs`).
    func write(into w: inout RequestWriter) throws {
        w.string("queue", queue)
        w.string("func", function)
        w.raw("args", args)
        w.raw("kwargs", kwargs)
        let o = options
        w.string("id", o.id)
        if o.atFront { w.bool("at_front", true) }
        switch o.schedule {
        case nil: break
        case .delay(let seconds): try w.double("delay", seconds)
        case .at(let date): try w.double("at", date.timeIntervalSince1970)
        case .atUnixTime(let seconds): try w.double("at", seconds)
        case .atRFC3339(let text): w.string("at", text)
        }
        w.int("timeout", o.timeout)
        w.int("retries", o.retries)
        if let intervals = o.retryIntervals { try w.json("retry_intervals", .array(intervals.map { .int($0) })) }
        w.int("result_ttl", o.resultTTL)
        w.int("failure_ttl", o.failureTTL)
        w.int("ttl", o.ttl)
        w.string("description", o.description)
        if let meta = o.meta { try w.json("meta", .object(meta)) }
        if let parents = o.dependsOn { try w.json("depends_on", .array(parents.map { .string($0) })) }
    }
}

/// The answer to one enqueued job.
public struct EnqueuedJob: Sendable, Hashable, Decodable {
    /// The job's id (yours, or a new uuid4).
    public let id: String
    /// `queued`, `scheduled`, or `deferred` (waiting on `dependsOn`).
    public let state: JobState
    /// For `scheduled`: when it may run, Unix seconds.
    public let runAt: Double?

    enum CodingKeys: String, CodingKey {
        case id, state
        case runAt = "run_at"
    }
}

/// One job of ``JobgateClient/ackBatch(_:)``.
public struct AckItem: Sendable, Hashable {
    public var id: String
    public var lease: String
    /// Any JSON, kept for the job's `result_ttl`.
    public var result: RawJSON?

    public init(id: String, lease: String, result: RawJSON? = nil) {
        self.id = id
        self.lease = lease
        self.result = result
    }

    /// Acks `job`, with `result` encoded as JSON.
    public init(_ job: LeasedJob, result: some Encodable) throws {
        self.init(id: job.id, lease: job.lease, result: try RawJSON(encoding: result))
    }

    /// Acks `job` with no result.
    public init(_ job: LeasedJob) {
        self.init(id: job.id, lease: job.lease)
    }
}

/// A page of a queue's failed registry (the `failed` op).
public struct FailedPage: Sendable, Hashable, Decodable {
    /// Entries in the registry.
    public let total: Int
    public let jobs: [JobInfo]
}

/// The reply to `requeue`.
public struct RequeueOutcome: Sendable, Hashable, Decodable {
    /// How many jobs moved back to their queue.
    public let requeued: Int
    /// What is left in the failed registry.
    public let stillFailed: Int

    enum CodingKeys: String, CodingKey {
        case requeued
        case stillFailed = "still_failed"
    }
}

/// The reply to `pause` and `resume`.
public struct QueuePauseState: Sendable, Hashable, Decodable {
    public let queue: String
    public let paused: Bool
    /// Jobs waiting in the queue.
    public let queued: Int
}

/// A leased job: do the work, then `ack`, `fail` or `release` it with its ``lease`` token.
public struct LeasedJob: Sendable, Hashable, Decodable {
    public let id: String
    public let queue: String
    /// The function name given at enqueue.
    public let function: String
    public let args: [JSONValue]
    public let kwargs: [String: JSONValue]
    public let meta: [String: JSONValue]?
    /// The lease token.
    public let lease: String
    /// When the lease runs out, Unix seconds by Redis's clock.
    public let expiresAt: Double
    /// The lease length, also the default `extend` of a heartbeat.
    public let leaseSeconds: Double
    /// How many times this job has been leased, this time included.
    public let attempt: Int
    /// Failed attempts that will still be retried.
    public let retriesLeft: Int

    enum CodingKeys: String, CodingKey {
        case id, queue, args, kwargs, meta, lease, attempt
        case function = "func"
        case expiresAt = "expires_at"
        case leaseSeconds = "lease_seconds"
        case retriesLeft = "retries_left"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        queue = try c.decode(String.self, forKey: .queue)
        function = try c.decodeIfPresent(String.self, forKey: .function) ?? ""
        args = try c.decodeIfPresent([JSONValue].self, forKey: .args) ?? []
        kwargs = try c.decodeIfPresent([String: JSONValue].self, forKey: .kwargs) ?? [:]
        meta = try c.decodeIfPresent([String: JSONValue].self, forKey: .meta)
        lease = try c.decode(String.self, forKey: .lease)
        expiresAt = try c.decode(Double.self, forKey: .expiresAt)
        leaseSeconds = try c.decode(Double.self, forKey: .leaseSeconds)
        attempt = try c.decode(Int.self, forKey: .attempt)
        retriesLeft = try c.decodeIfPresent(Int.self, forKey: .retriesLeft) ?? 0
    }

    /// The single positional argument of a job enqueued with a `Codable` payload.
    public func payload<T: Decodable>(as type: T.Type = T.self, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        guard let first = args.first else {
            throw JobgateClientError.invalidArgument("job \(id) has no positional argument")
        }
        return try first.decode(as: type, decoder: decoder)
    }

    /// The positional argument at `index`.
    public func argument<T: Decodable>(_ index: Int, as type: T.Type = T.self, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        guard args.indices.contains(index) else {
            throw JobgateClientError.invalidArgument("job \(id) has no positional argument \(index)")
        }
        return try args[index].decode(as: type, decoder: decoder)
    }

    /// The keyword arguments, decoded as one object.
    public func kwargs<T: Decodable>(as type: T.Type = T.self, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        try JSONValue.object(kwargs).decode(as: type, decoder: decoder)
    }
}

/// A job as `job` reports it.
public struct JobInfo: Sendable, Hashable, Decodable {
    public let id: String
    public let queue: String?
    public let state: JobState
    /// nil when the stored data is not RQ's JSON form.
    public let function: String?
    public let args: [JSONValue]?
    public let kwargs: [String: JSONValue]?
    public let meta: [String: JSONValue]?
    public let description: String?
    /// RFC 3339 UTC text with microseconds (RQ's format), or nil.
    public let createdAt: String?
    public let enqueuedAt: String?
    public let startedAt: String?
    public let endedAt: String?
    public let lastHeartbeat: String?
    /// Times leased.
    public let attempts: Int
    public let retriesLeft: Int?
    public let timeout: Int?
    public let resultTTL: Int?
    public let failureTTL: Int?
    /// The `worker` of the last lease.
    public let worker: String?
    /// The `ack` result (nil when none, or when the result was JSON `null`).
    public let result: JSONValue?
    /// The text of the last failed attempt.
    public let error: String?

    enum CodingKeys: String, CodingKey {
        case id, queue, state, args, kwargs, meta, description, attempts, timeout, worker, result, error
        case function = "func"
        case createdAt = "created_at"
        case enqueuedAt = "enqueued_at"
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case lastHeartbeat = "last_heartbeat"
        case retriesLeft = "retries_left"
        case resultTTL = "result_ttl"
        case failureTTL = "failure_ttl"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        queue = try c.decodeIfPresent(String.self, forKey: .queue)
        state = try c.decodeIfPresent(JobState.self, forKey: .state) ?? JobState(rawValue: "")
        function = try c.decodeIfPresent(String.self, forKey: .function)
        args = try c.decodeIfPresent([JSONValue].self, forKey: .args)
        kwargs = try c.decodeIfPresent([String: JSONValue].self, forKey: .kwargs)
        meta = try c.decodeIfPresent([String: JSONValue].self, forKey: .meta)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        createdAt = try c.decodeIfPresent(String.self, forKey: .createdAt)
        enqueuedAt = try c.decodeIfPresent(String.self, forKey: .enqueuedAt)
        startedAt = try c.decodeIfPresent(String.self, forKey: .startedAt)
        endedAt = try c.decodeIfPresent(String.self, forKey: .endedAt)
        lastHeartbeat = try c.decodeIfPresent(String.self, forKey: .lastHeartbeat)
        attempts = try c.decodeIfPresent(Int.self, forKey: .attempts) ?? 0
        retriesLeft = try c.decodeIfPresent(Int.self, forKey: .retriesLeft)
        timeout = try c.decodeIfPresent(Int.self, forKey: .timeout)
        resultTTL = try c.decodeIfPresent(Int.self, forKey: .resultTTL)
        failureTTL = try c.decodeIfPresent(Int.self, forKey: .failureTTL)
        worker = try c.decodeIfPresent(String.self, forKey: .worker)
        let result = try c.decodeIfPresent(JSONValue.self, forKey: .result)
        self.result = result == .null ? nil : result
        error = try c.decodeIfPresent(String.self, forKey: .error)
    }

    /// The `ack` result decoded into `type`.
    public func result<T: Decodable>(as type: T.Type = T.self, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        try (result ?? .null).decode(as: type, decoder: decoder)
    }
}

/// The reply to `fail`.
public struct FailOutcome: Sendable, Hashable, Decodable {
    /// `queued`, `scheduled` (a retry after a delay) or `failed`.
    public let state: JobState
    public let retriesLeft: Int
    /// For `scheduled`: when the retry may run, Unix seconds.
    public let retryAt: Double?

    enum CodingKeys: String, CodingKey {
        case state
        case retriesLeft = "retries_left"
        case retryAt = "retry_at"
    }
}

/// The reply to `release`.
public struct ReleaseOutcome: Sendable, Hashable, Decodable {
    /// `queued` or `scheduled`.
    public let state: JobState
    /// For `scheduled`: when it may run, Unix seconds.
    public let runAt: Double?

    enum CodingKeys: String, CodingKey {
        case state
        case runAt = "run_at"
    }
}

/// The reply to `ping`.
public struct PingInfo: Sendable, Hashable, Decodable {
    public let version: String
    /// `ready`, `loading`, `connecting` or `disconnected`.
    public let redis: String
    public let limits: Limits

    /// The limits in effect on the gateway.
    public struct Limits: Sendable, Hashable, Decodable {
        public let maxLine: Int
        public let maxBatch: Int
        public let maxWait: Double
        public let maxLeaseCount: Int
        public let maxNameLength: Int
        public let maxErrorText: Int
        public let maxJSONDepth: Int
        public let maxPipeline: Int

        enum CodingKeys: String, CodingKey {
            case maxLine = "max_line"
            case maxBatch = "max_batch"
            case maxWait = "max_wait"
            case maxLeaseCount = "max_lease_count"
            case maxNameLength = "max_name_length"
            case maxErrorText = "max_error_text"
            case maxJSONDepth = "max_json_depth"
            case maxPipeline = "max_pipeline"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            maxLine = try c.decodeIfPresent(Int.self, forKey: .maxLine) ?? 1_048_576
            maxBatch = try c.decodeIfPresent(Int.self, forKey: .maxBatch) ?? 10_000
            maxWait = try c.decodeIfPresent(Double.self, forKey: .maxWait) ?? 60
            maxLeaseCount = try c.decodeIfPresent(Int.self, forKey: .maxLeaseCount) ?? 1000
            maxNameLength = try c.decodeIfPresent(Int.self, forKey: .maxNameLength) ?? 128
            maxErrorText = try c.decodeIfPresent(Int.self, forKey: .maxErrorText) ?? 65_536
            maxJSONDepth = try c.decodeIfPresent(Int.self, forKey: .maxJSONDepth) ?? 64
            maxPipeline = try c.decodeIfPresent(Int.self, forKey: .maxPipeline) ?? 1024
        }
    }
}

/// The reply to `stats`.
public struct Stats: Sendable, Hashable, Decodable {
    /// Counts for each queue in `rq:queues`.
    public let queues: [String: QueueCounts]
    /// This gateway's counters (`connections`, `waiting_leases`, `ops`, ...).
    public let gateway: [String: JSONValue]

    public struct QueueCounts: Sendable, Hashable, Decodable {
        public let queued: Int
        public let started: Int
        public let scheduled: Int
        public let failed: Int
        public let finished: Int
        public let paused: Bool
    }
}
