/// The job hash (RQ's fields) and its newest result entry, read for the `job` reply.
struct JobView {
    private var fields: [String: [UInt8]] = [:]
    private var result: [String: [UInt8]] = [:]
    private let data: JobData?
    private let errorText: [UInt8]?

    /// A row of job.lua, await.lua or jobs.lua, whose layouts share R.hash and R.result.
    init<Row: ScriptNames>(row: RedisReply, hash: Row, result latest: Row, zlib: Zlib) {
        self.init(hash: row[hash], latestResult: row[latest], zlib: zlib)
    }

    init(hash: RedisReply, latestResult: RedisReply, zlib: Zlib) {
        for i in stride(from: 0, to: hash.count - 1, by: 2) { fields[hash[i].string] = Array(hash[i + 1].bytes) }
        for i in stride(from: 0, to: latestResult.count - 1, by: 2) {
            result[latestResult[i].string] = Array(latestResult[i + 1].bytes)
        }
        data = fields["data"].flatMap { d in d.withUnsafeBytes { JobData.decode($0, zlib: zlib) } }
        // A failure's text: the newest failed result's exc_string, else the job's exc_info (set by
        // every failed attempt, so a job waiting for its retry still shows why).
        var text: [UInt8]? = nil
        if result["type"] == Array("2".utf8), let b64 = result["exc_string"],
           let z = b64.withUnsafeBytes({ Base64.decode($0) }) {
            text = z.withUnsafeBytes { zlib.decompress($0) }
        }
        if text == nil, let info = fields["exc_info"], !info.isEmpty {
            text = info.withUnsafeBytes { zlib.decompress($0) }
        }
        errorText = text.flatMap { $0.isEmpty ? nil : $0 }
    }

    func write(id: String, _ w: inout JSONWriter) {
        w.raw("{\"id\":"); w.string(id)
        w.key("queue"); writeString("origin", &w)
        w.key("state"); writeString("status", &w)
        if let data {
            w.key("func"); data.write(data.function, to: &w)
            w.key("args"); data.write(data.args, to: &w)
            w.key("kwargs"); data.write(data.kwargs, to: &w)
        } else {
            w.key("func"); w.raw("null")
        }
        w.key("meta"); writeJSON("meta", &w)
        w.key("description"); writeString("description", &w)
        for (key, field) in JobView.times {
            w.key(key); writeString(field, &w)
        }
        w.key("attempts"); writeInt("jobgate_attempts", default: 0, &w)
        w.key("retries_left"); writeInt("retries_left", default: 0, &w)
        w.key("timeout"); writeInt("timeout", default: nil, &w)
        w.key("result_ttl"); writeInt("result_ttl", default: nil, &w)
        w.key("failure_ttl"); writeInt("failure_ttl", default: nil, &w)
        w.key("worker"); writeString("worker_name", &w)
        w.key("result")
        if result["type"] == Array("1".utf8), let b64 = result["return_value"],
           let json = b64.withUnsafeBytes({ Base64.decode($0) }),
           json.withUnsafeBytes({ (try? JSONScanner.validate($0)) != nil }) {
            w.raw(json)
        } else {
            w.raw("null")
        }
        w.key("error")
        if let errorText { w.string(errorText) } else { w.raw("null") }
        w.raw("}")
    }

    private static let times: [(StaticString, String)] = [
        ("created_at", "created_at"), ("enqueued_at", "enqueued_at"), ("started_at", "started_at"),
        ("ended_at", "ended_at"), ("last_heartbeat", "last_heartbeat"),
    ]

    /// Text fields; RQ writes '' for "unset", reported as null.
    private func writeString(_ field: String, _ w: inout JSONWriter) {
        if let v = fields[field], !v.isEmpty { w.string(v) } else { w.raw("null") }
    }

    private func writeInt(_ field: String, default fallback: Int?, _ w: inout JSONWriter) {
        if let v = fields[field], let n = Int(String(decoding: v, as: UTF8.self)) {
            w.int(n)
        } else if let fallback {
            w.int(fallback)
        } else {
            w.raw("null")
        }
    }

    private func writeJSON(_ field: String, _ w: inout JSONWriter) {
        if let v = fields[field], v.withUnsafeBytes({ (try? JSONScanner.validate($0)) != nil }) {
            w.raw(v)
        } else {
            w.raw("null")
        }
    }
}
