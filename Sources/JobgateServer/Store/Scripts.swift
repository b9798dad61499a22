/// The Lua scripts under `lua/`, embedded in the binary at build time. Each is loaded with the
/// shared prelude in front of it.
public enum Script: CaseIterable, Sendable {
    case enqueue, lease, heartbeat, ack, fail, release, sweep, job, stats
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

    /// Whether the script changes Redis (and so must be replicated before it is acknowledged
    /// when jobgate waits for replicas).
    var writes: Bool {
        switch self {
        case .job, .stats, .failed: false
        default: true
        }
    }

    /// The text sent to Redis: prelude, then the script.
    public var source: [UInt8] { PackageResources.prelude_lua + [0x0A] + body }
}
