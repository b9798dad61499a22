/// Reporting from inside a ``Worker`` handler how its job is going. Each call is a heartbeat
/// sent at once that leaves the lease's expiry alone (`extend` 0); RQ's tools and the `job` op
/// show the job's meta.
///
/// ```swift
/// try await job.report(meta: ["step": "resize"])   // replaces the job's meta
/// try await job.progress(40)                       // meta.progress = 40
/// ```
///
/// Both throw ``JobgateError`` `.stopped` (or `.leaseLost`) when the job is no longer to be
/// worked on: let it propagate; the worker drops the job's outcome either way.
extension LeasedJob {
    /// Replaces the job's meta (RQ's `meta` field).
    public func report(meta: [String: JSONValue]) async throws {
        try await JobReporter.for(self).send(meta: meta, progress: nil)
    }

    /// Stores `percent` (0 to 100) as the `progress` key of the job's meta.
    public func progress(_ percent: Double) async throws {
        guard percent >= 0 && percent <= 100 else {
            throw JobgateClientError.invalidArgument("progress must be a number from 0 to 100, not \(percent)")
        }
        try await JobReporter.for(self).send(meta: nil, progress: percent)
    }
}

/// What the worker gives a running handler's task so that its job can report.
struct JobReporter: Sendable {
    @TaskLocal static var current: JobReporter?

    let job: LeasedJob
    let client: JobgateClient

    static func `for`(_ job: LeasedJob) throws -> JobReporter {
        guard let reporter = current, reporter.job.lease == job.lease else {
            throw JobgateClientError.invalidArgument("report(meta:) and progress(_:) work inside a Worker's handler for its own job")
        }
        return reporter
    }

    func send(meta: [String: JSONValue]?, progress: Double?) async throws {
        try await client.heartbeat(job, extend: 0, meta: meta, progress: progress)
    }
}
