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
