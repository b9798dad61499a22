"""Starting safely and logging in safely: the data-directory lock, binding before the private
Redis, accepting only once Redis answers, systemd notifications, secrets hidden from `ps`, and
the three-wrong-tokens limit however the lines arrive."""
import contextlib
import json
import os
import signal
import socket
import subprocess

import pytest

from jobgate_harness import Client, RedisServer, free_tcp_port, jobgate_binary, tcp_port_open, wait_until


def _ready(port):
    try:
        with Client.tcp("127.0.0.1", port, timeout=1) as c:
            return c.call({"op": "ping"}).get("redis") == "ready"
    except OSError:
        return False


def _serve(log_dir, *args, env=None):
    """A gateway logging to `log_dir`/gateway.log."""
    log = open(os.path.join(log_dir, "gateway.log"), "ab")
    return subprocess.Popen([jobgate_binary(), "serve", *args], stdout=log, stderr=log, env=env)


def _log(log_dir):
    with open(os.path.join(log_dir, "gateway.log"), "rb") as f:
        return f.read()


def test_pipelined_wrong_tokens_cannot_walk_past_the_limit(guarded):
    """200 wrong tokens, the right one and an enqueue in one write: three answers, then the close."""
    lines = [json.dumps({"op": "auth", "token": f"guess{i}"}) for i in range(200)]
    lines += [json.dumps({"op": "auth", "token": "s3cret"}),
              json.dumps({"op": "enqueue", "queue": "q", "func": "f", "id": "sneaked-in"})]
    with guarded.client() as c:
        c.send_raw(("\n".join(lines) + "\n").encode())
        replies = []
        with pytest.raises(ConnectionError):
            while True:
                replies.append(json.loads(c.read_line()))
    assert len(replies) == 3 and all(r["error"]["code"] == "UNAUTHORIZED" for r in replies)
    with guarded.client(unix=True) as u:
        assert u.call({"op": "job", "id": "sneaked-in"})["error"]["code"] == "NOT_FOUND"


def test_token_padded_with_nuls_is_refused(guarded):
    """A length difference of 256 once vanished into a UInt8."""
    with guarded.client() as c:
        assert c.call({"op": "auth", "token": "s3cret" + "\u0000" * 256})["error"]["code"] == "UNAUTHORIZED"
        assert c.call({"op": "auth", "token": "s3cret" + "\u0000"})["error"]["code"] == "UNAUTHORIZED"
        assert c.ok({"op": "auth", "token": "s3cret"}) == {"ok": True}


@contextlib.contextmanager
def _private_gateway(tmp_path, port):
    """A gateway serving on `port` with its private redis-server in `tmp_path`/data, once it
    answers; on leaving, SIGTERM must end it cleanly."""
    gateway = _serve(tmp_path, "--listen", f"tcp://127.0.0.1:{port}", "--data-dir", str(tmp_path / "data"))
    try:
        wait_until(lambda: _ready(port), what="the gateway")
        yield gateway
    finally:
        gateway.send_signal(signal.SIGTERM)
        assert gateway.wait(timeout=20) == 0


def test_second_gateway_on_the_same_data_dir_exits_and_touches_nothing(tmp_path):
    data = tmp_path / "data"
    port = free_tcp_port()
    with _private_gateway(tmp_path, port) as first:
        redis_pid = int((data / "redis.pid").read_text())
        second = subprocess.run([jobgate_binary(), "serve", "--listen", f"tcp://127.0.0.1:{free_tcp_port()}",
                                 "--data-dir", str(data)], capture_output=True, timeout=20)
        assert second.returncode != 0
        assert f"is in use by jobgate pid {first.pid}".encode() in second.stderr
        assert b"Usage:" not in second.stderr
        # The first one's redis-server was not touched and it still serves.
        os.kill(redis_pid, 0)
        assert int((data / "redis.pid").read_text()) == redis_pid
        with Client.tcp("127.0.0.1", port) as c:
            c.ok({"op": "enqueue", "queue": "q", "func": "f"})
        # --check of the same configuration passes (checking a running gateway's is normal) and
        # says that starting it now would stop.
        check = subprocess.run([jobgate_binary(), "serve", "--check", "--data-dir", str(data)], capture_output=True, timeout=20)
        assert check.returncode == 0, check.stderr
        assert f"note: data directory {data} is in use by jobgate pid {first.pid}".encode() in check.stdout, check.stdout
    check = subprocess.run([jobgate_binary(), "serve", "--check", "--data-dir", str(data)], capture_output=True, timeout=20)
    assert check.returncode == 0 and b"note:" not in check.stdout, check.stdout


def test_a_unix_socket_in_use_is_refused_and_a_stale_one_replaced(tmp_path):
    """A second gateway on a live gateway's Unix socket exits (before and after the first one
    accepts), leaving the first reachable there; a socket left by kill -9 is taken over."""
    redis = RedisServer(str(tmp_path), tcp=True)
    sock = str(tmp_path / "gw.sock")

    def second():
        return subprocess.run([jobgate_binary(), "serve", "--listen", f"unix:{sock}", "--listen",
                               f"tcp://127.0.0.1:{free_tcp_port()}", "--redis", redis.url], capture_output=True, timeout=20)

    # Redis is not up yet: the first gateway has bound the socket but does not accept.
    first = _serve(tmp_path, "--listen", f"unix:{sock}", "--redis", redis.url)
    try:
        wait_until(lambda: os.path.exists(sock), what="the first gateway's socket")
        refused = second()
        assert refused.returncode != 0 and f"in use by jobgate pid {first.pid}".encode() in refused.stderr, refused.stderr
        redis.start()
        wait_until(lambda: os.path.exists(sock) and _answers(sock), what="the first gateway serving")
        refused = second()
        assert refused.returncode != 0 and b"in use by jobgate pid" in refused.stderr, refused.stderr
        assert _answers(sock), "the first gateway is still reachable on its socket"
        first.kill()
        first.wait(timeout=10)
        assert os.path.exists(sock), "kill -9 leaves the socket file behind"
        third = _serve(tmp_path, "--listen", f"unix:{sock}", "--redis", redis.url)
        try:
            wait_until(lambda: _answers(sock), what="a new gateway on the stale socket")
        finally:
            third.send_signal(signal.SIGTERM)
            assert third.wait(timeout=20) == 0
        assert not os.path.exists(sock)
    finally:
        if first.poll() is None:
            first.kill()
        redis.stop()


def _answers(sock):
    try:
        with Client.unix(sock, timeout=1) as c:
            return c.call({"op": "ping"}).get("redis") == "ready"
    except OSError:
        return False


def test_a_private_redis_that_cannot_start_is_retried_ever_more_slowly_saying_why(tmp_path):
    data = tmp_path / "data"
    port = free_tcp_port()
    with _private_gateway(tmp_path, port):
        pass
    [aof] = (data / "appendonlydir").glob("*.incr.aof")
    with open(aof, "ab") as f:
        f.write(b"this is not a Redis command\n")
    second = _serve(tmp_path, "--listen", f"tcp://127.0.0.1:{port}", "--data-dir", str(data))
    try:
        def restarts():
            return [line for line in _log(tmp_path).decode().splitlines() if "private redis-server exited" in line]
        lines = wait_until(lambda: len(restarts()) >= 3 and restarts(), timeout=20, what="three restarts")
        waits = [float(line.split("restart_in_seconds=")[1].split()[0]) for line in lines[:3]]
        assert waits == [0.5, 1.0, 2.0], lines
        assert all('exit="exit code 1"' in line and "Bad file format" in line for line in lines), lines
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)


def test_address_in_use_is_found_before_the_private_redis_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([jobgate_binary(), "serve", "--listen", f"tcp://127.0.0.1:{port}",
                              "--data-dir", str(tmp_path / "d")], capture_output=True, timeout=20)
    assert out.returncode != 0 and b"address already in use" in out.stderr
    assert b"started private redis-server" not in out.stderr
    assert not (tmp_path / "d" / "redis.pid").exists()


def test_connections_are_accepted_only_once_redis_answers(tmp_path):
    """Before Redis is up, connecting is refused; the first request that connects succeeds."""
    redis = RedisServer(str(tmp_path), tcp=True)
    port = free_tcp_port()
    gateway = _serve(tmp_path, "--listen", f"tcp://127.0.0.1:{port}", "--redis", f"redis://127.0.0.1:{redis.port}/0")
    try:
        wait_until(lambda: b"redis unavailable" in _log(tmp_path), what="the gateway to log Redis down")
        assert not tcp_port_open(port)
        redis.start()
        c = wait_until(lambda: _connect(port), what="the gateway to accept")
        with c:
            assert c.ok({"op": "enqueue", "queue": "q", "func": "f"})["state"] == "queued"
    finally:
        gateway.send_signal(signal.SIGTERM)
        assert gateway.wait(timeout=20) == 0
        redis.stop()


def test_systemd_is_told_ready_and_stopping(tmp_path):
    notify_path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(notify_path)
        notify.settimeout(20)
        port = free_tcp_port()
        gateway = _serve(tmp_path, "--listen", f"tcp://127.0.0.1:{port}", "--data-dir", str(tmp_path / "d"),
                         env=dict(os.environ, NOTIFY_SOCKET=notify_path))
        try:
            assert notify.recv(256) == b"READY=1"
            assert _ready(port)  # READY comes once it serves
            gateway.send_signal(signal.SIGTERM)
            assert notify.recv(256) == b"STOPPING=1"
        finally:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(timeout=20)


def test_token_and_redis_password_are_hidden_from_ps(tmp_path):
    redis = RedisServer(str(tmp_path), tcp=True)
    redis.start()
    try:
        redis.cli("CONFIG", "SET", "requirepass", "hunter2")
        port = free_tcp_port()
        gateway = _serve(tmp_path, "--listen", f"tcp://127.0.0.1:{port}", "--token=tok3n-value",
                         "--redis", f"redis://:hunter2@127.0.0.1:{redis.port}/0")
        try:
            wait_until(lambda: _authed_ready(port, "tok3n-value"), what="gateway with a Redis password")
            with open(f"/proc/{gateway.pid}/cmdline", "rb") as f:
                cmdline = f.read()
            assert b"hunter2" not in cmdline and b"tok3n-value" not in cmdline
            assert f"127.0.0.1:{redis.port}".encode() in cmdline  # only the secrets are masked
            ps = subprocess.run(["ps", "-o", "args=", "-p", str(gateway.pid)], capture_output=True, text=True)
            assert "hunter2" not in ps.stdout and "tok3n-value" not in ps.stdout
        finally:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(timeout=20)
        log = _log(tmp_path)
        assert b"hunter2" not in log and b"tok3n-value" not in log and b":***@" in log
    finally:
        redis.stop()


def _authed_ready(port, token):
    try:
        with Client.tcp("127.0.0.1", port, timeout=1) as c:
            c.ok({"op": "auth", "token": token})
            return c.call({"op": "ping"}).get("redis") == "ready"
    except OSError:
        return False


def _connect(port):
    try:
        return Client.tcp("127.0.0.1", port, timeout=5)
    except OSError:
        return None
