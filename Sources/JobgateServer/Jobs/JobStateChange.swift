/// The arguments of every script that takes one job id.
enum JobArgument: Int, ScriptNames { case id }

/// Ops that name one job and answer with its new state (`cancel`, `delete`): each is its script
/// and a line of doc.
protocol JobStateChange: TakesJobID {
    static var script: Script { get }
}

extension JobStateChange {
    static var scripts: [Script] { [script] }

    static func run(_ id: String, _ g: Gateway, _ reply: ReplyTicket) {
        g.store.run(script, argCount: 1) { args in
            args.put(JobArgument.id, id)
        } done: { result in
            reply.answer(result) { state, w in w.key("state"); w.string(state.string) }
        }
    }
}
