"""Shared end-to-end harness: a real redis-server and a real jobgate binary per test.

Every process gets its own temp directory and Unix sockets, so tests run in parallel without
sharing state. Nothing here mocks anything: tests talk to the gateway over real sockets.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def jobgate_binary():
    explicit = os.environ.get("JOBGATE_BIN")
    if explicit:
        return explicit
    for kind in ("debug", "release"):
        path = os.path.join(ROOT, ".build", kind, "jobgate")
        if os.path.exists(path):
            return path
    raise RuntimeError("no jobgate binary: run `swift build` first or set JOBGATE_BIN")


def wait_until(predicate, timeout=10.0, interval=0.01, what="condition"):
    """Polls `predicate` until it returns a truthy value; fails the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def tcp_port_open(port):
    """Whether something accepts connections on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A private redis-server on a Unix socket (TCP off unless `tcp=True`)."""

    def __init__(self, directory, appendfsync="everysec", tcp=False):
        self.dir = directory
        self.socket = os.path.join(directory, "redis.sock")
        self.port = free_tcp_port() if tcp else 0
        self.appendfsync = appendfsync
        self.proc = None

    def start(self):
        args = ["redis-server", "--port", str(self.port), "--unixsocket", self.socket,
                "--unixsocketperm", "700", "--dir", self.dir, "--save", "",
                "--appendonly", "yes", "--appendfsync", self.appendfsync,
                "--daemonize", "no", "--logfile", os.path.join(self.dir, "redis.log")]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self._ping(), what="redis-server to answer")
        return self

    def _ping(self):
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(0.5)
                s.connect(self.socket)
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    @property
    def url(self):
        return "unix://" + self.socket

    def cli(self, *args):
        """Runs redis-cli against this server and returns its stdout (raw mode, no quoting)."""
        out = subprocess.run(["redis-cli", "-s", self.socket, "--no-raw", *map(str, args)],
                             capture_output=True, check=True)
        return out.stdout.decode()

    def raw(self, *args):
        out = subprocess.run(["redis-cli", "-s", self.socket, "--raw", *map(str, args)],
                             capture_output=True, check=True)
        return out.stdout

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)


class Gateway:
    """A jobgate process; `tcp` and `unix` are its listen addresses."""

    def __init__(self, directory, redis_url=None, extra_args=(), name="jobgate"):
        self.dir = directory
        self.port = free_tcp_port()
        self.unix = os.path.join(directory, f"{name}.sock")
        self.redis_url = redis_url
        self.extra_args = list(extra_args)
        self.log_path = os.path.join(directory, f"{name}.log")
        self.proc = None

    def start(self, wait_ready=True):
        # The free port is only free when chosen: if another process takes it first, the gateway
        # exits at once with "address already in use", and it is tried again on a new port.
        for attempt in range(5):
            args = [jobgate_binary(), "serve", "--listen", f"tcp://127.0.0.1:{self.port}",
                    "--listen", f"unix:{self.unix}", *self.extra_args]
            if self.redis_url:
                args += ["--redis", self.redis_url]
            self.log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log, cwd=self.dir)
            if not wait_ready:
                return self
            try:
                self.wait_ready()
                return self
            except AssertionError:
                if self.proc.poll() is None or "address already in use" not in self.read_log() or attempt == 4:
                    raise
                self.port = free_tcp_port()
        return self

    def wait_ready(self, timeout=15):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"jobgate exited with {self.proc.returncode}:\n{self.read_log()}")
            try:
                # The Unix socket: trusted even when TCP needs a token.
                with self.client(unix=True, timeout=1) as c:
                    return c.call({"op": "ping"}).get("redis") == "ready"
            except OSError:
                return False
        wait_until(ready, timeout=timeout, what="jobgate to be ready")

    def client(self, unix=False, timeout=10):
        return Client.unix(self.unix, timeout) if unix else Client.tcp("127.0.0.1", self.port, timeout)

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None


class Client:
    """A blocking line-protocol client: one JSON object per line, replies in request order."""

    def __init__(self, sock, timeout):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buf = b""

    @classmethod
    def tcp(cls, host, port, timeout=10):
        return cls(socket.create_connection((host, port), timeout=timeout), timeout)

    @classmethod
    def unix(cls, path, timeout=10):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        s.connect(path)
        return cls(s, timeout)

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, request):
        self.send_raw(json.dumps(request).encode() + b"\n")

    def read_line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by jobgate")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def reply(self):
        return json.loads(self.read_line())

    def call(self, request):
        self.send(request)
        return self.reply()

    def ok(self, request):
        """Calls and asserts success; returns the reply."""
        r = self.call(request)
        assert r.get("ok") is True, f"{request} -> {r}"
        return r

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Stack:
    """A redis-server plus one or more gateways in one temp directory."""

    def __init__(self, appendfsync="everysec", gateway_args=()):
        self.dir = tempfile.mkdtemp(prefix="jobgate-test-", dir=os.environ.get("JOBGATE_TEST_TMP", "/tmp"))
        self.gateways = []
        self.redis = RedisServer(self.dir, appendfsync=appendfsync)
        try:
            self.redis.start()
            self.gateway = self.add_gateway(gateway_args)
        except BaseException:
            self.close()  # leave no redis-server or gateway behind when setup fails
            raise

    def add_gateway(self, extra_args=(), wait_ready=True):
        g = Gateway(self.dir, self.redis.url, extra_args, name=f"jobgate{len(self.gateways)}")
        self.gateways.append(g)
        return g.start(wait_ready=wait_ready)

    def client(self, unix=False):
        return self.gateway.client(unix=unix)

    def close(self):
        for g in self.gateways:
            g.stop(signal.SIGKILL)
        if self.redis.proc:
            self.redis.stop(signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


class BlockingRequest(threading.Thread):
    """A blocking request (`lease` or `result` with `wait`) on its own connection and thread."""

    def __init__(self, gateway, request):
        super().__init__(daemon=True)
        self.gateway = gateway
        self.request = request
        self.reply = None
        self.replied_at = None

    def run(self):
        with self.gateway.client() as c:
            self.reply = c.call(self.request)
            self.replied_at = time.time()

    def result(self, timeout=30):
        self.join(timeout)
        assert not self.is_alive(), f"no reply to {self.request} in {timeout} s"
        return self.reply


def start_waiting_leases(gateway, request, count=1):
    """Starts `count` copies of a blocking lease request and returns them once `gateway`
    reports them all waiting."""
    leases = [BlockingRequest(gateway, request) for _ in range(count)]
    with gateway.client() as c:
        before = c.ok({"op": "stats"})["gateway"]["waiting_leases"]
        for lease in leases:
            lease.start()
        wait_until(lambda: c.ok({"op": "stats"})["gateway"]["waiting_leases"] == before + count,
                   what=f"{count} lease(s) to wait")
    return leases
