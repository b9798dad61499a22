"""Registry ops (cancel, delete, failed, requeue, pause/resume), result waits and dependencies."""
import json
import time

from jobgate_harness import BlockingRequest, start_waiting_leases, wait_until
from job_steps import enqueue, fail_next, lease


def test_cancel_queued_scheduled_deferred(stack, client):
    queued = enqueue(client)
    scheduled = enqueue(client, delay=100)
    parent = enqueue(client, queue="other")
    deferred = enqueue(client, depends_on=[parent])
    for jid in (queued, scheduled, deferred):
        assert client.ok({"op": "cancel", "id": jid}) == {"ok": True, "state": "canceled"}
        assert client.ok({"op": "job", "id": jid})["job"]["state"] == "canceled"
        assert stack.redis.raw("ZSCORE", "rq:canceled:q", jid).strip() != b""
    assert stack.redis.raw("LLEN", "rq:queue:q").strip() == b"0"
    assert stack.redis.raw("ZCARD", "rq:scheduled:q").strip() == b"0"
    assert stack.redis.raw("ZCARD", "rq:deferred:q").strip() == b"0"
    assert lease(client) is None


def test_cancel_started_job_is_wrong_state(client):
    jid = enqueue(client)
    lease(client)
    r = client.call({"op": "cancel", "id": jid})
    assert r["error"]["code"] == "WRONG_STATE" and "started" in r["error"]["message"]
    assert client.call({"op": "cancel", "id": "nope"})["error"]["code"] == "NOT_FOUND"


def test_delete_removes_every_trace(stack, client):
    jid = enqueue(client, retries=1)
    job = lease(client)
    client.ok({"op": "delete", "id": jid})
    assert client.call({"op": "job", "id": jid})["error"]["code"] == "NOT_FOUND"
    keys = stack.redis.raw("KEYS", f"*{jid}*").split()
    assert keys == [], keys
    assert stack.redis.raw("ZCARD", "rq:wip:q").strip() == b"0"
    assert client.call({"op": "ack", "id": jid, "lease": job["lease"]})["error"]["code"] == "NOT_FOUND"
    finished = enqueue(client)
    j = lease(client)
    client.ok({"op": "ack", "id": finished, "lease": j["lease"], "result": 1})
    client.ok({"op": "delete", "id": finished})
    assert stack.redis.raw("ZCARD", "rq:finished:q").strip() == b"0"
    assert client.call({"op": "delete", "id": finished})["error"]["code"] == "NOT_FOUND"


def test_failed_pages_with_errors(client):
    ids = []
    for i in range(5):
        enqueue(client, args=[i])
        ids.append(fail_next(client, error=f"error {i}"))
    page = client.ok({"op": "failed", "queue": "q", "offset": 1, "limit": 2})
    assert page["total"] == 5
    assert [j["id"] for j in page["jobs"]] == ids[1:3]
    assert [j["error"] for j in page["jobs"]] == ["error 1", "error 2"]
    assert all(j["state"] == "failed" for j in page["jobs"])
    assert client.ok({"op": "failed", "queue": "q", "offset": 5})["jobs"] == []
    assert client.ok({"op": "failed", "queue": "empty"}) == {"ok": True, "total": 0, "jobs": [], "next_offset": None}


def test_requeue_one_and_all(stack, client):
    a = enqueue(client)
    fail_next(client)
    others = [enqueue(client) for _ in range(3)]
    for _ in others:
        fail_next(client)
    assert client.ok({"op": "requeue", "id": a}) == {"ok": True, "requeued": 1, "still_failed": 3}
    job = lease(client)
    assert job["id"] == a
    again = client.ok({"op": "job", "id": a})["job"]
    assert again["state"] == "started" and again["attempts"] == 2 and again["error"] == "boom", "error is the last failed attempt's"
    assert client.call({"op": "requeue", "id": a})["error"]["code"] == "WRONG_STATE"
    assert client.ok({"op": "requeue", "queue": "q", "all": True}) == {"ok": True, "requeued": 3, "still_failed": 0}
    assert sorted(j["id"] for j in client.ok({"op": "lease", "queues": ["q"], "count": 10})["jobs"]) == sorted(others)
    assert client.call({"op": "requeue", "queue": "q"})["error"]["code"] == "BAD_REQUEST"
    assert client.call({"op": "requeue", "queue": "q", "all": True, "limit": 5})["error"]["code"] == "BAD_REQUEST"


def test_requeue_in_limited_steps(client):
    ids = [enqueue(client) for _ in range(5)]
    for _ in ids:
        fail_next(client)
    assert client.ok({"op": "requeue", "queue": "q", "limit": 2}) == {"ok": True, "requeued": 2, "still_failed": 3}
    assert client.ok({"op": "requeue", "queue": "q", "limit": 2500}) == {"ok": True, "requeued": 3, "still_failed": 0}
    got = [j["id"] for j in client.ok({"op": "lease", "queues": ["q"], "count": 10})["jobs"]]
    assert got == ids, "oldest failures are requeued first, in order"


def test_requeue_all_at_100k_failed_jobs(stack, client):
    # Fill the failed registry the way the fail script leaves it, straight into Redis.
    n = 100_000
    script = (
        "for i = 1, tonumber(ARGV[1]) do "
        "local id = 'bulk-' .. i "
        "redis.call('HSET', 'rq:job:' .. id, 'origin', 'big', 'status', 'failed', 'data', 'x') "
        "redis.call('ZADD', 'rq:failed:big', 1e10, id) end return 1")
    stack.redis.raw("EVAL", script, 0, n)
    stack.redis.raw("SADD", "rq:queues", "rq:queue:big")
    start = time.time()
    r = client.ok({"op": "requeue", "queue": "big", "all": True})
    elapsed = time.time() - start
    assert r == {"ok": True, "requeued": n, "still_failed": 0}
    assert int(stack.redis.raw("LLEN", "rq:queue:big")) == n
    assert elapsed < 60, f"requeue of {n} took {elapsed:.1f}s"
    # The gateway stayed responsive: other requests were answered between chunks.
    assert client.ok({"op": "ping"})["redis"] == "ready"


def test_result_waits_for_ack(stack, client):
    jid = enqueue(client)
    waiter = BlockingRequest(stack.gateway, {"op": "result", "id": jid, "wait": 20})
    waiter.start()
    job = lease(client)
    wait_until(lambda: stack.redis.raw("HGET", f"rq:job:{jid}", "jobgate_awaited").strip() == b"1", what="await mark")
    sent = time.time()
    client.ok({"op": "ack", "id": jid, "lease": job["lease"], "result": [4, 2]})
    reply = waiter.result()
    assert reply["done"] is True and reply["job"]["result"] == [4, 2]
    assert waiter.replied_at - sent < 0.5, "result must wake on the ack, not on a poll"


def test_results_pipelined_with_the_ack_that_ends_their_job_wake_at_once(stack):
    """N waiting results and the ack, in one write: the ack's announcement may be read (on the
    subscriber connection) before the replies of the checks that register the waiters. Each
    must still answer at once, not at the next second's poll."""
    with stack.client() as c:
        for n in [1, 2, 3, 4, 5, 6, 7] * 3:
            jid = c.ok({"op": "enqueue", "queue": "rpc", "func": "f"})["id"]
            lease = c.ok({"op": "lease", "queues": ["rpc"]})["job"]["lease"]
            waits = (json.dumps({"op": "result", "id": jid, "wait": 5}) + "\n") * n
            sent = time.monotonic()
            c.send_raw((waits + json.dumps({"op": "ack", "id": jid, "lease": lease}) + "\n").encode())
            replies = [c.reply() for _ in range(n + 1)]
            elapsed = time.monotonic() - sent
            assert all(r["done"] is True for r in replies[:n]) and replies[n]["state"] == "finished", replies
            assert elapsed < 0.5, f"{n} results answered after {elapsed:.2f} s: a missed wake-up"


def test_result_of_failed_and_timeout(client):
    jid = enqueue(client)
    r = client.ok({"op": "result", "id": jid, "wait": 0.2})
    assert r["done"] is False and r["job"]["state"] == "queued"
    fail_next(client, error="nope")
    r = client.ok({"op": "result", "id": jid, "wait": 5})
    assert r["done"] is True and r["job"]["state"] == "failed" and r["job"]["error"] == "nope"
    assert client.call({"op": "result", "id": "missing"})["error"]["code"] == "NOT_FOUND"


def test_depends_on_defers_until_parents_finish(stack, client):
    p1 = enqueue(client, queue="parents")
    p2 = enqueue(client, queue="parents")
    child = client.ok({"op": "enqueue", "queue": "kids", "func": "f", "depends_on": [p1, p2]})
    assert child["state"] == "deferred"
    cid = child["id"]
    assert stack.redis.raw("ZSCORE", "rq:deferred:kids", cid).strip() != b""
    assert sorted(stack.redis.raw("SMEMBERS", f"rq:job::{cid}:dependencies").split()) == sorted([p1.encode(), p2.encode()])
    assert stack.redis.raw("SISMEMBER", f"rq:job:{p1}:dependents", cid).strip() == b"1"
    for expected_child_state in ("deferred", "queued"):
        job = lease(client, "parents")
        client.ok({"op": "ack", "id": job["id"], "lease": job["lease"]})
        assert client.ok({"op": "job", "id": cid})["job"]["state"] == expected_child_state
    assert lease(client, "kids")["id"] == cid
    # A parent that already finished does not defer.
    assert client.ok({"op": "enqueue", "queue": "kids", "func": "f", "depends_on": p1})["state"] == "queued"
    r = client.call({"op": "enqueue", "queue": "kids", "func": "f", "depends_on": ["ghost"]})
    assert r["error"]["code"] == "NOT_FOUND" and "ghost" in r["error"]["message"]


def test_failed_parent_keeps_child_deferred(client):
    parent = enqueue(client)
    cid = client.ok({"op": "enqueue", "queue": "kids", "func": "f", "depends_on": [parent]})["id"]
    fail_next(client)
    assert client.ok({"op": "job", "id": cid})["job"]["state"] == "deferred"


def test_pause_and_resume(stack, client):
    jid = enqueue(client, queue="pq")
    assert client.ok({"op": "pause", "queue": "pq"}) == {"ok": True, "queue": "pq", "paused": True, "queued": 1}
    assert lease(client, "pq") is None
    assert client.ok({"op": "stats"})["queues"]["pq"]["paused"] is True
    [waiter] = start_waiting_leases(stack.gateway, {"op": "lease", "queues": ["pq"], "wait": 20})
    client.ok({"op": "resume", "queue": "pq"})
    assert waiter.result()["job"]["id"] == jid
    assert client.ok({"op": "stats"})["queues"]["pq"]["paused"] is False
