import ArgumentParser
@preconcurrency import Glibc

/// An exclusive lock on a data directory, held for the gateway's life, so that a second
/// gateway started on the same directory stops at once instead of taking over the first one's
/// redis-server. The lock file holds the owner's pid for the message.
final class DataDirLock {
    private let fd: Int32

    init(dataDir: String) throws {
        let path = dataDir + "/jobgate.lock"
        // O_CLOEXEC: the redis-server child must not inherit the lock and outlive us with it.
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StartupError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let owner = readWholeFile(path).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            close(fd)
            throw StartupError("data directory \(dataDir) is in use by jobgate pid \(owner.map(String.init) ?? "unknown"); give each gateway its own --data-dir")
        }
        let pid = "\(getpid())\n"
        ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit { close(fd) }
}

/// A start that failed for a reason other than the command line (printed without the usage).
struct StartupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
