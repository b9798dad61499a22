@preconcurrency import CLibUV

/// A libuv timer that calls a closure. Stopped and freed when the owner drops it.
public final class LoopTimer {
    private let handle: UnsafeMutablePointer<uv_timer_t>
    private let fire: () -> Void

    public init(_ loop: EventLoop, fire: @escaping () -> Void) {
        handle = allocateHandle(uv_timer_t.self)
        uv_timer_init(loop.uv, handle)
        self.fire = fire
        setOwner(handle, self)
    }

    deinit { closeAndFree(handle) }

    public func start(afterMs: UInt64, repeatMs: UInt64 = 0) {
        uv_timer_start(handle, { h in owner(h!.pointee.data, as: LoopTimer.self)?.fire() }, afterMs, repeatMs)
    }

    public func stop() { uv_timer_stop(handle) }

    /// A timer that does not keep the loop alive on its own (periodic housekeeping).
    public func unref() { JobgateServer.unref(handle) }
}

/// Delivers a POSIX signal on the loop thread.
public final class SignalWatcher {
    private let handle: UnsafeMutablePointer<uv_signal_t>
    private let fire: () -> Void

    public init(_ loop: EventLoop, signal: Int32, fire: @escaping () -> Void) {
        handle = allocateHandle(uv_signal_t.self)
        uv_signal_init(loop.uv, handle)
        self.fire = fire
        setOwner(handle, self)
        uv_signal_start(handle, { h, _ in owner(h!.pointee.data, as: SignalWatcher.self)?.fire() }, signal)
        JobgateServer.unref(handle)
    }

    deinit { closeAndFree(handle) }
}
