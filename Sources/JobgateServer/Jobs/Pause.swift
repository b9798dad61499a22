/// `pause` and `resume`: leases take nothing from a paused queue (enqueues still land in it),
/// on every gateway; RQ's own workers do not know of it.
/// `{"op":"pause","queue":Q}` -> `{"ok":true,"queue":Q,"paused":true,"queued":N}`
enum Pause: TakesQueue {
    enum Argument: Int, ScriptNames { case queue, paused }

    static let script = Script("pause", PackageResources.pause_lua, arguments: Argument.names, writes: true)
    static var scripts: [Script] { [script] }

    static func run(_ queue: String, _ g: Gateway, _ reply: ReplyTicket) {
        set(queue, paused: true, g, reply)
    }

    static func set(_ queue: String, paused: Bool, _ g: Gateway, _ reply: ReplyTicket) {
        g.store.run(script, argCount: Argument.allCases.count) { args in
            args.put(Argument.queue, queue)
            args.put(Argument.paused, paused ? "1" : "0")
        } done: { result in
            reply.answer(result) { waiting, w in
                w.key("queue"); w.string(queue)
                w.key("paused"); w.bool(paused)
                w.key("queued"); w.int(waiting.integer)
            }
        }
    }
}

/// `{"op":"resume","queue":Q}` -> `{"ok":true,"queue":Q,"paused":false,"queued":N}`
enum Resume: TakesQueue {
    static var scripts: [Script] { [Pause.script] }

    static func run(_ queue: String, _ g: Gateway, _ reply: ReplyTicket) { Pause.set(queue, paused: false, g, reply) }
}
