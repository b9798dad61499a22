/// Fields many ops share, checked the same way everywhere: they end up inside Redis keys.
extension Gateway {
    func jobID(_ r: inout Request) throws(OpError) -> String {
        guard let id = try optionalJobID(&r) else { throw OpError.bad("missing field 'id' (the job's id)") }
        return id
    }

    func optionalJobID(_ r: inout Request) throws(OpError) -> String? {
        guard let id = try r.string("id") else { return nil }
        guard Names.isValidJobID(id) else { throw OpError.bad("field 'id' must be \(Names.jobIDRule)") }
        return id
    }

    func queueName(_ r: inout Request) throws(OpError) -> String {
        let q = try r.requiredString("queue")
        try Gateway.checkQueue(q, field: "field 'queue'")
        return q
    }

    static func checkQueue(_ q: String, field: String) throws(OpError) {
        guard Names.isValidQueue(q) else { throw OpError.bad("\(field) must be \(Names.queueRule)") }
    }
}

/// The job and lease token that `heartbeat`, `ack`, `fail` and `release` name. A lease belongs
/// to its token, never to a connection, so any connection may settle it.
struct LeaseRef {
    let id: String
    let token: String

    init(_ r: inout Request, _ g: Gateway) throws(OpError) {
        id = try g.jobID(&r)
        guard let token = try r.string("lease") else {
            throw OpError.bad("missing field 'lease' (the lease token from the lease reply)")
        }
        guard Names.isValidJobID(token) else { throw OpError.bad("field 'lease' must be the lease token from the lease reply") }
        self.token = token
    }

    /// For the ops that settle exactly one job (all but `ack`).
    static func one(_ r: inout Request, _ g: Gateway) throws(OpError) -> LeaseRef {
        if r.has("jobs") {
            throw OpError.bad("'\(r.op ?? "")' takes one job (its 'id' and 'lease'); only 'ack' and 'enqueue' take a 'jobs' list")
        }
        return try LeaseRef(&r, g)
    }
}

/// Ops whose request is a job `id` and nothing else.
protocol TakesJobID: OpHandler where Params == String {}

extension TakesJobID {
    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> String { try r.only { (r: inout Request) throws(OpError) in try g.jobID(&r) } }
}

/// Ops whose request is a `queue` and nothing else.
protocol TakesQueue: OpHandler where Params == String {}

extension TakesQueue {
    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> String { try r.only { (r: inout Request) throws(OpError) in try g.queueName(&r) } }
}

extension Request {
    /// The one field `read` takes; any other field is refused.
    mutating func only(_ read: (inout Request) throws(OpError) -> String) throws(OpError) -> String {
        let value = try read(&self)
        try rejectUnknownFields()
        return value
    }
}
