/// `job`: a job's state, fields, timestamps, attempts and its result or error.
/// `{"op":"job","id":ID}` -> `{"ok":true,"job":{...}}`, or NOT_FOUND
enum JobLookup: TakesJobID {
    enum Row: Int, ScriptNames { case hash, result }

    static let script = Script("job", PackageResources.job_lua, arguments: JobArgument.names, row: Row.names, writes: false)
    static var scripts: [Script] { [script] }

    static func run(_ id: String, _ g: Gateway, _ reply: ReplyTicket) {
        g.store.run(script, argCount: 1) { args in
            args.put(JobArgument.id, id)
        } done: { result in
            reply.answer(result) { found, w throws(OpError) in
                guard !found.isNil else { throw OpError(.notFound, "no job \(id)") }
                w.key("job")
                JobView(row: found, hash: Row.hash, result: Row.result, zlib: g.zlib).write(id: id, &w)
            }
        }
    }
}
