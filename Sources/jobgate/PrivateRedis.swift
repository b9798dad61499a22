import ArgumentParser
import JobgateServer
@preconcurrency import Glibc

/// The embedded default: a redis-server child on a Unix socket under the data directory, TCP
/// off, AOF fsynced every second. Restarted if it dies; stopped when the gateway stops.
final class PrivateRedis {
    let dataDir: String
    let socketPath: String
    private let binary: String
    private var pid: pid_t = 0
    private var stopping = false
    private var watchdog: LoopTimer?
    /// When the child last started, and when it is due to start again after exiting.
    private var startedMs: UInt64 = 0
    private var restartAtMs: UInt64?
    /// Grows while the child keeps dying young (a corrupt AOF, a full disk), so the log gets a
    /// few lines with the reason, not two a second.
    private var restartDelayMs: UInt64 = 0

    /// `create: false` only checks that it could run (for `serve --check`).
    init(dataDir: String, create: Bool = true) throws {
        guard let binary = PrivateRedis.findInPath("redis-server") else {
            throw ValidationError("""
                redis-server is not installed, and jobgate runs its own Redis when --redis is not given.
                Install it (Debian/Ubuntu: sudo apt-get install redis-server), or point jobgate at a running Redis with --redis redis://HOST:PORT/DB.
                """)
        }
        self.binary = binary
        if !create {
            self.dataDir = dataDir
            socketPath = dataDir + "/redis.sock"
            return
        }
        if mkdir(dataDir, 0o700) != 0 && errno != EEXIST {
            throw ValidationError("cannot create --data-dir \(dataDir): \(String(cString: strerror(errno)))")
        }
        guard let real = realpath(dataDir, nil) else {
            throw ValidationError("cannot resolve --data-dir \(dataDir): \(String(cString: strerror(errno)))")
        }
        self.dataDir = String(cString: real)
        free(real)
        socketPath = self.dataDir + "/redis.sock"
        guard socketPath.utf8.count < 100 else {
            throw ValidationError("--data-dir \(self.dataDir) is too long for a Unix socket path; choose a shorter one")
        }
    }

    func start() throws {
        stopLeftover()
        unlink(socketPath)  // a stale socket would look like a started child
        let args = [binary, "--port", "0", "--unixsocket", socketPath, "--unixsocketperm", "700",
                    "--dir", dataDir, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
                    // Each finished job keeps a small results stream; Redis 7.0 would preallocate
                    // 4 KiB for each (measured: 4.8 KB per finished job, 1.2 KB with 512).
                    "--stream-node-max-bytes", "512",
                    "--daemonize", "no", "--pidfile", dataDir + "/redis.pid", "--logfile", dataDir + "/redis.log"]
        pid = try spawn(args)
        Log.info("started private redis-server", ["pid": pid, "socket": socketPath])
        waitForSocket()
    }

    /// Gives the child a moment to open its socket, so the gateway's first connection finds it
    /// (and a normal start logs no failed attempt). A slow start is fine: the gateway retries.
    private func waitForSocket() {
        var st = stat()
        for _ in 0..<200 {
            if stat(socketPath, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK { return }
            usleep(10_000)
        }
    }

    /// Restarts the child if it exits while the gateway runs: at once after a long life, else
    /// after a wait that doubles up to 30 s.
    func supervise(on loop: EventLoop) {
        startedMs = loop.nowMs
        let timer = LoopTimer(loop) { [unowned self] in
            guard !stopping, pid > 0 else { return }
            let now = loop.nowMs
            var status: Int32 = 0
            if restartAtMs == nil && waitpid(pid, &status, WNOHANG) == pid {
                let diedYoung = now - startedMs < 10_000
                restartDelayMs = diedYoung ? min(max(restartDelayMs * 2, 500), 30_000) : 0
                restartAtMs = now + restartDelayMs
                Log.error("private redis-server exited; restarting", [
                    "pid": pid, "exit": PrivateRedis.describe(status), "restart_in_seconds": Double(restartDelayMs) / 1000,
                    "redis_log": PrivateRedis.lastLine(of: dataDir + "/redis.log") ?? "",
                ])
            }
            if let due = restartAtMs, now >= due {
                restartAtMs = nil
                startedMs = now
                do { try start() } catch { Log.error("cannot restart redis-server", ["error": "\(error)"]) }
            }
        }
        timer.start(afterMs: 500, repeatMs: 500)
        timer.unref()
        watchdog = timer
    }

    /// A wait status as words: "exit code 1", "signal 9".
    private static func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        return signal == 0 ? "exit code \((status >> 8) & 0xff)" : "signal \(signal)"
    }

    /// The last non-empty line of a file, read from its end: why redis-server stopped.
    private static func lastLine(of path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        let count = Int(min(size, 4096))
        var tail = [UInt8](repeating: 0, count: count)
        guard count > 0, pread(fd, &tail, count, size - off_t(count)) == count else { return nil }
        return String(decoding: tail, as: UTF8.self).split(whereSeparator: \.isNewline).last.map(String.init)
    }

    func stop() {
        stopping = true
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        Log.info("stopped private redis-server", ["pid": pid])
        pid = 0
    }

    /// A gateway killed with SIGKILL leaves its redis-server running on our socket: stop it so
    /// the new child can bind (the AOF keeps every acknowledged write).
    private func stopLeftover() {
        guard let text = readWholeFile(dataDir + "/redis.pid"),
              let old = Int32(text.split(whereSeparator: \.isWhitespace).first ?? "") else { return }
        guard old > 0, isRedisServer(old) else { return }
        Log.warn("stopping a redis-server left over from an earlier run", ["pid": old])
        kill(old, SIGTERM)
        for _ in 0..<100 where kill(old, 0) == 0 { usleep(50_000) }
    }

    private func isRedisServer(_ pid: Int32) -> Bool {
        readWholeFile("/proc/\(pid)/comm")?.hasPrefix("redis-server") ?? false
    }

    private func spawn(_ args: [String]) throws -> pid_t {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // An empty mask and default dispositions (we ignore SIGPIPE, which exec would inherit),
        // and its own process group so a terminal's Ctrl-C reaches only the gateway, which then
        // drains and stops Redis last.
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGPIPE, SIGINT, SIGTERM] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, args[0], nil, &attr, &cargs, environ)
        guard rc == 0 else { throw ValidationError("cannot start \(args[0]): \(String(cString: strerror(rc)))") }
        return child
    }

    static func findInPath(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/sbin"] {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
