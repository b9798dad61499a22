"""A heartbeat succeeds exactly when an ack would (protocol.md, "When a lease is lost")."""
from jobgate_harness import wait_until


def expire_unswept(stack, queue, job):
    """Puts the lease's expiry in the past where no sweep looks: the sweeps visit the queues in
    rq:queues, so the queue is taken out of it first."""
    stack.redis.cli("SREM", "rq:queues", f"rq:queue:{queue}")
    changed = stack.redis.cli("ZADD", f"rq:wip:{queue}", "XX", "CH", 1, f"{job['id']}:{job['lease']}")
    assert changed.strip() == "(integer) 1"


def test_heartbeat_extends_an_expired_lease_that_no_sweep_took_back(stack, client):
    client.ok({"op": "enqueue", "queue": "late", "func": "a.b", "id": "late-1"})
    job = client.ok({"op": "lease", "queues": ["late"], "lease_for": 60})["job"]
    expire_unswept(stack, "late", job)

    beat = client.ok({"op": "heartbeat", "id": job["id"], "lease": job["lease"], "extend": 30})
    assert beat["expires_at"] > job["expires_at"] - 60
    score = float(stack.redis.raw("ZSCORE", "rq:wip:late", f"{job['id']}:{job['lease']}"))
    assert score == beat["expires_at"]
    assert client.ok({"op": "ack", "id": job["id"], "lease": job["lease"]})["state"] == "finished"


def test_heartbeat_and_ack_both_refuse_a_lease_a_sweep_took_back(stack, client):
    client.ok({"op": "enqueue", "queue": "swept", "func": "a.b", "id": "swept-1", "retries": 1})
    job = client.ok({"op": "lease", "queues": ["swept"], "lease_for": 1})["job"]
    wait_until(lambda: client.ok({"op": "job", "id": job["id"]})["job"]["state"] == "queued",
               what="the sweep to take the lease back")
    for op in ("heartbeat", "ack", "fail", "release"):
        r = client.call({"op": op, "id": job["id"], "lease": job["lease"]})
        assert r["ok"] is False and r["error"]["code"] == "LEASE_LOST", (op, r)
