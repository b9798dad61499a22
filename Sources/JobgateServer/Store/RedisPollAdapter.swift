@preconcurrency import CHiredis
@preconcurrency import CLibUV

/// Connects a hiredis async context to the libuv loop.
///
/// Written here rather than using Debian's `hiredis/adapters/libuv.h`, which returns early when
/// libuv reports a socket error: hiredis then never learns of the error, no callback fires and
/// queued commands wait forever. This adapter hands error events on to hiredis as reads/writes.
final class RedisPollAdapter {
    private var context: UnsafeMutablePointer<redisAsyncContext>?
    private let poll: UnsafeMutablePointer<uv_poll_t>
    /// What hiredis wants to hear about, and what the poll handle listens for.
    private var events: Int32 = 0
    private var applied: Int32 = 0
    private var holding = false

    private init(loop: EventLoop, context: UnsafeMutablePointer<redisAsyncContext>) {
        self.context = context
        poll = allocateHandle(uv_poll_t.self)
        uv_poll_init(loop.uv, poll, context.pointee.c.fd)
        poll.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    static func attach(loop: EventLoop, context: UnsafeMutablePointer<redisAsyncContext>) {
        let adapter = RedisPollAdapter(loop: loop, context: context)
        // hiredis owns the adapter from here until it calls `cleanup`.
        context.pointee.ev.data = Unmanaged.passRetained(adapter).toOpaque()
        context.pointee.ev.addRead = { p in owner(p).change(add: readable) }
        context.pointee.ev.delRead = { p in owner(p).change(remove: readable) }
        context.pointee.ev.addWrite = { p in owner(p).change(add: writable) }
        context.pointee.ev.delWrite = { p in owner(p).change(remove: writable) }
        context.pointee.ev.cleanup = { p in
            let a = Unmanaged<RedisPollAdapter>.fromOpaque(p!).takeRetainedValue()
            a.context = nil
            uv_poll_stop(a.poll)
            closeAndFree(a.poll)
        }
    }

    /// The adapter of a connected context (nil once hiredis has cleaned it up).
    static func of(_ context: UnsafeMutablePointer<redisAsyncContext>) -> RedisPollAdapter? {
        context.pointee.ev.data.map { Unmanaged<RedisPollAdapter>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Holds interest changes back until `applyHeldChanges`. Sending a command asks for
    /// writability and, once it is written whole, drops it again: applied one by one, that
    /// costs libuv an epoll_ctl DEL and ADD per command; held, the two cancel out.
    func holdChanges() { holding = true }

    func applyHeldChanges() {
        holding = false
        apply()
    }

    private func change(add: Int32 = 0, remove: Int32 = 0) {
        events = (events | add) & ~remove
        if !holding { apply() }
    }

    private func apply() {
        guard context != nil, events != applied else { return }
        applied = events
        if events == 0 {
            uv_poll_stop(poll)
            return
        }
        uv_poll_start(poll, events) { handle, status, ready in
            guard let data = handle!.pointee.data else { return }
            let a = Unmanaged<RedisPollAdapter>.fromOpaque(data).takeUnretainedValue()
            withExtendedLifetime(a) {
                let ev = status < 0 ? a.events : ready
                if ev & readable != 0, let ctx = a.context { redisAsyncHandleRead(ctx) }
                // The read may have freed the context (cleanup sets it to nil).
                if ev & writable != 0, let ctx = a.context { redisAsyncHandleWrite(ctx) }
            }
        }
    }
}

private let readable = Int32(bitPattern: UV_READABLE.rawValue)
private let writable = Int32(bitPattern: UV_WRITABLE.rawValue)

private func owner(_ p: UnsafeMutableRawPointer?) -> RedisPollAdapter {
    Unmanaged<RedisPollAdapter>.fromOpaque(p!).takeUnretainedValue()
}
