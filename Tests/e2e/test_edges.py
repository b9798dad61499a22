"""The edges where a job could be burned, dropped or left in two places: leases whose reply
never reached a client, a full Redis, a Redis that lost its data, a deleted leased job, and
waiting requests of clients that are gone."""
import json
import socket
import struct
import subprocess
import time

import pytest

from jobgate_harness import RedisServer, Stack, free_tcp_port, wait_until, start_waiting_leases


def _stats(stack):
    with stack.client(unix=True) as c:
        return c.ok({"op": "stats"})


def _job(stack, jid):
    with stack.client(unix=True) as c:
        return c.call({"op": "job", "id": jid})


def _close_fully_while_leasing(stack, unix, count=1):
    """Sends a waiting lease and closes the socket at once (not a half-close)."""
    if unix:
        s = socket.socket(socket.AF_UNIX)
        s.connect(stack.gateway.unix)
    else:
        s = socket.create_connection(("127.0.0.1", stack.gateway.port))
    s.sendall(json.dumps({"op": "lease", "queues": ["edge"], "wait": 20, "count": count}).encode() + b"\n")
    with stack.client(unix=True) as c:
        wait_until(lambda: c.ok({"op": "stats"})["gateway"]["waiting_leases"] == 1, what="the lease to wait")
    s.close()


@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix"])
def test_a_lease_handed_to_a_closed_client_comes_straight_back(stack, unix):
    _close_fully_while_leasing(stack, unix)
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "edge", "func": "f", "id": "undelivered"})
        # Back in its queue at once, not after the 180 s lease, and with no attempt spent. (Its
        # state alone says nothing: it is queued, too, before the waiting lease takes it.)
        wait_until(lambda: "lease not delivered" in stack.gateway.read_log(), timeout=5,
                   what=f"the undelivered lease given back; log:\n{stack.gateway.read_log()}")
        job = _job(stack, "undelivered")["job"]
        assert job["state"] == "queued" and job["attempts"] == 0
        job = c.ok({"op": "lease", "queues": ["edge"]})["job"]
        assert job["id"] == "undelivered" and job["attempt"] == 1 and job["retries_left"] == 0


def test_an_undelivered_lease_of_many_jobs_is_one_log_line(stack):
    _close_fully_while_leasing(stack, unix=True, count=50)
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "edge", "jobs": [{"func": "f"}] * 50})
        wait_until(lambda: "lease not delivered" in stack.gateway.read_log(), timeout=5, what="the lease given back")
        wait_until(lambda: c.ok({"op": "stats"})["queues"]["edge"]["queued"] == 50, what="all 50 back")
    lines = [l for l in stack.gateway.read_log().splitlines() if "lease not delivered" in l]
    assert len(lines) == 1 and "jobs=50" in lines[0], lines


def test_a_half_closed_client_still_gets_and_keeps_its_lease(stack):
    s = socket.create_connection(("127.0.0.1", stack.gateway.port))
    s.sendall(json.dumps({"op": "lease", "queues": ["edge"], "wait": 20}).encode() + b"\n")
    s.shutdown(socket.SHUT_WR)
    with stack.client(unix=True) as c:
        wait_until(lambda: c.ok({"op": "stats"})["gateway"]["waiting_leases"] == 1, what="the lease to wait")
        c.ok({"op": "enqueue", "queue": "edge", "func": "f", "id": "delivered"})
    reply = json.loads(s.makefile("rb").readline())
    s.close()
    assert reply["job"]["id"] == "delivered"
    # Past the window in which a reset would have counted, the lease still holds.
    with stack.client(unix=True) as c:
        c.ok({"op": "heartbeat", "id": "delivered", "lease": reply["job"]["lease"]})
        assert c.ok({"op": "job", "id": "delivered"})["job"]["state"] == "started"


def test_a_reset_connection_frees_its_waiting_result_at_once(stack):
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "edge", "func": "f", "id": "awaited"})
    s = socket.create_connection(("127.0.0.1", stack.gateway.port))
    s.sendall(json.dumps({"op": "result", "id": "awaited", "wait": 30}).encode() + b"\n")
    wait_until(lambda: _stats(stack)["gateway"]["waiting_results"] == 1, what="the result to wait")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # with linger 0: a reset
    wait_until(lambda: _stats(stack)["gateway"]["waiting_results"] == 0, timeout=2, what="the waiter to be freed")


def test_deleting_a_leased_job_answers_not_found_to_every_op_of_its_holder(stack):
    with stack.client(unix=True) as c:
        for i in range(4):
            c.ok({"op": "enqueue", "queue": "edge", "func": "f", "id": f"gone-{i}"})
        jobs = c.ok({"op": "lease", "queues": ["edge"], "count": 4})["jobs"]
        for j in jobs:
            c.ok({"op": "delete", "id": j["id"]})
        requests = [{"op": "heartbeat"}, {"op": "ack"}, {"op": "fail", "error": "x"}, {"op": "release"}]
        for request, j in zip(requests, jobs):
            r = c.call({**request, "id": j["id"], "lease": j["lease"]})
            assert r["error"]["code"] == "NOT_FOUND", (request, r)


@pytest.mark.parametrize("how", ["flushall", "restart-without-persistence"])
def test_redis_that_lost_its_data_answers_holders_not_found_and_keeps_serving(tmp_path, how):
    redis = RedisServer(str(tmp_path), appendfsync="no").start()
    stack = Stack.__new__(Stack)
    stack.dir, stack.gateways, stack.redis = str(tmp_path), [], redis
    try:
        gateway = stack.add_gateway()
        with gateway.client(unix=True) as c:
            c.ok({"op": "enqueue", "queue": "edge", "func": "f", "id": "held"})
            job = c.ok({"op": "lease", "queues": ["edge"]})["job"]
        if how == "flushall":
            redis.cli("FLUSHALL")
            redis.cli("SCRIPT", "FLUSH")
        else:
            redis.stop()
            for f in tmp_path.glob("appendonlydir/*"):
                f.unlink()
            redis.start()
        with gateway.client(unix=True) as c:
            def answered():
                r = c.call({"op": "ack", "id": "held", "lease": job["lease"]})
                return r if r.get("error", {}).get("code") != "UNAVAILABLE" else None
            assert wait_until(answered, what="an answer after the data loss")["error"]["code"] == "NOT_FOUND"
            # And it serves on: its script is loaded again.
            c.ok({"op": "enqueue", "queue": "edge", "func": "f", "id": "after"})
            assert c.ok({"op": "lease", "queues": ["edge"]})["job"]["id"] == "after"
    finally:
        stack.close()


def test_a_full_redis_refuses_clearly_and_writes_nothing_half(stack):
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "edge", "func": "f", "id": "before-full"})
        used = int(stack.redis.cli("INFO", "memory").split("used_memory:")[1].split()[0])
        stack.redis.cli("CONFIG", "SET", "maxmemory", str(used + 1_000_000))
        big = "x" * 2000
        refused = None
        for n in range(500):
            r = c.call({"op": "enqueue", "queue": "fill", "jobs": [{"func": "f", "args": [big], "id": f"b{n}-{i}"} for i in range(50)]})
            if not r["ok"]:
                refused = (n, r)
                break
        assert refused, "Redis never filled up"
        n, r = refused
        assert r["error"]["code"] == "UNAVAILABLE" and "maxmemory" in r["error"]["message"]
        # The refused batch is absent, whole: none of its jobs exists.
        assert all(c.call({"op": "job", "id": f"b{n}-{i}"})["error"]["code"] == "NOT_FOUND" for i in range(50))
        assert int(stack.redis.cli("LLEN", "rq:queue:fill").strip().split()[-1]) == 50 * n
        # A lease on a full Redis does not lose the job it pops.
        r = c.call({"op": "lease", "queues": ["edge"]})
        if r["ok"]:
            assert r["job"]["id"] == "before-full"
        else:
            assert r["error"]["code"] == "UNAVAILABLE"
            assert c.ok({"op": "job", "id": "before-full"})["job"]["state"] == "queued"
        stack.redis.cli("CONFIG", "SET", "maxmemory", "0")
        c.ok({"op": "enqueue", "queue": "edge", "func": "f", "id": "after-full"})


def _fill(stack):
    used = int(stack.redis.cli("INFO", "memory").split("used_memory:")[1].split()[0])
    stack.redis.cli("CONFIG", "SET", "maxmemory", str(used // 2))


def test_a_full_redis_refuses_writes_pipelined_behind_a_read_or_a_lease(stack):
    """A write that shares a script call with a lease (whose LPOP counts as a write) is refused
    like one sent alone; reads sent on their own answer; the log says so once, then once more
    when Redis has room."""
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "work", "jobs": [{"func": "f", "id": f"w{i}"} for i in range(5)]})
        _fill(stack)
        try:
            lines = []
            for i in range(5):
                lines += [{"op": "lease", "queues": ["work"]},
                          {"op": "enqueue", "queue": "late", "func": "f", "id": f"late-{i}", "args": ["x" * 50_000]}]
            c.send_raw(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
            for line in lines:
                r = c.reply()
                assert r["error"]["code"] == "UNAVAILABLE" and "maxmemory" in r["error"]["message"], (line, r)
            assert c.ok({"op": "job", "id": "w0"})["job"]["state"] == "queued", "reads answer while Redis is full"
            assert c.ok({"op": "stats"})["queues"]["work"]["queued"] == 5
            assert stack.redis.cli("LLEN", "rq:queue:late").split()[-1] == "0"
            assert stack.redis.cli("LLEN", "rq:queue:work").split()[-1] == "5", "no lease popped a job"
        finally:
            stack.redis.cli("CONFIG", "SET", "maxmemory", "0")
        c.ok({"op": "enqueue", "queue": "late", "func": "f", "id": "after"})
    log = stack.gateway.read_log()
    assert log.count("Redis is full (maxmemory)") == 1 and log.count("Redis takes writes again") == 1, log


def test_a_running_job_outlives_a_full_redis(stack):
    """Heartbeats go on while Redis is full, and leases are not expired meanwhile, so the job
    is acked once Redis has room."""
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "long", "func": "f", "id": "long"})
        job = c.ok({"op": "lease", "queues": ["long"], "lease_for": 1})["job"]
        _fill(stack)
        try:
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:  # three lease lengths, heartbeat by heartbeat
                assert c.ok({"op": "heartbeat", "id": "long", "lease": job["lease"], "extend": 1})["ok"]
                time.sleep(0.25)
            assert c.ok({"op": "job", "id": "long"})["job"]["state"] == "started"
        finally:
            stack.redis.cli("CONFIG", "SET", "maxmemory", "0")
        assert c.ok({"op": "ack", "id": "long", "lease": job["lease"]})["state"] == "finished"


def test_a_library_a_full_redis_refused_is_loaded_once_there_is_room(stack):
    """The function library is gone while Redis is full: reads go on through the plain script,
    and the library is loaded again within seconds of Redis having room."""
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "edge", "func": "f", "id": "kept"})
        used = int(stack.redis.cli("INFO", "memory").split("used_memory:")[1].split()[0])
        stack.redis.cli("CONFIG", "SET", "maxmemory", str(used // 2))
        try:
            stack.redis.cli("FUNCTION", "FLUSH")
            assert c.ok({"op": "job", "id": "kept"})["job"]["state"] == "queued"
            [line] = wait_until(lambda: [l for l in stack.gateway.read_log().splitlines() if "Redis functions are not available" in l],
                                what="the refused library in the log")
            assert "OOM" in line, line
        finally:
            stack.redis.cli("CONFIG", "SET", "maxmemory", "0")
        wait_until(lambda: "Redis functions are available again" in stack.gateway.read_log(), what="the library loaded again")
        assert stack.redis.cli("FUNCTION", "LIST").count("library_name") == 1
        assert c.ok({"op": "lease", "queues": ["edge"]})["job"]["id"] == "kept"


def test_an_evicting_redis_is_named_in_the_log_ping_and_stats(tmp_path):
    redis = RedisServer(str(tmp_path)).start()
    redis.cli("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    stack = Stack.__new__(Stack)
    stack.dir, stack.gateways, stack.redis = str(tmp_path), [], redis
    try:
        gateway = stack.add_gateway()
        with gateway.client(unix=True) as c:
            assert c.ok({"op": "ping"})["redis_maxmemory_policy"] == "allkeys-lru"
            assert c.ok({"op": "stats"})["gateway"]["redis_maxmemory_policy"] == "allkeys-lru"
        [line] = [l for l in gateway.read_log().splitlines() if "may evict" in l]
        assert "level=warn" in line and "noeviction" in line
    finally:
        stack.close()


def test_a_queue_key_another_program_wrote_loses_nothing_and_is_named(stack):
    """A string where RQ keeps a queue's list (or its started registry) must not fail a batch
    half-way with its first jobs made but never queued, nor break stats for every queue."""
    stack.redis.cli("SET", "rq:queue:clash", "not a list")
    stack.redis.cli("SET", "rq:wip:clash2", "not a zset")
    stack.redis.cli("SADD", "rq:queues", "rq:queue:clash")  # it was a queue before the clash
    with stack.client(unix=True) as c:
        batch = c.ok({"op": "enqueue", "jobs": [
            {"queue": "fine", "func": "f", "id": "w1"},
            {"queue": "clash", "func": "f", "id": "w2"},
            {"queue": "clash2", "func": "f", "id": "w3"},
            {"queue": "fine", "func": "f", "id": "w4"}]})["jobs"]
        assert [j["ok"] for j in batch] == [True, False, False, True], batch
        for refused, key in ((batch[1], "rq:queue:clash"), (batch[2], "rq:wip:clash2")):
            assert refused["error"]["code"] == "WRONG_TYPE" and key in refused["error"]["message"], refused
        # Nothing of a refused job was made; the others are queued, in order.
        assert c.call({"op": "job", "id": "w2"})["error"]["code"] == "NOT_FOUND"
        assert c.call({"op": "job", "id": "w3"})["error"]["code"] == "NOT_FOUND"
        assert stack.redis.raw("LRANGE", "rq:queue:fine", "0", "-1").split() == [b"w1", b"w4"]
        # A lease naming the queue is refused before it takes anything, from any queue.
        r = c.call({"op": "lease", "queues": ["fine", "clash"], "count": 2})
        assert r["error"]["code"] == "WRONG_TYPE" and "rq:queue:clash" in r["error"]["message"], r
        assert int(stack.redis.raw("LLEN", "rq:queue:fine")) == 2
        # stats names the key and still counts every other queue.
        queues = c.ok({"op": "stats"})["queues"]
        assert "rq:queue:clash holds a string" in queues["clash"]["problem"] and queues["clash"]["queued"] == 0
        assert queues["fine"]["queued"] == 2 and "problem" not in queues["fine"]
        # forget drops the queue from RQ's list and leaves the other program's key alone.
        c.ok({"op": "forget", "queue": "clash"})
        assert "clash" not in c.ok({"op": "stats"})["queues"]
        assert stack.redis.raw("GET", "rq:queue:clash").strip() == b"not a list"
        assert [j["id"] for j in c.ok({"op": "lease", "queues": ["fine"], "count": 2})["jobs"]] == ["w1", "w4"]


def test_an_enqueue_refuses_a_job_whose_other_keys_another_program_wrote(stack):
    stack.redis.cli("SET", "rq:job:str-parent", "not a hash")
    stack.redis.cli("SET", "rq:scheduled:later", "not a zset")
    with stack.client(unix=True) as c:
        batch = c.ok({"op": "enqueue", "jobs": [
            {"queue": "fine2", "func": "f", "id": "k1"},
            {"queue": "fine2", "func": "f", "id": "k2", "depends_on": ["str-parent"]},
            {"queue": "later", "func": "f", "id": "k3", "delay": 60},
            {"queue": "fine2", "func": "f", "id": "k4"}]})["jobs"]
        assert [j["ok"] for j in batch] == [True, False, False, True], batch
        assert "rq:job:str-parent holds a string" in batch[1]["error"]["message"]
        assert "rq:scheduled:later holds a string" in batch[2]["error"]["message"]
        for jid in ("k2", "k3"):
            assert c.call({"op": "job", "id": jid})["error"]["code"] == "NOT_FOUND"
        assert stack.redis.raw("LRANGE", "rq:queue:fine2", "0", "-1").split() == [b"k1", b"k4"]


def test_an_enqueue_that_failed_mid_call_leaves_nothing_to_the_next_call(stack):
    """enqueue's function is made once and kept by Redis: state one call gathered (its run of
    jobs to push) must not reach the next call when an unexpected error cut the first short."""
    stack.redis.cli("SET", "rq:job::odd:dependencies", "not a set")  # nothing checks this key
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "leak", "func": "f", "id": "parent"})
        r = c.call({"op": "enqueue", "jobs": [{"queue": "leak", "func": "f", "id": "first"},
                                              {"queue": "leak", "func": "f", "id": "odd", "depends_on": ["parent"]}]})
        assert r["error"]["code"] == "INTERNAL" and "WRONGTYPE" in r["error"]["message"], r
        c.ok({"op": "enqueue", "queue": "leak", "func": "f", "id": "next"})
        assert stack.redis.raw("LRANGE", "rq:queue:leak", "0", "-1").split() == [b"parent", b"next"]


def test_a_lease_drops_a_queued_id_whose_key_is_not_a_job_and_takes_the_rest(stack):
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "mixed", "func": "f", "id": "good-1"})
        stack.redis.cli("SET", "rq:job:bad-1", "not a hash")
        stack.redis.cli("RPUSH", "rq:queue:mixed", "bad-1")
        c.ok({"op": "enqueue", "queue": "mixed", "func": "f", "id": "good-2"})
        jobs = c.ok({"op": "lease", "queues": ["mixed"], "count": 3})["jobs"]
        assert [j["id"] for j in jobs] == ["good-1", "good-2"]
        held = stack.redis.raw("ZRANGE", "rq:wip:mixed", "0", "-1").split()
        assert sorted(m.split(b":")[0] for m in held) == [b"good-1", b"good-2"]
        assert stack.redis.raw("GET", "rq:job:bad-1").strip() == b"not a hash"


def test_a_named_lease_refuses_when_rq_worker_keys_were_overwritten(stack):
    stack.redis.cli("SET", "rq:workers", "not a set")
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "wq", "func": "f", "id": "wq-1"})
        r = c.call({"op": "lease", "queues": ["wq"], "worker": "wk1"})
        assert r["error"]["code"] == "WRONG_TYPE" and "rq:workers holds a string" in r["error"]["message"], r
        assert stack.redis.raw("LRANGE", "rq:queue:wq", "0", "-1").split() == [b"wq-1"]
        assert c.ok({"op": "job", "id": "wq-1"})["job"]["state"] == "queued"


@pytest.mark.parametrize("key, request_", [
    ("rq:finished:{q}", {"op": "ack"}),
    ("rq:failed:{q}", {"op": "fail", "error": "boom", "retry": False}),
    ("rq:scheduled:{q}", {"op": "release", "delay": 60}),
    ("rq:canceled:{q}", {"op": "ack"}),
    ("rq:worker:wk2", {"op": "heartbeat"}),
    ("rq:worker:wk2:executions", {"op": "ack"}),
], ids=["ack-finished", "fail-failed", "release-scheduled", "ack-canceled", "heartbeat-worker", "ack-executions"])
def test_a_settling_op_refuses_before_writing_when_a_key_was_overwritten(stack, key, request_):
    """The lease keeps the job (still started, still in rq:wip) so the same request succeeds
    once the key is put right, where the op used to end the lease and then fail half-way."""
    q = "settle"
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": q, "func": "f", "id": "s-1"})
        job = c.ok({"op": "lease", "queues": [q], "worker": "wk2"})["job"]
        stack.redis.cli("DEL", key.format(q=q))
        stack.redis.cli("SET", key.format(q=q), "not what RQ keeps")
        request = {**request_, "id": "s-1", "lease": job["lease"]}
        r = c.call(request)
        assert r["error"]["code"] == "WRONG_TYPE" and key.format(q=q) in r["error"]["message"], r
        assert c.ok({"op": "job", "id": "s-1"})["job"]["state"] == "started"
        assert stack.redis.raw("ZSCORE", f"rq:wip:{q}", f"s-1:{job['lease']}").strip() != b""
        stack.redis.cli("DEL", key.format(q=q))
        assert c.ok(request)["ok"] is True


def test_the_sweep_goes_on_past_a_queue_whose_key_was_overwritten_and_says_so(stack):
    stack.redis.cli("SADD", "rq:queues", "rq:queue:sx")
    stack.redis.cli("SET", "rq:scheduled:sx", "not a zset")
    with stack.client(unix=True) as c:
        for i in range(4):  # queues on both sides of sx in SMEMBERS order
            c.ok({"op": "enqueue", "queue": f"sw{i}", "func": "f", "id": f"sw-{i}"})
            c.ok({"op": "lease", "queues": [f"sw{i}"], "lease_for": 1})
        c.ok({"op": "enqueue", "queue": "sw0", "func": "f", "id": "later", "delay": 1})
        wait_until(lambda: all(c.ok({"op": "job", "id": f"sw-{i}"})["job"]["state"] == "failed" for i in range(4))
                   and c.ok({"op": "job", "id": "later"})["job"]["state"] == "queued", timeout=10,
                   what="leases to expire and the scheduled job to move in the other queues")
    lines = [l for l in stack.gateway.read_log().splitlines() if "sweep incomplete" in l]
    assert len(lines) == 1 and "rq:scheduled:sx holds a string" in lines[0], lines


def test_an_internal_error_is_logged_with_its_op(stack):
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "q", "func": "f", "id": "odd-results"})
        stack.redis.cli("SET", "rq:results:odd-results", "not a stream")
        for _ in range(3):
            assert c.call({"op": "job", "id": "odd-results"})["error"]["code"] == "INTERNAL"
    lines = [l for l in stack.gateway.read_log().splitlines() if "request failed with INTERNAL" in l]
    assert len(lines) == 1 and "op=job" in lines[0] and "WRONGTYPE" in lines[0], lines  # once a second at most


@pytest.mark.parametrize("key, request_, state", [
    ("rq:canceled:{q}", {"op": "cancel", "id": "c-1"}, "queued"),
    ("rq:finished:{q}", {"op": "delete", "id": "c-1"}, "queued"),
    ("rq:scheduled:{q}", {"op": "empty", "queue": "{q}"}, "queued"),
], ids=["cancel", "delete", "empty"])
def test_queue_ops_refuse_before_writing_when_a_key_was_overwritten(stack, key, request_, state):
    q = "qops"
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": q, "func": "f", "id": "c-1"})
        stack.redis.cli("SET", key.format(q=q), "not what RQ keeps")
        request = {k: v.format(q=q) if isinstance(v, str) else v for k, v in request_.items()}
        r = c.call(request)
        assert r["error"]["code"] == "WRONG_TYPE" and key.format(q=q) in r["error"]["message"], r
        assert c.ok({"op": "job", "id": "c-1"})["job"]["state"] == state
        assert stack.redis.raw("LRANGE", f"rq:queue:{q}", "0", "-1").split() == [b"c-1"]


def test_a_dependent_in_a_queue_whose_key_was_overwritten_stays_deferred(stack):
    """Acking a parent releases its dependents; one whose own queue's key another program
    wrote stays deferred (nothing half done) while the parent's ack succeeds."""
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "qa", "func": "f", "id": "par"})
        c.ok({"op": "enqueue", "queue": "qb", "func": "f", "id": "kid", "depends_on": ["par"]})
        lease = c.ok({"op": "lease", "queues": ["qa"]})["job"]["lease"]
        stack.redis.cli("SET", "rq:queue:qb", "not a list")
        assert c.ok({"op": "ack", "id": "par", "lease": lease})["state"] == "finished"
        assert c.ok({"op": "job", "id": "kid"})["job"]["state"] == "deferred"
        assert stack.redis.raw("ZRANGE", "rq:deferred:qb", "0", "-1").split() == [b"kid"]
        assert stack.redis.raw("SMEMBERS", "rq:job:par:dependents").split() == [b"kid"]


def test_a_rate_limit_slot_handed_to_a_queue_whose_key_was_overwritten_waits(stack):
    """j1 (qa) holds key K's only slot, j2 (qb) waits for it. When j1's lease ends, j2 would go
    onto qb, whose key another program wrote: j2 keeps its place in line instead of being lost,
    and is let in once the key is removed."""
    limit = {"key": "K", "concurrency": 1}
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "qa", "func": "f", "id": "j1", "rate_limit": limit})
        assert c.ok({"op": "enqueue", "queue": "qb", "func": "f", "id": "j2", "rate_limit": limit})["state"] == "rate_limited"
        lease = c.ok({"op": "lease", "queues": ["qa"]})["job"]["lease"]
        stack.redis.cli("SET", "rq:queue:qb", "not a list")
        assert c.ok({"op": "release", "id": "j1", "lease": lease, "delay": 60})["state"] == "scheduled"
        assert c.ok({"op": "job", "id": "j2"})["job"]["state"] == "rate_limited"
        assert stack.redis.raw("ZRANGE", "rq:rl:K:rate_limited", "0", "-1").split() == [b"j2"]
        assert stack.redis.raw("ZCARD", "rq:rl:K:allowed").strip() == b"0"
        stack.redis.cli("DEL", "rq:queue:qb")
        # The sweep's rate-limit upkeep (once a second) lets it in.
        wait_until(lambda: c.ok({"op": "job", "id": "j2"})["job"]["state"] == "queued", timeout=10, what="j2 let in")
        assert stack.redis.raw("LRANGE", "rq:queue:qb", "0", "-1").split() == [b"j2"]


def test_a_rate_limit_key_another_program_wrote_fails_no_listing_and_is_logged_once(stack):
    stack.redis.cli("SADD", "rq:rl-keys", "K2")
    stack.redis.cli("SET", "rq:rl:K2:rate_limited", "not a zset")
    stack.redis.cli("SET", "rq:rl:K2:allowed", "not a zset")
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "fine3", "func": "f", "id": "f3"})
        assert c.ok({"op": "stats"})["queues"]["fine3"]["queued"] == 1
        c.ok({"op": "forget", "queue": "nothing-there"})
        r = c.call({"op": "enqueue", "queue": "fine3", "func": "f", "rate_limit": {"key": "K2", "concurrency": 1}})
        assert r["error"]["code"] == "WRONG_TYPE" and "rq:rl:K2" in r["error"]["message"], r
        wait_until(lambda: "sweep incomplete" in stack.gateway.read_log(), timeout=10, what="the sweep to say so")
        # Part of the sweep runs once a second: the warning must not come and go with it.
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            c.ok({"op": "ping"})
        log = stack.gateway.read_log()
        assert log.count("sweep incomplete") == 1 and "sweep complete again" not in log, log
        assert "rq:rl:K2" in [l for l in log.splitlines() if "sweep incomplete" in l][0]
