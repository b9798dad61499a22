"""Whole processes: real nc, the private redis-server default, shutdown, Redis outages, kill -9."""
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from jobgate_harness import Client, Gateway, free_tcp_port, jobgate_binary, wait_until


def nc(args, text, timeout=20):
    out = subprocess.run(["nc", "-N", *args], input=text.encode(), capture_output=True, timeout=timeout)
    return [json.loads(line) for line in out.stdout.decode().splitlines()]


def test_nc_over_tcp_and_unix(stack):
    g = stack.gateway
    tcp = ["127.0.0.1", str(g.port)]
    unix = ["-U", g.unix]
    [r] = nc(tcp, '{"op":"enqueue","queue":"nc","func":"sh.run","args":["ls"]}\n')
    assert r["state"] == "queued"
    [leased] = nc(unix, '{"op":"lease","queues":["nc"]}\n')
    job = leased["job"]
    assert job["id"] == r["id"] and job["args"] == ["ls"]
    # Lease on one nc, ack on the next: the lease belongs to its token.
    [acked] = nc(tcp, json.dumps({"op": "ack", "id": job["id"], "lease": job["lease"], "result": "done"}) + "\n")
    assert acked["state"] == "finished"


def test_blocking_lease_on_half_closed_nc_still_answers(stack):
    g = stack.gateway
    proc = subprocess.Popen(["nc", "-N", "-U", g.unix], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    proc.stdin.write(b'{"op":"lease","queues":["hc"],"wait":20}\n')
    proc.stdin.close()  # nc -N shuts down its sending side now
    with stack.client() as c:
        wait_until(lambda: c.ok({"op": "stats"})["gateway"]["waiting_leases"] == 1, what="the lease to wait")
        jid = c.ok({"op": "enqueue", "queue": "hc", "func": "f"})["id"]
    out = proc.stdout.read()  # returns at EOF: jobgate answered, then closed
    assert json.loads(out)["job"]["id"] == jid
    assert proc.wait(timeout=20) == 0


def test_nc_last_line_without_newline(stack):
    [r] = nc(["127.0.0.1", str(stack.gateway.port)], '{"op":"ping","ref":"eof"}')
    assert r["ref"] == "eof"


def test_private_redis_default_persists_and_stops(tmp_path):
    data = tmp_path / "data"
    port = free_tcp_port()
    args = [jobgate_binary(), "serve", "--listen", f"tcp://127.0.0.1:{port}", "--data-dir", str(data)]

    def start():
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(lambda: _ready(port), what="jobgate with private redis")
        return p

    p = start()
    with Client.tcp("127.0.0.1", port) as c:
        c.ok({"op": "enqueue", "queue": "keep", "func": "f", "id": "survives"})
    redis_pid = int((data / "redis.pid").read_text())
    assert _alive(redis_pid)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=20) == 0
    wait_until(lambda: not _alive(redis_pid), what="private redis-server to stop")
    assert (data / "appendonlydir").exists()
    # A new gateway on the same data dir finds the job (AOF).
    p = start()
    try:
        with Client.tcp("127.0.0.1", port) as c:
            assert c.ok({"op": "job", "id": "survives"})["job"]["state"] == "queued"
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=20)


def test_private_redis_left_over_by_kill9_is_replaced(tmp_path):
    data = tmp_path / "d"
    port = free_tcp_port()
    args = [jobgate_binary(), "serve", "--listen", f"tcp://127.0.0.1:{port}", "--data-dir", str(data)]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: _ready(port), what="first gateway")
    old_redis = int((data / "redis.pid").read_text())
    p.kill()
    p.wait()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _ready(port), what="second gateway")
        assert not _alive(old_redis)
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=20) == 0


def test_missing_redis_server_is_explained(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))
    out = subprocess.run([jobgate_binary(), "serve", "--data-dir", str(tmp_path / "d"),
                          "--listen", f"tcp://127.0.0.1:{free_tcp_port()}"],
                         env=env, capture_output=True, timeout=20)
    assert out.returncode != 0
    assert b"redis-server is not installed" in out.stderr and b"apt-get install redis-server" in out.stderr


def test_sigterm_answers_waiting_leases_and_in_flight_requests(stack):
    g = stack.gateway
    waiting = g.client()
    waiting.send({"op": "lease", "queues": ["w"], "wait": 30})
    busy = g.client()
    with stack.client() as c:
        wait_until(lambda: c.ok({"op": "stats"})["gateway"]["waiting_leases"] == 1, what="waiter")
    busy.send_raw(b'{"op":"enqueue","queue":"w2","func":"f"}\n' * 200)
    g.proc.send_signal(signal.SIGTERM)
    assert waiting.reply() == {"ok": True, "job": None}
    answered = 0
    try:
        while answered < 200:
            assert busy.reply()["ok"] is True
            answered += 1
    except ConnectionError:
        pass
    assert g.proc.wait(timeout=20) == 0
    # Whatever was answered was enqueued; nothing answered was lost.
    assert int(stack.redis.raw("LLEN", "rq:queue:w2")) >= answered


def test_redis_down_answers_unavailable_then_recovers(stack, client):
    stack.redis.stop(signal.SIGKILL)
    start = time.time()
    r = client.call({"op": "enqueue", "queue": "q", "func": "f"})
    assert r["error"]["code"] == "UNAVAILABLE" and r["error"]["retryable"] is True
    assert time.time() - start < 2
    assert client.ok({"op": "ping"})["redis"] != "ready"
    stack.redis.start()
    wait_until(lambda: client.ok({"op": "ping"})["redis"] == "ready", timeout=15, what="reconnect")
    assert client.ok({"op": "enqueue", "queue": "q", "func": "f"})["state"] == "queued"


def test_redis_that_stops_answering_gives_unavailable_within_10_s(stack):
    """A Redis that is alive but silent (SIGSTOP: a hung host, a stalled disk) must not hang
    requests: after 10 s without a reply the gateway answers UNAVAILABLE, drops the connection
    and reconnects once Redis answers again. The stalled Redis still runs the calls it had
    received when it wakes: a lease nobody was told of is given back, with no attempt spent."""
    client = stack.gateway.client(timeout=30)
    client.ok({"op": "enqueue", "queue": "q", "func": "f", "id": "stalled"})
    stack.redis.proc.send_signal(signal.SIGSTOP)
    try:
        start = time.time()
        client.send_raw(b'{"op":"lease","queues":["q"]}\n{"op":"enqueue","queue":"other","func":"f"}\n')
        replies = [client.reply(), client.reply()]
        waited = time.time() - start
        for r in replies:
            assert r["error"]["code"] == "UNAVAILABLE" and r["error"]["retryable"] is True, r
        assert 9 < waited < 14, waited
    finally:
        stack.redis.proc.send_signal(signal.SIGCONT)
    wait_until(lambda: client.ok({"op": "ping"})["redis"] == "ready", timeout=15, what="reconnect")
    wait_until(lambda: "lease not delivered" in stack.gateway.read_log(), what="the lost lease given back")
    job = client.ok({"op": "job", "id": "stalled"})["job"]
    assert job["state"] == "queued" and job["attempts"] == 0, job
    assert client.ok({"op": "enqueue", "queue": "q", "func": "f"})["state"] == "queued"
    client.close()


def test_redis_timeout_counts_silence_not_a_long_pipelines_wait():
    """--redis-timeout is how long Redis may send nothing while requests wait. A Redis that
    keeps answering a long pipeline of large replies is not timed out, even when the last
    answer comes long after its request was sent (the old rule, the oldest request's age,
    dropped a healthy Redis and failed every waiting request); a silent one still is."""
    from jobgate_harness import Stack
    # 1 s, not less: on a loaded 2-core CI machine a healthy Redis can be descheduled for a
    # few hundred ms.
    stack = Stack(gateway_args=["--redis-timeout", "1000"])
    try:
        client = stack.gateway.client(timeout=60)
        client.ok({"op": "enqueue", "queue": "big", "func": "f", "id": "big"})
        job = client.ok({"op": "lease", "queues": ["big"]})["job"]
        client.ok({"op": "ack", "id": "big", "lease": job["lease"], "result": "x" * 1_000_000})
        lookups = 100
        start = time.time()
        client.send_raw(b'{"op":"job","id":"big"}\n' * lookups)
        replies = [client.reply() for _ in range(lookups)]
        waited = time.time() - start
        assert waited > 2.0, f"the pipeline took {waited:.2f} s: too fast to show the rule"
        bad = [r for r in replies if r.get("job", {}).get("result") != "x" * 1_000_000]
        assert not bad, {k: v for k, v in bad[0].items() if k != "job"}
        assert "Redis sent nothing" not in stack.gateway.read_log()
        stack.redis.proc.send_signal(signal.SIGSTOP)
        try:
            start = time.time()
            reply = client.call({"op": "stats"})
            assert reply["error"]["code"] == "UNAVAILABLE" and 0.9 < time.time() - start < 5, (reply, time.time() - start)
        finally:
            stack.redis.proc.send_signal(signal.SIGCONT)
        assert "Redis sent nothing for 1000 ms while commands waited" in stack.gateway.read_log()
        wait_until(lambda: client.ok({"op": "ping"})["redis"] == "ready", timeout=15, what="reconnect")
        client.close()
    finally:
        stack.close()


def test_kill9_mid_load_loses_no_acknowledged_job():
    """Producers and workers run while the gateway is SIGKILLed and restarted several times.
    Every enqueue that was acknowledged ends finished exactly once or is still pending."""
    from jobgate_harness import Stack
    stack = Stack(appendfsync="always")
    try:
        acknowledged, acked_jobs = set(), []
        lock = threading.Lock()
        stop = threading.Event()
        g = stack.gateway

        def connect():
            while not stop.is_set():
                try:
                    return g.client(timeout=5)
                except OSError:
                    time.sleep(0.05)

        def producer(pid):
            n = 0
            c = connect()
            while not stop.is_set():
                jid = f"p{pid}-{n}"
                try:
                    r = c.call({"op": "enqueue", "queue": "crash", "func": "f", "id": jid, "retries": 5})
                    if r.get("ok") or r.get("error", {}).get("code") == "DUPLICATE":
                        with lock:
                            acknowledged.add(jid)
                        n += 1
                except (OSError, ValueError):
                    c = connect()

        def worker():
            c = connect()
            while not stop.is_set():
                try:
                    job = c.call({"op": "lease", "queues": ["crash"], "wait": 0.2, "lease_for": 2})["job"]
                    if job:
                        r = c.call({"op": "ack", "id": job["id"], "lease": job["lease"], "result": job["id"]})
                        if r.get("ok"):
                            with lock:
                                acked_jobs.append(job["id"])
                except (OSError, ValueError, KeyError):
                    c = connect()

        threads = [threading.Thread(target=producer, args=(i,)) for i in range(3)] + \
                  [threading.Thread(target=worker) for _ in range(3)]
        for t in threads:
            t.start()
        rng = random.Random(7)
        for _ in range(4):
            time.sleep(rng.uniform(0.3, 0.8))
            g.proc.send_signal(signal.SIGKILL)
            g.proc.wait()
            g.start(wait_ready=True)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert len(acknowledged) > 100
        # Every ack that succeeded was for a different job: no job finished twice.
        assert len(acked_jobs) == len(set(acked_jobs))
        # Drain what is left (leases of the killed gateway expire within 2 s).
        with g.client() as c:
            def drained():
                while True:
                    job = c.ok({"op": "lease", "queues": ["crash"], "wait": 0.5, "lease_for": 30})["job"]
                    if not job:
                        break
                    c.ok({"op": "ack", "id": job["id"], "lease": job["lease"]})
                    acked_jobs.append(job["id"])
                return c.ok({"op": "stats"})["queues"]["crash"]["started"] == 0
            wait_until(drained, timeout=30, what="leases of killed gateways to expire and be drained")
            for jid in acknowledged:
                state = c.ok({"op": "job", "id": jid})["job"]["state"]
                assert state == "finished", (jid, state)
        # An ack can take effect in Redis while its reply dies with the gateway: at most one per
        # worker per kill is finished without a worker having seen its ack succeed.
        assert len(acknowledged - set(acked_jobs)) <= 3 * 4
        assert len(acked_jobs) == len(set(acked_jobs))
    finally:
        stack.close()


def _ready(port):
    try:
        with Client.tcp("127.0.0.1", port, timeout=1) as c:
            return c.call({"op": "ping"})["redis"] == "ready"
    except OSError:
        return False


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def test_redis_killed_mid_load_loses_no_acknowledged_enqueue():
    """Redis (AOF always) is SIGKILLed while producers run: requests answer UNAVAILABLE, the
    gateway reconnects when Redis is back, and every acknowledged enqueue is still there."""
    from jobgate_harness import Stack
    stack = Stack(appendfsync="always")
    try:
        acknowledged, unavailable = [], []
        stop = threading.Event()

        def producer(p):
            n = 0
            with stack.client() as c:
                while not stop.is_set():
                    jid = f"r{p}-{n}"
                    r = c.call({"op": "enqueue", "queue": "rk", "func": "f", "id": jid})
                    if r.get("ok"):
                        acknowledged.append(jid)
                        n += 1
                    else:
                        assert r["error"]["code"] in ("UNAVAILABLE", "DUPLICATE"), r
                        if r["error"]["code"] == "DUPLICATE":
                            acknowledged.append(jid)
                            n += 1
                        else:
                            unavailable.append(jid)
                            time.sleep(0.02)

        threads = [threading.Thread(target=producer, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        wait_until(lambda: len(acknowledged) > 300, what="load")
        stack.redis.stop(signal.SIGKILL)
        wait_until(lambda: len(unavailable) > 10, what="UNAVAILABLE while Redis is down")
        stack.redis.start()
        count = len(acknowledged)
        wait_until(lambda: len(acknowledged) > count + 300, timeout=30, what="load after Redis returns")
        stop.set()
        for t in threads:
            t.join(timeout=30)
        with stack.client() as c:
            missing = [j for j in acknowledged if not c.call({"op": "job", "id": j}).get("ok")]
        assert missing == []
        assert int(stack.redis.raw("LLEN", "rq:queue:rk")) == len(set(acknowledged))
    finally:
        stack.close()


def test_private_redis_is_restarted_when_it_dies(tmp_path):
    data = tmp_path / "data"
    port = free_tcp_port()
    p = subprocess.Popen([jobgate_binary(), "serve", "--listen", f"tcp://127.0.0.1:{port}", "--data-dir", str(data)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _ready(port), what="gateway with private redis")
        with Client.tcp("127.0.0.1", port) as c:
            c.ok({"op": "enqueue", "queue": "pr", "func": "f", "id": "kept"})
        first = int((data / "redis.pid").read_text())
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: (data / "redis.pid").exists() and int((data / "redis.pid").read_text() or 0) != first
                   and _ready(port), timeout=20, what="a new private redis-server")
        with Client.tcp("127.0.0.1", port) as c:
            assert c.ok({"op": "job", "id": "kept"})["job"]["state"] == "queued"
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=20) == 0
