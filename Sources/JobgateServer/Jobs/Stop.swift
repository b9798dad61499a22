/// `stop`: a started job is stopped. Held by a jobgate lease, it ends at once as `stopped` (in the
/// failed registry, not retried; `requeue` runs it again) and its holder learns at its next
/// heartbeat, ack, fail or release, which answer STOPPED. Run by an RQ worker, that worker is sent
/// RQ's stop-job command. RQ's own stop commands for a jobgate worker arrive through `RQCommands`.
/// `{"op":"stop","id":ID}` -> `{"ok":true,"state":"stopped"|"stopping"}`, or WRONG_STATE
enum Stop: TakesJobID {
    enum Argument: Int, ScriptNames { case id, lease, worker, exc_info, exc_string }

    static let script = Script("stop", PackageResources.stop_lua, arguments: Argument.names, writes: true)
    static var scripts: [Script] { [script] }

    static func run(_ id: String, _ g: Gateway, _ reply: ReplyTicket) {
        stop(id: id, lease: "", worker: "", reason: "stopped by the stop op", g) { result in
            reply.answer(result) { state, w in w.key("state"); w.string(state.string) }
        }
    }

    static func stop(id: String, lease: String, worker: String, reason: String, _ g: Gateway,
                     _ done: @escaping (Result<RedisReply, OpError>) -> Void) {
        let text = g.zlib.compress(Array(reason.utf8))
        g.store.run(script, argCount: Argument.allCases.count) { args in
            args.put(Argument.id, id)
            args.put(Argument.lease, lease)
            args.put(Argument.worker, worker)
            args.put(Argument.exc_info, text)
            args.put(Argument.exc_string, Base64.encode(text))
        } done: { result in done(result) }
    }
}
