/// `unschedule`: removes a schedule; jobs it already enqueued stay.
/// `{"op":"unschedule","name":N}` -> `{"ok":true}`, or NOT_FOUND
enum Unschedule: OpHandler {
    enum Argument: Int, ScriptNames { case name }

    static let script = Script("unschedule", PackageResources.unschedule_lua, arguments: Argument.names, writes: true)
    static var scripts: [Script] { [script] }

    static func decode(_ r: inout Request, _ g: Gateway) throws(OpError) -> String {
        let name = try Schedule.scheduleName(&r)
        try r.rejectUnknownFields()
        return name
    }

    static func run(_ name: String, _ g: Gateway, _ reply: ReplyTicket) {
        g.store.run(script, argCount: Argument.allCases.count) { args in
            args.put(Argument.name, name)
        } done: { result in
            reply.answer(result) { _, _ in }
        }
    }
}
