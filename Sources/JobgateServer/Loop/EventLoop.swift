@preconcurrency import CLibUV
@preconcurrency import Glibc

/// One libuv loop, owned: a gateway runs on one, and two `EventLoop`s never share a loop.
/// Everything in the server lives on its thread, so no state here needs locks or `Sendable`.
/// It also owns time (a monotonic clock for timeouts and latencies) and the process-wide
/// signal settings a network server needs.
public final class EventLoop {
    public let uv: UnsafeMutablePointer<uv_loop_t>
    private let turnHandle: UnsafeMutablePointer<uv_check_t>
    private var turnHooks: [() -> Void] = []
    private let sleepHandle: UnsafeMutablePointer<uv_prepare_t>
    private var sleepHooks: [() -> Void] = []

    public init() {
        uv = allocateHandle(uv_loop_t.self)
        uv_loop_init(uv)
        turnHandle = allocateHandle(uv_check_t.self)
        uv_check_init(uv, turnHandle)
        sleepHandle = allocateHandle(uv_prepare_t.self)
        uv_prepare_init(uv, sleepHandle)
        setOwner(turnHandle, self)
        setOwner(sleepHandle, self)
        // A peer that vanishes mid-write must give EPIPE, not kill the process.
        signal(SIGPIPE, SIG_IGN)
    }

    /// Runs `hook` once after each round of I/O callbacks: where buffered replies are flushed,
    /// so many replies produced in one turn leave in one write. `first` hooks run before the
    /// others.
    public func onEachTurn(first: Bool = false, _ hook: @escaping () -> Void) {
        if first { turnHooks.insert(hook, at: 0) } else { turnHooks.append(hook) }
        if turnHooks.count == 1 {
            uv_check_start(turnHandle) { h in
                guard let loop = owner(h!.pointee.data, as: EventLoop.self) else { return }
                for hook in loop.turnHooks { hook() }
            }
            unref(turnHandle)
        }
    }

    /// Runs `hook` each time before the loop waits for I/O: the last chance for work queued
    /// after the turn's hooks (by timers, close callbacks) to leave before the loop sleeps.
    public func beforeSleeping(_ hook: @escaping () -> Void) {
        sleepHooks.append(hook)
        if sleepHooks.count == 1 {
            uv_prepare_start(sleepHandle) { h in
                guard let loop = owner(h!.pointee.data, as: EventLoop.self) else { return }
                for hook in loop.sleepHooks { hook() }
            }
            unref(sleepHandle)
        }
    }

    public func run() { uv_run(uv, UV_RUN_DEFAULT) }

    /// Makes `run` return after this turn.
    public func stop() { uv_stop(uv) }

    /// Milliseconds of the loop's monotonic clock, cached per turn, for timeouts only (never
    /// for job times, which come from Redis's clock).
    public var nowMs: UInt64 { uv_now(uv) }

    /// Nanoseconds of the monotonic clock, read now: for measuring how long something took.
    public var preciseNs: UInt64 { uv_hrtime() }
}
