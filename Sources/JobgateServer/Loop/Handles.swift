@preconcurrency import CLibUV

// Every libuv handle and request this gateway makes is allocated zeroed, points back at the
// Swift object that owns it (unretained: the owner outlives it or clears the pointer), and is
// freed once libuv is done with it. These helpers are the only place that spells the casts.

func allocateHandle<T>(_: T.Type) -> UnsafeMutablePointer<T> {
    let p = UnsafeMutablePointer<T>.allocate(capacity: 1)
    UnsafeMutableRawPointer(p).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<T>.size)
    return p
}

/// The common head of every handle type (`uv_tcp_t`, `uv_timer_t`, ...).
func uvHandle<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_handle_t> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: uv_handle_t.self)
}

/// The stream view of a TCP or pipe handle.
func uvStream<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_stream_t> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: uv_stream_t.self)
}

/// Points a handle at its owner.
func setOwner<T>(_ p: UnsafeMutablePointer<T>, _ owner: AnyObject?) {
    uvHandle(p).pointee.data = owner.map { Unmanaged.passUnretained($0).toOpaque() }
}

/// The owner a handle or request was pointed at (nil once it was cleared).
func owner<O: AnyObject>(_ data: UnsafeMutableRawPointer?, as _: O.Type = O.self) -> O? {
    data.map { Unmanaged<O>.fromOpaque($0).takeUnretainedValue() }
}

/// Closes a libuv handle and frees its memory once libuv is done with it.
func closeAndFree<T>(_ handle: UnsafeMutablePointer<T>) {
    let h = uvHandle(handle)
    h.pointee.data = nil
    if uv_is_closing(h) != 0 { return }
    uv_close(h) { closed in UnsafeMutableRawPointer(closed!).deallocate() }
}

/// A handle that must not keep the loop running on its own (housekeeping timers, signals).
func unref<T>(_ handle: UnsafeMutablePointer<T>) { uv_unref(uvHandle(handle)) }

func uvErrorName(_ code: Int32) -> String { String(cString: uv_strerror(code)) }
