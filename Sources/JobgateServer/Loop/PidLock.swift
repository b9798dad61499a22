@preconcurrency import Glibc

/// An exclusive `flock` on a file, held while this object lives (the kernel lets go when the
/// process dies, so a lock file left behind is never stale), with the holder's pid written in
/// it for the message of whoever finds it taken.
public final class PidLock {
    public enum Failure: Error {
        case cannotOpen(String)
        /// Another process holds it: its pid, when the file says.
        case held(by: Int32?)
    }

    private let fd: Int32

    public init(path: String) throws(Failure) {
        // O_CLOEXEC: a child (the private redis-server) must not inherit the lock and outlive us with it.
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .cannotOpen(String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var text = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &text, text.count, 0)
            Glibc.close(fd)
            let digits = text.prefix(max(n, 0)).prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
            throw .held(by: Int32(String(decoding: digits, as: UTF8.self)))
        }
        let pid = Array("\(getpid())\n".utf8)
        ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit { Glibc.close(fd) }
}
