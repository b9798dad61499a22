"""Trying to break it: strangers, too many connections, random bytes, slow and half-open clients."""
import json
import os
import random
import socket
import stat
import subprocess
import time

import pytest

from jobgate_harness import ROOT, Client, Stack, free_tcp_port, jobgate_binary, tcp_port_open, wait_until


def test_tcp_needs_auth_unix_does_not(guarded):
    with guarded.client() as c:
        r = c.call({"op": "ping", "ref": 1})
        assert r["error"]["code"] == "UNAUTHORIZED" and r["ref"] == 1
        assert c.call({"op": "enqueue", "queue": "q", "func": "f"})["error"]["code"] == "UNAUTHORIZED"
        assert c.call({"op": "auth", "token": "nope"})["error"]["code"] == "UNAUTHORIZED"
        assert c.ok({"op": "auth", "token": "s3cret"}) == {"ok": True}
        assert c.ok({"op": "ping"})["redis"] == "ready"
    with guarded.client(unix=True) as u:
        assert u.ok({"op": "ping"})["redis"] == "ready"


def test_three_wrong_tokens_close_the_connection(guarded):
    with guarded.client() as c:
        for _ in range(3):
            assert c.call({"op": "auth", "token": "guess"})["error"]["code"] == "UNAUTHORIZED"
        c.send({"op": "auth", "token": "s3cret"})
        with pytest.raises(ConnectionError):
            c.reply()
    assert "auth failed" in guarded.gateway.read_log()


def test_an_address_guessing_by_reconnecting_is_refused_for_a_minute_and_logged_briefly(guarded):
    """Three guesses per connection would let a client guess on by reconnecting: five wrong
    tokens in a minute from one address lock it out, the right token included, and the log
    holds those five lines, not one per guess."""
    refused = 0
    for _ in range(30):
        with guarded.client() as c:
            for _ in range(3):
                try:
                    r = c.call({"op": "auth", "token": "guess"})
                except ConnectionError:
                    break
                assert r["error"]["code"] == "UNAUTHORIZED", r
                refused += "too many wrong tokens" in r["error"]["message"]
    assert refused >= 25
    with guarded.client() as c:
        r = c.call({"op": "auth", "token": "s3cret"})
        assert r["error"]["code"] == "UNAUTHORIZED" and "try again in a minute" in r["error"]["message"], r
    with guarded.client(unix=True) as u:  # the Unix socket needs no token and is not throttled
        assert u.ok({"op": "ping"})["redis"] == "ready"
    log = guarded.gateway.read_log()
    assert log.count("auth failed") == 5 and log.count("refusing this address for a minute") == 1, log


def test_token_from_file_and_environment(tmp_path):
    port = free_tcp_port()
    token_file = tmp_path / "token"
    token_file.write_bytes(b"from-file\r\n")  # as an editor on Windows saves it
    for extra, env, token in ((["--token-file", str(token_file)], {}, "from-file"),
                              ([], {"JOBGATE_TOKEN": "from-env"}, "from-env")):
        s = Stack()
        try:
            p = subprocess.Popen([jobgate_binary(), "serve", "--listen", f"tcp://127.0.0.1:{port}",
                                  "--redis", s.redis.url, *extra], env={**os.environ, **env},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_until(lambda: tcp_port_open(port), what="gateway")
            with Client.tcp("127.0.0.1", port) as c:
                assert c.call({"op": "ping"})["error"]["code"] == "UNAUTHORIZED"
                c.ok({"op": "auth", "token": token})
                assert c.ok({"op": "ping"})["ok"]
            p.terminate()
            p.wait(timeout=20)
        finally:
            s.close()


def test_refuses_open_tcp_without_token(tmp_path):
    args = [jobgate_binary(), "serve", "--listen", f"tcp://0.0.0.0:{free_tcp_port()}",
            "--redis", "unix:///nonexistent.sock"]
    out = subprocess.run(args, capture_output=True, timeout=20)
    assert out.returncode != 0 and b"refusing to listen on tcp://0.0.0.0" in out.stderr
    p = subprocess.Popen(args + ["--insecure"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        assert p.poll() is None, "--insecure lets it listen"
    finally:
        p.terminate()
        p.wait(timeout=20)


def test_unix_socket_mode(stack):
    assert stat.S_IMODE(os.stat(stack.gateway.unix).st_mode) == 0o660
    g = stack.add_gateway(["--unix-mode", "0600"])
    assert stat.S_IMODE(os.stat(g.unix).st_mode) == 0o600


def test_max_connections_answers_overloaded(stack):
    g = stack.add_gateway(["--max-connections", "3"])
    held = [g.client() for _ in range(3)]
    for c in held:
        assert c.ok({"op": "ping"})["ok"]
    extra = g.client()
    r = extra.reply()
    assert r["error"]["code"] == "OVERLOADED" and r["error"]["retryable"] is True
    with pytest.raises(ConnectionError):
        extra.reply()
    held.pop().close()
    wait_until(lambda: _ping_ok(g), what="a free slot")


def test_random_bytes_never_take_it_down(stack):
    rng = random.Random(2026)
    alphabet = b'{}[]":,0123456789.eE+-truefalsn \\u\x00\xff\n\t\r' + bytes(range(32, 127))
    for round_ in range(30):
        with stack.client() as c:
            blob = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 20000)))
            c.send_raw(blob + b"\n")
            c.send({"op": "ping", "ref": round_})
            # Every reply is one JSON object; the last one answers our ping.
            while True:
                r = c.reply()
                assert isinstance(r, dict) and "ok" in r
                if r.get("ref") == round_ and r.get("ok"):
                    break
    assert _ping_ok(stack.gateway)


def test_mutated_requests_get_clean_errors(client):
    seeds = open(os.path.join(ROOT, "Tests", "fuzz", "requests.jsonl"), "rb").read().splitlines()
    assert len(seeds) >= 15
    rng = random.Random(7)
    for i in range(3000):
        b = bytearray(seeds[i % len(seeds)])
        for _ in range(rng.randint(1, 4)):
            kind = rng.randint(0, 2)
            pos = rng.randrange(len(b))
            if kind == 0:
                b[pos] = rng.randrange(256)
            elif kind == 1:
                del b[pos]
            else:
                b.insert(pos, rng.choice(b'{}[]",:0\\'))
        line = bytes(b).replace(b"\n", b" ")
        client.send_raw(line + b"\n")
        r = client.reply()
        assert r["ok"] is True or r["error"]["code"] != "INTERNAL", (line, r)
    assert client.ok({"op": "ping"})["redis"] == "ready"


def test_slow_loris_and_half_open_clients_do_not_block_others(stack):
    slow = [socket.create_connection(("127.0.0.1", stack.gateway.port)) for _ in range(50)]
    for s in slow:
        s.sendall(b'{"op":"pi')  # never finished
    idle = [socket.create_connection(("127.0.0.1", stack.gateway.port)) for _ in range(200)]
    start = time.time()
    with stack.client() as c:
        for _ in range(100):
            assert c.ok({"op": "ping"})["ok"]
    assert time.time() - start < 5
    for s in slow:
        s.sendall(b'ng"}\n')
        assert json.loads(s.makefile().readline())["ok"] is True
    for s in slow + idle:
        s.close()


def test_huge_numbers_and_long_strings(client):
    r = client.call({"op": "enqueue", "queue": "q", "func": "f", "retries": 1e300})
    assert r["error"]["code"] == "BAD_REQUEST"
    client.send_raw(b'{"op":"enqueue","queue":"q","func":"f","args":[1e999999,123456789012345678901234567890]}\n')
    r = client.reply()
    assert r["ok"] is True, "numbers outside double range are valid JSON and kept as written"
    job = client.ok({"op": "lease", "queues": ["q"]})["job"]
    assert job["id"] == r["id"]
    assert client.call({"op": "enqueue", "queue": "q" * 129, "func": "f"})["error"]["code"] == "BAD_REQUEST"



def _ping_ok(g):
    try:
        with g.client(timeout=2) as c:
            return c.call({"op": "ping"}).get("ok")
    except OSError:
        return False


def test_low_file_limit_is_raised_or_reported(stack):
    """With a soft limit of 64 (hard limit left as it is), jobgate raises its own limit and
    serves more connections than 64; what it cannot accept it logs instead of dropping silently."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    def low_soft_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))

    port = free_tcp_port()
    p = subprocess.Popen([jobgate_binary(), "serve", "--listen", f"tcp://127.0.0.1:{port}", "--redis", stack.redis.url],
                         preexec_fn=low_soft_limit, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: tcp_port_open(port), what="gateway")
        conns = [Client.tcp("127.0.0.1", port) for _ in range(200)]
        for c in conns:
            assert c.ok({"op": "ping"})["ok"]
        for c in conns:
            c.close()
    finally:
        p.terminate()
        p.wait(timeout=20)



def command_calls(redis, name):
    """How often Redis ran a command, from INFO commandstats."""
    for line in redis.raw("INFO", "commandstats").decode().splitlines():
        if line.startswith(f"cmdstat_{name}:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


def test_function_and_script_flush_are_survived(stack):
    """Someone runs FUNCTION FLUSH and SCRIPT FLUSH under a busy gateway: each batch that meets
    a missing library runs again as the plain script, which meets NOSCRIPT and runs as EVAL
    (every op answered once, none lost or doubled); both are loaded again, so later requests
    are FCALLs again."""
    with stack.client() as c:
        first = c.ok({"op": "enqueue", "queue": "sf", "func": "f"})["id"]
        assert command_calls(stack.redis, "fcall") >= 1 and command_calls(stack.redis, "evalsha") == 0
        assert stack.redis.raw("FUNCTION", "FLUSH").strip() == b"OK"
        assert stack.redis.raw("SCRIPT", "FLUSH").strip() == b"OK"
        requests = [{"op": "enqueue", "queue": "sf", "func": "f", "args": [i]} for i in range(20)]
        c.send_raw(b"".join(json.dumps(r).encode() + b"\n" for r in requests))
        replies = [c.reply() for _ in requests]
        assert all(r["ok"] and r["state"] == "queued" for r in replies), replies
        assert command_calls(stack.redis, "eval") >= 1
        assert command_calls(stack.redis, "function|load") >= 2 and command_calls(stack.redis, "script|load") >= 2
        calls = {name: command_calls(stack.redis, name) for name in ("fcall", "evalsha", "eval")}
        leased = c.ok({"op": "lease", "queues": ["sf"], "count": 100})["jobs"]
        assert command_calls(stack.redis, "fcall") > calls["fcall"], "after the reload, FCALL again"
        assert command_calls(stack.redis, "evalsha") == calls["evalsha"] and command_calls(stack.redis, "eval") == calls["eval"]
        assert sorted(j["id"] for j in leased) == sorted([first] + [r["id"] for r in replies])
