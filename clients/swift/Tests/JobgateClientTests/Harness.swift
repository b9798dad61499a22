import Foundation
import Testing
@testable import JobgateClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Child processes for tests, started with `posix_spawn` and an empty signal mask.
///
/// Swift Testing runs tests on threads whose signal mask blocks SIGTERM, and children inherit
/// the mask: a child started with `Foundation.Process` would ignore `terminate()`. Here every
/// child gets an empty mask and default signal actions.
enum Spawn {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Starts `argv` (looked up in PATH), stdin from /dev/null, stdout and stderr to `log`
    /// (or to the write end of a pipe, when `stdoutFD` is given).
    static func start(_ argv: [String], log: String?, stdoutFD: Int32? = nil) throws -> pid_t {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let fd = stdoutFD {
            posix_spawn_file_actions_adddup2(&actions, fd, 1)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        } else if let log {
            posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid = pid_t()
        let rc = posix_spawnp(&pid, argv[0], &actions, &attr, cArgs, environ)
        guard rc == 0 else { throw Failure(description: "cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// Runs `argv` to completion and returns its stdout.
    static func output(_ argv: [String]) throws -> String {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw Failure(description: "pipe failed") }
        let pid: pid_t
        do {
            pid = try start(argv, log: nil, stdoutFD: fds[1])
        } catch {
            close(fds[0]); close(fds[1])
            throw error
        }
        close(fds[1])
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fds[0], &chunk, chunk.count)
            if n <= 0 { break }
            data.append(contentsOf: chunk[0..<n])
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return String(decoding: data, as: UTF8.self)
    }

    /// Runs `argv` to completion, its stdout and stderr to `log`; throws when it fails.
    static func run(_ argv: [String], log: String) throws {
        let pid = try start(argv, log: log)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw Failure(description: "\(argv.joined(separator: " ")) failed (status \(status)): \(output)")
        }
    }

    /// True if the process has exited (and reaps it).
    static func hasExited(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace` seconds; reaps it.
    static func stop(_ pid: pid_t, grace: Double = 5) {
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        var status: Int32 = 0
        while Date() < deadline {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid || (r < 0 && errno == ECHILD) { return }
            usleep(5_000)
        }
        kill(pid, SIGKILL)
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
}

/// A private redis-server and jobgate gateway for one test.
final class TestGateway: @unchecked Sendable {
    let dir: String
    let redisSocket: String
    let unixPath: String
    private(set) var port: Int = 0
    /// The `tls://` listener's port, when the gateway has ``tls``.
    private(set) var tlsPort: Int = 0
    /// The certificate and key of a `tls://` listener, if any.
    let tls: TestCertificates?
    /// Extra `jobgate serve` arguments.
    let extraArgs: [String]
    /// The gateway's `--token`, if any.
    let token: String?
    private var redisPID: pid_t = 0
    private var gatewayPID: pid_t = 0
    private let lock = NSLock()

    var tcpAddress: JobgateAddress { .tcp(host: "127.0.0.1", port: port) }
    var unixAddress: JobgateAddress { .unix(path: unixPath) }
    var tlsAddress: JobgateAddress { .tls(host: "127.0.0.1", port: tlsPort) }

    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["JOBGATE_BIN"], !path.isEmpty { return path }
        // clients/swift/Tests/JobgateClientTests/Harness.swift -> the package root.
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<5 { root.deleteLastPathComponent() }
        return root.appendingPathComponent(".build/debug/jobgate").path
    }

    private init(extraArgs: [String], token: String?, tls: TestCertificates?) throws {
        self.extraArgs = extraArgs + (token.map { ["--token", $0] } ?? [])
        self.token = token
        self.tls = tls
        var template = Array("/tmp/jgc.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Spawn.Failure(description: "mkdtemp failed") }
        dir = String(cString: made)
        redisSocket = dir + "/redis.sock"
        unixPath = dir + "/gw.sock"
    }

    /// Starts Redis and a gateway listening on a free TCP port and a Unix socket (and with `tls`,
    /// on another free port for `tls://`), and waits until the gateway reports Redis `ready`.
    static func start(extraArgs: [String] = [], token: String? = nil, tls: TestCertificates? = nil) async throws -> TestGateway {
        let gw = try TestGateway(extraArgs: extraArgs, token: token, tls: tls)
        do {
            guard FileManager.default.isExecutableFile(atPath: binary) else {
                throw Spawn.Failure(description: "no jobgate binary at \(binary) (build it, or set JOBGATE_BIN)")
            }
            gw.redisPID = try Spawn.start(
                ["redis-server", "--port", "0", "--unixsocket", gw.redisSocket, "--unixsocketperm", "700",
                 "--save", "", "--appendonly", "no", "--dir", gw.dir, "--daemonize", "no"],
                log: gw.dir + "/redis.log")
            try await gw.startGateway()
            return gw
        } catch {
            gw.stop()
            throw error
        }
    }

    private func startGateway() async throws {
        for _ in 0..<5 {
            port = Self.freePort()
            if tls != nil { tlsPort = Self.freePort() }
            let pid = try spawnGateway()
            if try await waitUntilReady(pid: pid) { return }
            // It exited: most likely a port was taken meanwhile. Try others.
        }
        throw Spawn.Failure(description: "the gateway did not start: \(log("gateway.log"))")
    }

    /// Starts a gateway on `port`, `unixPath` (a stale socket file removed first) and, with
    /// ``tls``, `tlsPort`.
    private func spawnGateway() throws -> pid_t {
        try? FileManager.default.removeItem(atPath: unixPath)
        let tlsArgs = tls.map { ["--listen", "tls://127.0.0.1:\(tlsPort)", "--tls-cert", $0.serverCertificate, "--tls-key", $0.serverKey] }
        let pid = try Spawn.start(
            [Self.binary, "serve", "--redis", "unix://" + redisSocket,
             "--listen", "tcp://127.0.0.1:\(port)", "--listen", "unix:" + unixPath, "--log-level", "warn"]
                + (tlsArgs ?? []) + extraArgs,
            log: dir + "/gateway.log")
        lock.withLock { gatewayPID = pid }
        return pid
    }

    /// Polls `ping` until Redis is ready. False if the gateway exited.
    private func waitUntilReady(pid: pid_t) async throws -> Bool {
        // Over this test's own Unix socket: a TCP port taken meanwhile by another test's gateway
        // would answer for a gateway that has exited. Ours binds TCP before it serves anything,
        // so an answer here also means the TCP port is its own.
        let client = JobgateClient(address: unixAddress, connectTimeout: 1)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if Spawn.hasExited(pid) {
                await client.close()
                return false
            }
            if let ping = try? await client.ping(), ping.redis == "ready" {
                await client.close()
                return true
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        await client.close()
        throw Spawn.Failure(description: "the gateway was not ready in 30 s: \(log("gateway.log")) \(log("redis.log"))")
    }

    /// Stops the gateway with SIGTERM and starts a new one on the same port and socket.
    func restartGateway() async throws {
        let pid = lock.withLock { gatewayPID }
        Spawn.stop(pid)
        let newPID = try spawnGateway()
        guard try await waitUntilReady(pid: newPID) else {
            throw Spawn.Failure(description: "the gateway did not restart: \(log("gateway.log"))")
        }
    }

    /// Kills Redis (the gateway stays up and answers UNAVAILABLE).
    func killRedis() {
        let pid = lock.withLock { redisPID }
        if pid > 0 { Spawn.stop(pid) }
        lock.withLock { redisPID = 0 }
    }

    /// Runs `redis-cli` against this test's Redis and returns its output, trimmed.
    func redis(_ args: String...) throws -> String {
        try Spawn.output(["redis-cli", "-s", redisSocket] + args).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func client(unix: Bool = false) -> JobgateClient {
        JobgateClient(address: unix ? unixAddress : tcpAddress, token: token)
    }

    func log(_ name: String) -> String {
        (try? String(contentsOfFile: dir + "/" + name, encoding: .utf8)) ?? ""
    }

    func stop() {
        let (g, r) = lock.withLock { (gatewayPID, redisPID) }
        if g > 0 { Spawn.stop(g) }
        if r > 0 { Spawn.stop(r) }
        try? FileManager.default.removeItem(atPath: dir)
    }

    static func freePort() -> Int {
        let (fd, port) = boundSocket()
        close(fd)
        return port
    }

    /// A TCP socket bound to a free port of 127.0.0.1, and the port.
    static func boundSocket() -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        precondition(ok, "cannot find a free port")
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }
}

/// Runs `body` with a fresh Redis and gateway, and stops both afterwards.
/// A gateway and a TCP client of it, for tests that need no more.
func withClient(_ body: (TestGateway, JobgateClient) async throws -> Void) async throws {
    try await withGateway { gw in try await body(gw, gw.client()) }
}

func withGateway(
    extraArgs: [String] = [], token: String? = nil, tls: TestCertificates? = nil,
    _ body: (TestGateway) async throws -> Void
) async throws {
    let gw = try await TestGateway.start(extraArgs: extraArgs, token: token, tls: tls)
    do {
        try await body(gw)
    } catch {
        // Show what the gateway said; the temp dir goes away with stop().
        let log = gw.log("gateway.log")
        if !log.isEmpty { FileHandle.standardError.write(Data("--- gateway.log (\(gw.dir)):\n\(log)\n".utf8)) }
        gw.stop()
        throw error
    }
    gw.stop()
}

/// Polls `condition` every 10 ms until it holds or `timeout` seconds pass; returns whether it held.
func eventually(timeout: Double = 15, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try await condition() { return true }
        if Date() >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(10))
    }
}

/// A thread-safe box for test bookkeeping.
final class Box<Value: Sendable>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    var get: Value { lock.withLock { value } }

    @discardableResult
    func with<R>(_ body: (inout Value) -> R) -> R { lock.withLock { body(&value) } }
}

/// Records a worker's events.
final class EventLog: Sendable {
    private let events = Box<[Worker.Event]>([])

    var all: [Worker.Event] { events.get }

    func record(_ event: Worker.Event) { events.with { $0.append(event) } }

    var acked: [(LeasedJob, JobState)] {
        all.compactMap { if case .acked(let j, let s) = $0 { (j, s) } else { nil } }
    }
    var failed: [(LeasedJob, String, FailOutcome)] {
        all.compactMap { if case .failed(let j, let e, let o) = $0 { (j, e, o) } else { nil } }
    }
    var leaseLost: [LeasedJob] {
        all.compactMap { if case .leaseLost(let j) = $0 { j } else { nil } }
    }
    var released: [LeasedJob] {
        all.compactMap { if case .released(let j) = $0 { j } else { nil } }
    }
    var errors: [String] {
        all.compactMap { if case .error(_, let e) = $0 { String(describing: e) } else { nil } }
    }
}
