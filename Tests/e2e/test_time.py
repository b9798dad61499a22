"""Lease expiry, scheduled jobs and blocking leases: the parts that depend on time."""
import time

from jobgate_harness import start_waiting_leases, wait_until


def test_expired_lease_is_retried_then_failed(stack, client):
    jid = client.ok({"op": "enqueue", "queue": "q", "func": "f", "retries": 1})["id"]
    first = client.ok({"op": "lease", "queues": ["q"], "lease_for": 1})["job"]
    # No heartbeat: the sweeper takes the job back as a failed attempt and re-queues it.
    second = client.ok({"op": "lease", "queues": ["q"], "wait": 5, "lease_for": 1})["job"]
    assert second["id"] == jid and second["attempt"] == 2 and second["retries_left"] == 0
    assert second["lease"] != first["lease"]
    assert client.call({"op": "heartbeat", "id": jid, "lease": first["lease"]})["error"]["code"] == "LEASE_LOST"
    wait_until(lambda: client.ok({"op": "job", "id": jid})["job"]["state"] == "failed", what="second expiry")
    job = client.ok({"op": "job", "id": jid})["job"]
    assert job["error"] == "lease expired"
    assert client.call({"op": "ack", "id": jid, "lease": second["lease"]})["error"]["code"] == "LEASE_LOST"
    assert client.ok({"op": "stats"})["gateway"]["lease_expiries"] >= 2


def test_heartbeats_keep_a_short_lease_alive(client):
    jid = client.ok({"op": "enqueue", "queue": "q", "func": "f"})["id"]
    job = client.ok({"op": "lease", "queues": ["q"], "lease_for": 1})["job"]
    deadline = time.time() + 3
    while time.time() < deadline:
        client.ok({"op": "heartbeat", "id": jid, "lease": job["lease"]})
        time.sleep(0.3)
    assert client.ok({"op": "ack", "id": jid, "lease": job["lease"]})["state"] == "finished"
    assert client.ok({"op": "job", "id": jid})["job"]["attempts"] == 1


def test_scheduled_job_moves_on_time(client):
    r = client.ok({"op": "enqueue", "queue": "q", "func": "f", "delay": 1})
    assert r["state"] == "scheduled"
    assert client.ok({"op": "lease", "queues": ["q"]})["job"] is None
    start = time.time()
    job = client.ok({"op": "lease", "queues": ["q"], "wait": 5})["job"]
    assert job is not None and job["id"] == r["id"]
    assert time.time() >= r["run_at"] - 0.05, "ran before its time"
    assert time.time() - start < 4


def test_waiting_lease_times_out_with_null(client):
    start = time.time()
    r = client.ok({"op": "lease", "queues": ["empty"], "wait": 0.5})
    assert r["job"] is None and 0.45 <= time.time() - start < 3
    r = client.ok({"op": "lease", "queues": ["empty"], "wait": 0.3, "count": 4})
    assert r["jobs"] == []


def test_waiting_lease_wakes_for_enqueue_on_another_connection(stack, client):
    [lease] = start_waiting_leases(stack.gateway, {"op": "lease", "queues": ["wake"], "wait": 30})
    sent = time.time()
    jid = client.ok({"op": "enqueue", "queue": "wake", "func": "f"})["id"]
    assert lease.result()["job"]["id"] == jid
    assert lease.replied_at - sent < 1.0, "a waiting lease must wake on the enqueue, not on a poll"


def test_waiting_lease_wakes_across_gateways(stack):
    other = stack.add_gateway()
    [lease] = start_waiting_leases(other, {"op": "lease", "queues": ["x"], "wait": 30})
    with stack.client() as c:
        sent = time.time()
        jid = c.ok({"op": "enqueue", "queue": "x", "func": "f"})["id"]
    assert lease.result()["job"]["id"] == jid and lease.replied_at - sent < 1.0


def test_many_waiters_each_get_one_job(stack, client):
    leases = start_waiting_leases(stack.gateway, {"op": "lease", "queues": ["many"], "wait": 20}, count=10)
    ids = [client.ok({"op": "enqueue", "queue": "many", "func": "f"})["id"] for _ in range(10)]
    results = [lease.result()["job"] for lease in leases]
    assert sorted(job["id"] for job in results if job) == sorted(ids)


def test_job_pushed_by_a_plain_rq_producer_is_found_while_waiting(stack, client):
    # An RQ producer writes the hash and pushes the id but publishes no wake-up.
    import zlib
    data = zlib.compress(b'["m.f", null, [], {}]')
    [lease] = start_waiting_leases(stack.gateway, {"op": "lease", "queues": ["rqp"], "wait": 10})
    stack.redis.cli("HSET", "rq:job:from-rq", "origin", "rqp", "status", "queued")
    with open(stack.dir + "/data.bin", "wb") as f:
        f.write(data)
    import subprocess
    subprocess.run(["redis-cli", "-s", stack.redis.socket, "-x", "HSET", "rq:job:from-rq", "data"],
                   stdin=open(stack.dir + "/data.bin", "rb"), check=True, capture_output=True)
    stack.redis.cli("RPUSH", "rq:queue:rqp", "from-rq")
    job = lease.result(timeout=15)["job"]
    assert job["id"] == "from-rq" and job["func"] == "m.f"


def test_wake_up_subscription_comes_back_after_redis_drops_it(stack, client):
    """Redis drops the gateway's pub/sub connection (CLIENT KILL, a proxy's idle timeout): the
    gateway subscribes again, and waiting leases are woken by enqueues as before."""
    def subscribers():
        out = stack.redis.raw("PUBSUB", "NUMSUB", "jobgate:ready").split()
        return int(out[1])

    wait_until(lambda: subscribers() == 1, what="the gateway to subscribe")
    killed = int(stack.redis.raw("CLIENT", "KILL", "TYPE", "pubsub").strip())
    assert killed == 1
    wait_until(lambda: subscribers() == 1, timeout=15, what="the gateway to subscribe again")
    [lease] = start_waiting_leases(stack.gateway, {"op": "lease", "queues": ["resub"], "wait": 30})
    jid = client.ok({"op": "enqueue", "queue": "resub", "func": "f"})["id"]
    assert lease.result()["job"]["id"] == jid
