/// `enqueue`: one job, or a batch under `jobs`, created in one script call.
/// `{"op":"enqueue","queue":Q,"func":F,"args":[...],"kwargs":{...},...}` -> `{"ok":true,"id":ID,"state":"queued"}`
/// (or `rate_limited`, `scheduled`, `deferred`)
/// `{"op":"enqueue","queue":Q,"jobs":[{...},...]}` -> `{"ok":true,"jobs":[{"ok":true,"id":ID,"state":S},...]}`
enum Enqueue: OpHandler {
    /// enqueue.lua's arguments, per job.
    enum Argument: Int, ScriptNames {
        case id, queue, data, description, timeout, result_ttl, failure_ttl, ttl, meta, retries,
             retry_intervals, at_front, run_at, delay, depends_on, fresh, rate_limit_key, rate_limit_concurrency
    }

    /// One row per job, flat.
    enum Row: Int, ScriptNames { case state, run_at }

    static let script = Script("enqueue", PackageResources.enqueue_lua, arguments: Argument.names, rows: Row.names, writes: true)
    static var scripts: [Script] { [script] }

    struct Params {
        var jobs: [NewJob]
        /// Given as `jobs`: the reply lists each job's outcome.
        var isBatch: Bool
    }

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> Params {
        if let batch = try r.spanIfPresent("jobs", .array) {
            let defaultQueue = try r.string("queue")
            try r.rejectUnknownFields()
            let jobs = try g.decodeBatch(batch, in: r.line) { (item: inout Request) throws(OpError) in
                try g.decodeJob(&item, defaultQueue: defaultQueue)
            }
            return Params(jobs: jobs, isBatch: true)
        }
        let job = try g.decodeJob(&r, defaultQueue: nil)
        try r.rejectUnknownFields()
        return Params(jobs: [job], isBatch: false)
    }

    static func run(_ p: Params, _ g: Gateway, _ reply: ReplyTicket) {
        g.store.run(script, argCount: p.jobs.count * Argument.allCases.count) { args in
            for job in p.jobs { job.put(into: &args) }
        } done: { result in
            reply.answer(result) { list, w throws(OpError) in
                let rows = list.rows(Row.self)
                guard p.isBatch else {
                    if let error = refusal(rows[0], id: p.jobs[0].id) { throw error }
                    return writeEnqueued(p.jobs[0].id, rows[0], &w)
                }
                w.key("jobs")
                w.raw("[")
                for i in 0..<rows.count {
                    if i > 0 { w.raw(",") }
                    if let error = refusal(rows[i], id: p.jobs[i].id) {
                        w.raw("{\"ok\":false"); w.key("id"); w.string(p.jobs[i].id)
                        w.key("error"); w.errorObject(error); w.raw("}")
                    } else {
                        w.raw("{\"ok\":true")
                        writeEnqueued(p.jobs[i].id, rows[i], &w)
                        w.raw("}")
                    }
                }
                w.raw("]")
            }
        }
    }

    /// A job the script refused (an error reply in its place), as a protocol error.
    private static func refusal(_ row: FlatRow<Row>, id: String) -> OpError? {
        guard row[Row.state].isError else { return nil }
        var error = RedisStore.opError(row[Row.state].string)
        if error.code == .duplicate { error.id = id }
        return error
    }

    private static func writeEnqueued(_ id: String, _ row: FlatRow<Row>, _ w: inout JSONWriter) {
        w.key("id"); w.string(id)
        w.key("state"); w.string(row[Row.state])
        if !row[Row.run_at].isNil { w.key("run_at"); w.int(row[Row.run_at].integer) }
    }
}

/// A validated job, holding only what the enqueue script needs.
struct NewJob {
    var id: String
    var queue: String
    var data: [UInt8]
    var description: String?
    var timeout: Int?
    var resultTTL: Int?
    var failureTTL: Int?
    var ttl: Int?
    var meta: [UInt8]?
    var retries: Int?
    var retryIntervals: String?
    var atFront = false
    var runAt: Double?
    var delay: Double?
    var dependsOn: String?
    /// The gateway generated the id (a random uuid4): no duplicate check is needed.
    var fresh = false
    /// RQ 3.0's `RateLimit(key, concurrency)`.
    var rateLimit: (key: String, concurrency: Int)?

    func put(into args: inout RESPArgs) {
        typealias A = Enqueue.Argument
        args.put(A.id, id)
        args.put(A.queue, queue)
        args.put(A.data, data)
        args.put(A.description, description)
        args.put(A.timeout, timeout.map(String.init))
        args.put(A.result_ttl, resultTTL.map(String.init))
        args.put(A.failure_ttl, failureTTL.map(String.init))
        args.put(A.ttl, ttl.map(String.init))
        args.put(A.meta, meta ?? [])
        args.put(A.retries, retries.map(String.init))
        args.put(A.retry_intervals, retryIntervals)
        args.put(A.at_front, atFront ? "1" : "")
        args.put(A.run_at, runAt)
        args.put(A.delay, delay)
        args.put(A.depends_on, dependsOn)
        args.put(A.fresh, fresh ? "1" : "")
        args.put(A.rate_limit_key, rateLimit?.key)
        args.put(A.rate_limit_concurrency, rateLimit.map { String($0.concurrency) })
    }
}

/// Decoding a job's fields, shared by `enqueue` and the batch form.
extension Gateway {
    /// Decodes every object of a batch's `jobs` array with `decode`; an invalid item refuses the
    /// whole request, naming the item.
    func decodeBatch<T>(_ batch: JSONSpan, in line: UnsafeRawBufferPointer,
                        _ decode: (inout Request) throws(OpError) -> T) throws(OpError) -> [T] {
        var items: [T] = []
        do {
            try JSONScanner.elements(of: batch, in: line) { span in
                let index = items.count
                guard span.kind == .object else { throw OpError.bad("jobs[\(index)] must be an object") }
                var item = try Request(object: span, in: line)
                do {
                    items.append(try decode(&item))
                    try item.rejectUnknownFields()
                } catch let error as OpError {
                    throw OpError.bad("jobs[\(index)]: \(error.message)")
                }
                if items.count > config.maxBatch { throw OpError.bad("a batch holds at most \(config.maxBatch) jobs") }
            }
        } catch let error as OpError {
            throw error
        } catch {
            throw OpError(.internal, "\(error)")
        }
        guard !items.isEmpty else { throw OpError.bad("field 'jobs' must hold at least one job") }
        return items
    }

    /// Validates one job's fields. The payload is spliced into RQ's data form and compressed here,
    /// while the request's bytes are still at hand.
    func decodeJob(_ r: inout Request, defaultQueue: String?) throws(OpError) -> NewJob {
        guard let queue = try r.string("queue") ?? defaultQueue else { throw OpError.bad("missing field 'queue'") }
        try Gateway.checkQueue(queue, field: "field 'queue'")
        guard let function = try r.spanIfPresent("func", .string) else {
            throw OpError.bad("missing field 'func' (the function to call, e.g. \"app.tasks.resize\")")
        }
        guard function.end - function.start > 2 else {
            throw OpError.bad("field 'func' must be a non-empty string (the function to call, e.g. \"app.tasks.resize\")")
        }
        let args = try r.raw("args", .array)
        let kwargs = try r.raw("kwargs", .object)
        let given = try r.string("id")
        if let given, !Names.isValidJobID(given) {
            throw OpError.bad("field 'id' must be \(Names.jobIDRule)")
        }
        let data = JobData.encode(function: function.bytes(in: r.line), args: args, kwargs: kwargs, zlib: zlib)
        var job = NewJob(id: given ?? ids.jobID(), queue: queue, data: data)
        job.fresh = given == nil
        job.description = try r.string("description")
        if let d = job.description, d.utf8.count > Gateway.maxDescription {
            throw OpError.bad("field 'description' is longer than \(Gateway.maxDescription) bytes")
        }
        job.timeout = try r.integer("timeout", in: -1...Gateway.maxInteger)
        if job.timeout == 0 { throw OpError.bad("field 'timeout' must be -1 (no limit) or at least 1") }
        job.resultTTL = try r.integer("result_ttl", in: -1...Gateway.maxInteger)
        job.failureTTL = try r.integer("failure_ttl", in: -1...Gateway.maxInteger)
        job.ttl = try r.integer("ttl", in: 1...Gateway.maxInteger)
        if let meta = try r.raw("meta", .object) { job.meta = Array(meta) }
        job.retries = try r.integer("retries", in: 0...Gateway.maxRetries)
        job.retryIntervals = try retryIntervals(&r)
        job.atFront = try r.bool("at_front") ?? false
        job.delay = try r.number("delay", in: 0...Gateway.maxDelaySeconds)
        if let at = try r.spanIfPresent("at", .number, .string) {
            guard job.delay == nil else { throw OpError.bad("give 'delay' or 'at', not both") }
            job.runAt = try Gateway.absoluteTime(at, in: r.line, field: "at")
        }
        job.dependsOn = try dependsOn(&r)
        job.rateLimit = try rateLimit(&r)
        if job.dependsOn != nil && (job.delay != nil || job.runAt != nil) {
            throw OpError.bad("depends_on cannot be combined with delay or at")
        }
        return job
    }

    /// `rate_limit: {"key": K, "concurrency": N}`, RQ 3.0's names and rules (a non-empty key, at
    /// least 1).
    private func rateLimit(_ r: inout Request) throws(OpError) -> (key: String, concurrency: Int)? {
        guard let span = try r.spanIfPresent("rate_limit", .object) else { return nil }
        var limit = try Request(object: span, in: r.line)
        do {
            guard let key = try limit.string("key"), (1...Gateway.maxRateLimitKey).contains(key.utf8.count) else {
                throw OpError.bad("'key' must be a string of 1-\(Gateway.maxRateLimitKey) bytes")
            }
            guard let concurrency = try limit.integer("concurrency", in: 1...Gateway.maxInteger) else {
                throw OpError.bad("missing field 'concurrency'")
            }
            try limit.rejectUnknownFields()
            return (key, concurrency)
        } catch let error as OpError {
            throw OpError.bad("field 'rate_limit' must be {\"key\": K, \"concurrency\": N}: \(error.message)")
        } catch {
            throw OpError(.internal, "\(error)")
        }
    }

    /// Parent job ids as the JSON list RQ stores in `dependency_ids`.
    private func dependsOn(_ r: inout Request) throws(OpError) -> String? {
        guard let span = try r.spanIfPresent("depends_on", .array, .string) else { return nil }
        var parents: [String] = []
        let message = "field 'depends_on' must be a job id or a list of 1-\(Gateway.maxDependencies) job ids"
        if span.kind == .string {
            parents = [span.string(in: r.line)]
        } else {
            let line = r.line
            do {
                try JSONScanner.elements(of: span, in: line) { v in
                    guard v.kind == .string else { throw OpError.bad(message) }
                    parents.append(v.string(in: line))
                }
            } catch {
                throw OpError.bad(message)
            }
        }
        guard (1...Gateway.maxDependencies).contains(parents.count), parents.allSatisfy(Names.isValidJobID) else { throw OpError.bad(message) }
        var w = JSONWriter()
        w.raw("[")
        for (i, p) in parents.enumerated() {
            if i > 0 { w.raw(",") }
            w.string(p)
        }
        w.raw("]")
        return String(decoding: w.bytes, as: UTF8.self)
    }

    /// RQ stores intervals as a JSON list of whole seconds; a single number means `[n]`.
    private func retryIntervals(_ r: inout Request) throws(OpError) -> String? {
        guard let span = try r.spanIfPresent("retry_intervals", .array, .number) else { return nil }
        var seconds: [Int] = []
        let message = "field 'retry_intervals' must be a number of seconds or a list of them (whole, 0 or more)"
        func check(_ v: JSONSpan) throws(OpError) {
            guard v.kind == .number else { throw OpError.bad(message) }
            let d = v.double(in: r.line)
            guard d >= 0, d <= Double(Gateway.maxInteger), d == d.rounded() else { throw OpError.bad(message) }
            seconds.append(Int(d))
        }
        if span.kind == .number {
            try check(span)
        } else {
            do {
                try JSONScanner.elements(of: span, in: r.line) { v in try check(v) }
            } catch let error as OpError {
                throw error
            } catch {
                throw OpError.bad(message)
            }
            guard seconds.count <= Gateway.maxRetryIntervals else {
                throw OpError.bad("field 'retry_intervals' holds at most \(Gateway.maxRetryIntervals) entries")
            }
        }
        return "[" + seconds.map(String.init).joined(separator: ",") + "]"
    }

    /// Unix seconds from a number or an RFC 3339 string.
    static func absoluteTime(_ span: JSONSpan, in line: UnsafeRawBufferPointer, field: String) throws(OpError) -> Double {
        if span.kind == .number {
            let v = span.double(in: line)
            guard v.isFinite, v >= 0, v <= Gateway.maxRunAt else {
                throw OpError.bad("field '\(field)' must be Unix seconds between 0 and \(Int(Gateway.maxRunAt))")
            }
            return v
        }
        guard let t = RFC3339.parse(span.string(in: line)) else {
            throw OpError.bad("field '\(field)' must be Unix seconds or an RFC 3339 time like 2026-11-22T09:30:00Z")
        }
        return t
    }
}
