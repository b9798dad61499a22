/// What a gateway counts about itself: requests and their latency per op, connections, sweeps,
/// jobs settled per queue. Rendered by `stats` (JSON) and the Prometheus endpoint.
struct Counters {
    /// The op table's names, in its order, then one slot that every unknown name shares (so a
    /// client cannot grow these tables).
    static let opNames = Gateway.ops.map(\.name) + ["unknown"]

    var connectionsAccepted = 0
    var refusedConnections = 0
    var authFailures = 0
    var errors = 0
    var leaseExpiries = 0
    var promoted = 0
    /// Seconds the last sweep script took, send to reply: Redis's round trip with a little work.
    var redisRoundTrip = 0.0
    private(set) var ops = [Int](repeating: 0, count: opNames.count)
    private(set) var latency = [Histogram](repeating: Histogram(), count: opNames.count)
    /// Jobs acked through this gateway, by queue.
    var processed: [String: Int] = [:]
    /// Jobs failed for good (no retry left, or `"retry":false`) through this gateway, by queue.
    var failedForGood: [String: Int] = [:]

    mutating func count(_ slot: Int) { ops[slot] += 1 }

    mutating func observe(_ slot: Int, seconds: Double) { latency[slot].observe(seconds) }
}

/// A Prometheus histogram with fixed buckets from 50 µs to 10 s.
struct Histogram {
    static let bounds: [Double] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                   0.1, 0.25, 0.5, 1, 2.5, 10]
    private(set) var buckets = [Int](repeating: 0, count: bounds.count)
    private(set) var count = 0
    private(set) var sum = 0.0

    mutating func observe(_ v: Double) {
        count += 1
        sum += v
        for i in Histogram.bounds.indices where v <= Histogram.bounds[i] {
            buckets[i] += 1
            return
        }
    }
}

extension Gateway {
    /// Counts the jobs an `ack` script call settled, by queue.
    func countProcessed(_ result: Result<RedisReply, OpError>) {
        guard case .success(let list) = result else { return }
        let answers = list.rows(Ack.Row.self)
        // A repeated ack (no queue) was counted the first time. A batch's jobs mostly share a
        // queue: one count per run of them, not a String and a hash per job.
        var run: (queue: UnsafeRawBufferPointer, count: Int)?
        func count(_ run: (queue: UnsafeRawBufferPointer, count: Int)?) {
            guard let run else { return }
            counters.processed[String(decoding: run.queue, as: UTF8.self), default: 0] += run.count
        }
        for i in 0..<answers.count where !answers[i][Ack.Row.state].isError && !answers[i][Ack.Row.queue].isNil {
            let queue = answers[i][Ack.Row.queue].bytes
            if let current = run, current.queue.elementsEqual(queue) {
                run!.count += 1
            } else {
                count(run)
                run = (queue, 1)
            }
        }
        count(run)
    }

    /// Counts a `fail` script call that left its job failed (rather than queued or scheduled again).
    func countFailedForGood(_ result: Result<RedisReply, OpError>) {
        guard case .success(let row) = result, row[Fail.Row.state].string == "failed" else { return }
        counters.failedForGood[row[Fail.Row.queue].string, default: 0] += 1
    }

    /// One scrape: the queue counts from Redis (left out if Redis cannot answer), then everything else.
    public func scrapeMetrics(_ done: @escaping ([UInt8]) -> Void) {
        store.run(Stats.script, argCount: 0) { _ in } done: { [unowned self] result in
            if case .success(let rows) = result {
                done(self.renderMetrics(queues: rows))
            } else {
                done(self.renderMetrics(queues: nil))
            }
        }
    }

    /// Prometheus text format (0.0.4): per-queue counts from Redis plus this gateway's counters.
    func renderMetrics(queues: RedisReply?) -> [UInt8] {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func sample(_ name: String, _ labels: String, _ value: Double) {
            out += labels.isEmpty ? "\(name) \(plainNumber(value))\n" : "\(name){\(labels)} \(plainNumber(value))\n"
        }
        if let queues {
            family("jobgate_queue_jobs", "gauge", "Jobs per queue and state, from Redis (same on every gateway).")
            for i in 0..<queues.count {
                let row = queues[i]
                for state in Stats.counts {
                    sample("jobgate_queue_jobs", "\(queueLabel(row[Stats.Row.queue].string)),state=\"\(state)\"", Double(row[state].integer))
                }
            }
            family("jobgate_queue_paused", "gauge", "1 when the queue is paused.")
            for i in 0..<queues.count {
                let row = queues[i]
                sample("jobgate_queue_paused", queueLabel(row[Stats.Row.queue].string), Double(row[Stats.Row.paused].integer))
            }
            family("jobgate_queue_limit", "gauge", "An operator's cap on the queue (limit op): kind concurrency (jobs started at once) or rate (leases per window).")
            for i in 0..<queues.count {
                let row = queues[i]
                for (kind, field) in [("concurrency", Stats.Row.limit_concurrency), ("rate", Stats.Row.limit_rate_max)] where !row[field].isNil {
                    sample("jobgate_queue_limit", "\(queueLabel(row[Stats.Row.queue].string)),kind=\"\(kind)\"", row[field].double)
                }
            }
            family("jobgate_queue_oldest_queued_seconds", "gauge", "Age of the job at the head of the queue, by Redis's clock (left out when the queue is empty).")
            for i in 0..<queues.count where !queues[i][Stats.Row.oldest_queued_seconds].isNil {
                let row = queues[i]
                sample("jobgate_queue_oldest_queued_seconds", queueLabel(row[Stats.Row.queue].string), row[Stats.Row.oldest_queued_seconds].double)
            }
        }
        family("jobgate_jobs_processed_total", "counter", "Jobs acked through this gateway, by queue.")
        for (queue, n) in counters.processed.sorted(by: { $0.key < $1.key }) { sample("jobgate_jobs_processed_total", queueLabel(queue), Double(n)) }
        family("jobgate_jobs_failed_total", "counter", "Jobs failed for good through this gateway (no retry left, or retry false), by queue.")
        for (queue, n) in counters.failedForGood.sorted(by: { $0.key < $1.key }) { sample("jobgate_jobs_failed_total", queueLabel(queue), Double(n)) }
        family("jobgate_requests_total", "counter", "Requests by op.")
        for (i, op) in Counters.opNames.enumerated() { sample("jobgate_requests_total", "op=\"\(op)\"", Double(counters.ops[i])) }
        family("jobgate_request_duration_seconds", "histogram", "Time from reading a request to writing its reply, by op (blocking leases and results include their wait).")
        for (i, op) in Counters.opNames.enumerated() where counters.latency[i].count > 0 {
            let h = counters.latency[i]
            var cumulative = 0
            for (b, bound) in Histogram.bounds.enumerated() {
                cumulative += h.buckets[b]
                sample("jobgate_request_duration_seconds_bucket", "op=\"\(op)\",le=\"\(plainNumber(bound))\"", Double(cumulative))
            }
            sample("jobgate_request_duration_seconds_bucket", "op=\"\(op)\",le=\"+Inf\"", Double(h.count))
            sample("jobgate_request_duration_seconds_sum", "op=\"\(op)\"", h.sum)
            sample("jobgate_request_duration_seconds_count", "op=\"\(op)\"", Double(h.count))
        }
        let plain: [(String, String, String, Double)] = [
            ("jobgate_errors_total", "counter", "Requests answered with an error.", Double(counters.errors)),
            ("jobgate_connections", "gauge", "Open client connections.", Double(sessionCount)),
            ("jobgate_connections_accepted_total", "counter", "Client connections accepted.", Double(counters.connectionsAccepted)),
            ("jobgate_connections_refused_total", "counter", "Connections answered OVERLOADED.", Double(counters.refusedConnections)),
            ("jobgate_auth_failures_total", "counter", "Wrong auth tokens.", Double(counters.authFailures)),
            ("jobgate_waiting_leases", "gauge", "Lease requests waiting for a job.", Double(waiters.count)),
            ("jobgate_lease_expiries_total", "counter", "Leases this gateway's sweeps took back.", Double(counters.leaseExpiries)),
            ("jobgate_promoted_total", "counter", "Scheduled jobs this gateway's sweeps queued.", Double(counters.promoted)),
            ("jobgate_redis_up", "gauge", "1 when the Redis connection is ready.", store.isReady ? 1 : 0),
            ("jobgate_redis_in_flight", "gauge", "Redis commands sent and not yet answered.", Double(store.inFlight)),
            ("jobgate_redis_script_calls_total", "counter", "Script calls sent to Redis (each carries a batch of ops).", Double(store.scriptCalls)),
            ("jobgate_redis_script_ops_total", "counter", "Ops those script calls carried.", Double(store.scriptOps)),
            ("jobgate_redis_roundtrip_seconds", "gauge", "Round trip of the last sweep script.", counters.redisRoundTrip),
        ]
        for (name, type, help, value) in plain {
            family(name, type, help)
            sample(name, "", value)
        }
        return Array(out.utf8)
    }
}

private func queueLabel(_ queue: String) -> String { "queue=\"\(escapedForQuotes(queue))\"" }
