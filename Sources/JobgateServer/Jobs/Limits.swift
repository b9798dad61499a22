/// The limits the ops enforce. `ping` and `stats` report each of them, with the configured ones,
/// under the names protocol.md's limits table uses.
extension Gateway {
    /// Queues one `lease` may name.
    static let maxLeaseQueues = 32
    /// Longest `lease_for` and heartbeat `extend`: a week.
    static let maxLeaseSeconds = 7 * 86400.0
    /// Longest `delay` of an enqueue or a release: ten years.
    static let maxDelaySeconds = 10 * 365 * 86400.0
    /// Latest `at`, in Unix seconds (the year 5138): later is a unit mistake, not a plan.
    static let maxRunAt = 99_999_999_999.0
    static let maxRetries = 1_000_000
    static let maxRetryIntervals = 100
    static let maxDependencies = 100
    static let maxDescription = 4096
    /// Longest `rate_limit` key, in bytes.
    static let maxRateLimitKey = 1024
    /// Largest integer an integer field takes when it has no smaller limit (`timeout`, the TTLs,
    /// retry intervals, `failed`'s and `jobs`' `offset`, `requeue`'s and `empty`'s `limit`): RQ
    /// keeps them in 32 bits.
    static let maxInteger = Int(Int32.max)
    /// Largest page of `failed`.
    static let maxFailedPage = 1000
    /// Largest page of `jobs`.
    static let maxJobsPage = 1000
    /// Bytes of jobs in one page of `jobs` or `failed`, stored and as written: past that a page
    /// ends early (with one job at least), so that one reply cannot run to gigabytes.
    static let maxPageBytes = 16 << 20

    /// Every limit by its `limits` name, in protocol.md's order. Whole numbers print without a
    /// fraction, so the seconds among them and the counts are written alike.
    var limits: KeyValuePairs<StaticString, Double> {
        [
            "max_line": Double(config.session.maxLine),
            "max_batch": Double(config.maxBatch),
            "max_wait": config.maxWait,
            "max_lease_count": Double(config.maxLeaseCount),
            "max_name_length": Double(Names.maxLength),
            "max_error_text": Double(config.maxErrorText),
            "max_json_depth": Double(JSONScanner.maxDepth),
            "max_pipeline": Double(config.session.maxOutstanding),
            "max_pending_output": Double(config.session.maxPendingOutput),
            "max_bulky_in_flight": Double(config.session.maxBulkyInFlight),
            "max_fields": Double(Request.maxFields),
            "max_lease_queues": Double(Gateway.maxLeaseQueues),
            "max_lease_for": Gateway.maxLeaseSeconds,
            "max_delay": Gateway.maxDelaySeconds,
            "max_at": Gateway.maxRunAt,
            "max_retries": Double(Gateway.maxRetries),
            "max_retry_intervals": Double(Gateway.maxRetryIntervals),
            "max_depends_on": Double(Gateway.maxDependencies),
            "max_description": Double(Gateway.maxDescription),
            "max_rate_limit_key": Double(Gateway.maxRateLimitKey),
            "max_integer": Double(Gateway.maxInteger),
            "max_failed_limit": Double(Gateway.maxFailedPage),
            "max_jobs_limit": Double(Gateway.maxJobsPage),
            "max_page_bytes": Double(Gateway.maxPageBytes),
            "max_connections": Double(config.maxConnections),
            "max_auth_failures": Double(Auth.maxFailures),
        ]
    }

    func writeLimits(_ w: inout JSONWriter) {
        w.raw("{")
        for (i, (name, value)) in limits.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("\""); w.raw(name); w.raw("\":")
            w.seconds(value)
        }
        w.raw("}")
    }
}
