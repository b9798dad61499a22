/// Which protocol ops the console may run, and how an HTTP request becomes one request line.
enum ConsoleOps {
    static let read: Set<String> = ["ping", "stats", "job", "jobs", "failed", "result"]
    static let actions: Set<String> = ["requeue", "cancel", "delete", "stop", "pause", "resume", "empty", "forget"]
    /// Query parameters sent as JSON numbers when they look like one; everything else is a string.
    private static let numericFields: Set<String> = ["offset", "limit", "wait"]

    static func allowed(readOnly: Bool) -> Set<String> { readOnly ? read : read.union(actions) }

    /// `GET /api/jobs?queue=q&limit=50` as `{"op":"jobs","queue":"q","limit":50}`. The gateway
    /// checks the fields, with the same errors as on a socket.
    static func line(op: String, query: [(name: String, value: String)]) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"op\":")
        w.string(op)
        for (name, value) in query {
            w.raw(",")
            w.string(name)
            w.raw(":")
            if numericFields.contains(name), let n = Int(value) { w.int(n) } else { w.string(value) }
        }
        w.raw("}")
        return w.bytes
    }

    /// The `op` of a request line, as the gateway will read it (nil if it has none it could run).
    static func op(of line: [UInt8]) -> String? {
        line.withUnsafeBytes { bytes in (try? Request(line: bytes))?.op }
    }
}
