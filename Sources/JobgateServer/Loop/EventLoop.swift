@preconcurrency import CLibUV
@preconcurrency import Glibc

/// The one libuv loop a gateway runs on. Everything in the server lives on this thread, so no
/// state here needs locks or `Sendable`.
public final class EventLoop {
    public let uv: UnsafeMutablePointer<uv_loop_t>
    private let turnHandle: UnsafeMutablePointer<uv_check_t>
    private var turnHooks: [() -> Void] = []
    private let sleepHandle: UnsafeMutablePointer<uv_prepare_t>
    private var sleepHooks: [() -> Void] = []

    public init() {
        uv = uv_default_loop()
        turnHandle = allocateHandle(uv_check_t.self)
        uv_check_init(uv, turnHandle)
        sleepHandle = allocateHandle(uv_prepare_t.self)
        uv_prepare_init(uv, sleepHandle)
        turnHandle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        sleepHandle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
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
                let loop = Unmanaged<EventLoop>.fromOpaque(h!.pointee.data).takeUnretainedValue()
                for hook in loop.turnHooks { hook() }
            }
            uv_unref(UnsafeMutableRawPointer(turnHandle).assumingMemoryBound(to: uv_handle_t.self))
        }
    }

    /// Runs `hook` each time before the loop waits for I/O: the last chance for work queued
    /// after the turn's hooks (by timers, close callbacks) to leave before the loop sleeps.
    public func beforeSleeping(_ hook: @escaping () -> Void) {
        sleepHooks.append(hook)
        if sleepHooks.count == 1 {
            uv_prepare_start(sleepHandle) { h in
                let loop = Unmanaged<EventLoop>.fromOpaque(h!.pointee.data).takeUnretainedValue()
                for hook in loop.sleepHooks { hook() }
            }
            uv_unref(UnsafeMutableRawPointer(sleepHandle).assumingMemoryBound(to: uv_handle_t.self))
        }
    }

    public func run() { uv_run(uv, UV_RUN_DEFAULT) }

    /// Milliseconds of the loop's monotonic clock, for timeouts only (never for job times).
    public var nowMs: UInt64 { uv_now(uv) }
}

func allocateHandle<T>(_: T.Type) -> UnsafeMutablePointer<T> {
    let p = UnsafeMutablePointer<T>.allocate(capacity: 1)
    UnsafeMutableRawPointer(p).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<T>.size)
    return p
}

/// Closes a libuv handle and frees its memory once libuv is done with it.
func closeAndFree<T>(_ handle: UnsafeMutablePointer<T>) {
    let h = UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)
    h.pointee.data = nil
    if uv_is_closing(h) != 0 { return }
    uv_close(h) { closed in UnsafeMutableRawPointer(closed!).deallocate() }
}

func uvErrorName(_ code: Int32) -> String { String(cString: uv_strerror(code)) }
