/// `fail`: a leased job's attempt failed; it runs again while retries are left.
/// `{"op":"fail","id":ID,"lease":T,"error":TEXT,"retry":true}` ->
/// `{"ok":true,"state":"scheduled"|"queued"|"failed","retries_left":N,"retry_at":E}`
enum Fail: OpHandler {
    enum Argument: Int, ScriptNames { case id, lease, exc_info, exc_string, retry }
    enum Row: Int, ScriptNames { case state, retries_left, retry_at, queue }

    static let script = Script("fail", PackageResources.fail_lua, arguments: Argument.names, row: Row.names, writes: true)
    static var scripts: [Script] { [script] }

    struct Params {
        let lease: LeaseRef
        let errorText: ArraySlice<UInt8>
        let retry: Bool
    }

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> Params {
        let lease = try LeaseRef.one(&r, g)
        let text = Array((try r.string("error") ?? "").utf8)
        let retry = try r.bool("retry") ?? true
        try r.rejectUnknownFields()
        // The tail is kept: it names the error.
        return Params(lease: lease, errorText: text.suffix(g.config.maxErrorText), retry: retry)
    }

    static func run(_ p: Params, _ g: Gateway, _ reply: ReplyTicket) {
        settle(id: p.lease.id, token: p.lease.token, errorText: p.errorText, retry: p.retry, g) { result in
            reply.answer(result) { row, w in
                w.key("state"); w.string(row[Row.state])
                w.key("retries_left"); w.int(row[Row.retries_left].integer)
                if !row[Row.retry_at].isNil { w.key("retry_at"); w.int(row[Row.retry_at].integer) }
            }
        }
    }

    /// Fails the attempt held by (id, token) with `errorText`, stored as RQ stores a traceback.
    static func settle(id: String, token: String, errorText: ArraySlice<UInt8>, retry: Bool, _ g: Gateway,
                       _ done: @escaping (Result<RedisReply, OpError>) -> Void) {
        let compressed = errorText.withUnsafeBytes { g.zlib.compress($0) }
        g.store.run(script, argCount: Argument.allCases.count) { args in
            args.put(Argument.id, id)
            args.put(Argument.lease, token)
            args.put(Argument.exc_info, compressed)
            args.put(Argument.exc_string, Base64.encode(compressed))
            args.put(Argument.retry, retry ? "1" : "0")
        } done: { result in g.countFailedForGood(result); done(result) }
    }
}
