/// The ops that run inside Redis, one Lua file each under `lua/`, embedded in the binary at
/// build time. Redis gets them as one script: the shared prelude, every op wrapped as a
/// function, then `dispatch.lua`, which runs a batch of ops in one call (see `ScriptBatch`).
/// Each op file is also a whole script on its own (prelude + op), as the benchmark runs it.
public enum Script: Int, CaseIterable, Sendable {
    case enqueue = 1, lease, heartbeat, ack, fail, release, sweep, job, stats
    case cancel, delete, failed, requeue, pause, await

    var body: [UInt8] {
        switch self {
        case .enqueue: PackageResources.enqueue_lua
        case .lease: PackageResources.lease_lua
        case .heartbeat: PackageResources.heartbeat_lua
        case .ack: PackageResources.ack_lua
        case .fail: PackageResources.fail_lua
        case .release: PackageResources.release_lua
        case .sweep: PackageResources.sweep_lua
        case .job: PackageResources.job_lua
        case .stats: PackageResources.stats_lua
        case .cancel: PackageResources.cancel_lua
        case .delete: PackageResources.delete_lua
        case .failed: PackageResources.failed_lua
        case .requeue: PackageResources.requeue_lua
        case .pause: PackageResources.pause_lua
        case .await: PackageResources.await_lua
        }
    }

    /// Whether the op changes Redis (and so must be replicated before it is acknowledged when
    /// jobgate waits for replicas).
    var writes: Bool {
        switch self {
        case .job, .stats, .failed: false
        default: true
        }
    }

    /// The one script Redis loads: prelude, `run_op(n, ARGV)`, which runs op n's file as a
    /// function, then the dispatcher. Each op's function is made only when that op runs: a
    /// table of all fifteen would be rebuilt on every call, ~4 µs of Redis time.
    public static let source: [UInt8] = {
        var text = PackageResources.prelude_lua + Array("\nlocal function run_op(op, ARGV)\n".utf8)
        for op in Script.allCases {
            text += Array("\(op == .enqueue ? "if" : "elseif") op == \(op.rawValue) then return (function(ARGV)\n".utf8)
            text += op.body + Array("\nend)(ARGV)\n".utf8)
        }
        text += Array("end\nreturn redis.error_reply('ERR no op ' .. tostring(op))\nend\n".utf8)
        return text + PackageResources.dispatch_lua
    }()
}
