/// The ops gathered during one turn of the event loop, sent to Redis as one `dispatch.lua` call.
///
/// A busy gateway reads requests from many clients in one turn; sending several as one script
/// call costs Redis one round trip, one script setup and one AOF transaction instead of one per
/// op, and costs the gateway one write and one read on the Redis socket. A quiet gateway sends
/// each op alone, with no added wait: a batch leaves when it is full or the turn ends, never
/// on a timer.
struct ScriptBatch {
    typealias Handler = (Result<RedisReply, OpError>) -> Void

    /// A batch leaves once it holds this many ops, without waiting for the end of the turn:
    /// Redis starts on it while the gateway reads the turn's other requests, so the two
    /// overlap instead of taking turns. (Measured with bench/run's 16 clients: 4 gives about
    /// 15% more jobs/s than one batch per turn; 2 pays Redis's per-call cost too often.)
    static let sendAt = 4
    /// Nor does a batch grow past this many bytes of arguments: Redis serves no one else while
    /// a script runs.
    static let maxBytes = 1 << 20

    private(set) var args = RESPArgs()
    private(set) var handlers: [Handler] = []
    /// What its ops do, joined (see `Script.Access.joined`); nil while it is empty.
    private(set) var access: Script.Access?
    var writes: Bool { access.map { $0 != .reads } ?? false }

    var isEmpty: Bool { handlers.isEmpty }
    var isFull: Bool { handlers.count >= ScriptBatch.sendAt || args.bytes.count >= ScriptBatch.maxBytes }

    mutating func add(_ script: Script, argCount: Int, build: (inout RESPArgs) -> Void,
                      done: @escaping Handler) {
        args.arg(script.name)
        args.arg(argCount)
        let before = args.count
        args.opStart = before
        build(&args)
        precondition(args.count - before == argCount, "\(script.name) built \(args.count - before) arguments, declared \(argCount)")
        handlers.append(done)
        if let current = access {
            guard let joined = current.joined(script.access) else { preconditionFailure("\(script.name) cannot join this batch") }
            access = joined
        } else {
            access = script.access
        }
    }

    /// The batch so far; this one starts empty again.
    mutating func take() -> ScriptBatch {
        defer { self = ScriptBatch() }
        return self
    }

    func fail(_ error: OpError) {
        for h in handlers { h(.failure(error)) }
    }

    /// Hands each op its element of the script's reply (one per op, in order), or everyone the
    /// error when the call as a whole failed.
    func deliver(_ result: Result<RedisReply, OpError>) {
        switch result {
        case .failure(let error):
            fail(error)
        case .success(let replies):
            guard replies.isArray, replies.count == handlers.count else {
                return fail(OpError(.internal, "Redis answered a batch of \(handlers.count) ops with \(replies.count) replies"))
            }
            for (i, handler) in handlers.enumerated() {
                let reply = replies[i]
                handler(reply.isError ? .failure(RedisStore.opError(reply.string)) : .success(reply))
            }
        }
    }
}
