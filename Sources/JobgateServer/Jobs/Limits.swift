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
    /// Largest integer an integer field takes when it has no smaller limit (`timeout`, the TTLs,
    /// retry intervals, `failed`'s `offset`, `requeue`'s `limit`): RQ keeps them in 32 bits.
    static let maxInteger = Int(Int32.max)
    /// Largest page of `failed`.
    static let maxFailedPage = 1000

    func writeLimits(_ w: inout JSONWriter) {
        w.raw("{\"max_line\":"); w.int(config.session.maxLine)
        w.key("max_batch"); w.int(config.maxBatch)
        w.key("max_wait"); w.seconds(config.maxWait)
        w.key("max_lease_count"); w.int(config.maxLeaseCount)
        w.key("max_name_length"); w.int(Names.maxLength)
        w.key("max_error_text"); w.int(config.maxErrorText)
        w.key("max_json_depth"); w.int(JSONScanner.maxDepth)
        w.key("max_pipeline"); w.int(config.session.maxOutstanding)
        w.key("max_pending_output"); w.int(config.session.maxPendingOutput)
        w.key("max_fields"); w.int(Request.maxFields)
        w.key("max_lease_queues"); w.int(Gateway.maxLeaseQueues)
        w.key("max_lease_for"); w.seconds(Gateway.maxLeaseSeconds)
        w.key("max_delay"); w.seconds(Gateway.maxDelaySeconds)
        w.key("max_at"); w.seconds(Gateway.maxRunAt)
        w.key("max_retries"); w.int(Gateway.maxRetries)
        w.key("max_retry_intervals"); w.int(Gateway.maxRetryIntervals)
        w.key("max_depends_on"); w.int(Gateway.maxDependencies)
        w.key("max_description"); w.int(Gateway.maxDescription)
        w.key("max_integer"); w.int(Gateway.maxInteger)
        w.key("max_failed_limit"); w.int(Gateway.maxFailedPage)
        w.key("max_connections"); w.int(config.maxConnections)
        w.key("max_auth_failures"); w.int(Gateway.maxFailedAuths)
        w.raw("}")
    }
}
