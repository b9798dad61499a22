/// `forget`: removes a queue that holds no jobs anywhere from `rq:queues`, with jobgate's pause
/// flag for it; WRONG_STATE names where jobs remain.
/// `{"op":"forget","queue":Q}` -> `{"ok":true}`
enum Forget: TakesQueue {
    enum Argument: Int, ScriptNames { case queue }

    static let script = Script("forget", PackageResources.forget_lua, arguments: Argument.names, writes: true)
    static var scripts: [Script] { [script] }

    static func run(_ queue: String, _ g: Gateway, _ reply: ReplyTicket) {
        g.store.run(script, argCount: Argument.allCases.count) { args in
            args.put(Argument.queue, queue)
        } done: { result in
            reply.answer(result) { _, _ in }
        }
    }
}
