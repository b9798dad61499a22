/// RQ's commands to a worker (`send_stop_job_command`, `send_stop_execution_command`,
/// `send_shutdown_command`), published on `rq:pubsub:<worker>`: every gateway hears them and
/// applies them to the jobgate worker of that name. Each action is atomic and idempotent, so all
/// gateways acting on the same message is harmless. Commands for RQ's own workers (whose worker
/// hash is not jobgate's) are left to them.
extension Gateway {
    func workerCommand(_ worker: String, _ payload: RedisReply) {
        guard !worker.isEmpty, let command = WorkerCommand(payload) else { return }
        switch command.name {
        case "stop-job", "stop-execution":
            guard let id = command.jobID else { return }
            Stop.stop(id: id, lease: command.executionID ?? "", worker: worker,
                      reason: "stopped by RQ's \(command.name) command", self) { result in
                if case .success = result { Log.info("job stopped by an RQ command", ["id": id, "worker": worker]) }
            }
        case "shutdown":
            ShutdownRequest.mark(worker, self)
        default:
            break  // kill-horse: there is no work-horse to kill; the lease expires as usual
        }
    }
}

/// The JSON RQ publishes: `{"command": "stop-job", "job_id": "..."}` and the like.
struct WorkerCommand {
    let name: String
    let jobID: String?
    let executionID: String?

    init?(_ payload: RedisReply) {
        var fields: [String: String] = [:]
        let bytes = payload.bytes
        guard let object = try? JSONScanner.validate(bytes), object.kind == .object else { return nil }
        try? JSONScanner.members(of: object, in: bytes) { key, value in
            if value.kind == .string { fields[key.string(in: bytes)] = value.string(in: bytes) }
        }
        guard let name = fields["command"] else { return nil }
        self.name = name
        jobID = fields["job_id"].flatMap { Names.isValidJobID($0) ? $0 : nil }
        executionID = fields["execution_id"].flatMap { Names.isValidJobID($0) ? $0 : nil }
    }
}

/// RQ's shutdown command for a jobgate worker: remembered for a day in `jobgate:shutdown:<worker>`
/// and told to that worker by its next heartbeat (`"shutdown":true`) and its next lease (no job,
/// `"shutdown":true`, which uses the command up).
enum ShutdownRequest {
    enum Argument: Int, ScriptNames { case worker }

    static let script = Script("shutdown", PackageResources.shutdown_lua, arguments: Argument.names, writes: true)

    static func mark(_ worker: String, _ g: Gateway) {
        g.store.run(script, argCount: 1) { args in args.put(Argument.worker, worker) } done: { result in
            if case .success(let marked) = result, marked.integer == 1 { Log.info("RQ asked a worker to shut down", ["worker": worker]) }
        }
    }
}
