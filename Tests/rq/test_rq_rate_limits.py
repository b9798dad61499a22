"""RQ 3.0's concurrency limits (`RateLimit(key, concurrency)`) through jobgate: RQ's keys and
release rule, so that RQ-limited jobs never stall and never run more than `concurrency` at once,
whoever produces or consumes them. Tests naming RQ's RateLimit or running RQ workers on limited
jobs need RQ 3 (RQ 2 cannot read a rate_limited job) and are skipped with RQ 2."""
import threading
import time

import pytest
import rq

from rqinterop import fetch, wait_redis_time_past, redis_now
from jobgate_harness import wait_until

needs_rq3 = pytest.mark.skipif(not hasattr(rq, "RateLimit"), reason="RQ 2 has no rate limits")

# Jobs of a key that are queued or started right now, in one atomic read.
COUNT_HOLDING = """
local n = 0
for _, id in ipairs(ARGV) do
  local s = redis.call('HGET', 'rq:job:' .. id, 'status')
  if s == 'queued' or s == 'started' then n = n + 1 end
end
return n
"""


def enqueue(client, queue, job_id, key="api", concurrency=1, **extra):
    return client.ok({"op": "enqueue", "queue": queue, "func": "rqtasks.add", "args": [1, 2], "id": job_id,
                      "rate_limit": {"key": key, "concurrency": concurrency}, **extra})["state"]


def lease(client, queue, **extra):
    return client.ok({"op": "lease", "queues": [queue], **extra})["job"]


def ack(client, job):
    return client.ok({"op": "ack", "id": job["id"], "lease": job["lease"]})["state"]


def allowed(r, key="api"):
    return [m.decode() for m in r.zrange(f"rq:rl:{key}:allowed", 0, -1)]


def waiting(r, key="api"):
    return [m.decode() for m in r.zrange(f"rq:rl:{key}:rate_limited", 0, -1)]


def status(r, job_id):
    return r.hget(f"rq:job:{job_id}", "status").decode()


def test_enqueue_with_a_rate_limit_writes_rqs_layout(stack, client, r):
    assert enqueue(client, "rl", "a", concurrency=2) == "queued"
    assert enqueue(client, "rl", "b", concurrency=2) == "queued"
    assert enqueue(client, "rl", "c", concurrency=2, at_front=True) == "rate_limited"
    assert r.smembers("rq:rl-keys") == {b"api"}
    assert r.hget("rq:rl:api", "concurrency") == b"2"
    assert allowed(r) == ["a", "b"] and waiting(r) == ["c"]
    job = r.hgetall("rq:job:c")
    assert job[b"rate_limit_key"] == b"api" and job[b"rate_limit_concurrency"] == b"2"
    assert job[b"status"] == b"rate_limited" and job[b"enqueue_at_front"] == b"1"
    assert client.ok({"op": "job", "id": "c"})["job"]["state"] == "rate_limited"
    assert client.ok({"op": "stats"})["queues"]["rl"]["rate_limited"] == 1
    assert r.lrange("rq:queue:rl", 0, -1) == [b"a", b"b"]

    first = lease(client, "rl")
    assert ack(client, first) == "finished"
    # c was admitted, at the front of its queue as it asked.
    assert allowed(r) == ["b", "c"] and waiting(r) == []
    assert r.lrange("rq:queue:rl", 0, -1) == [b"c", b"b"]
    assert client.ok({"op": "stats"})["queues"]["rl"]["rate_limited"] == 0


def test_bad_rate_limits_are_refused(stack, client):
    for bad, words in (({"key": "", "concurrency": 1}, "'key'"), ({"key": "k", "concurrency": 0}, "concurrency"),
                       ({"key": "k"}, "concurrency"), ({"key": "k", "concurrency": 1, "x": 1}, "'x'"), ("k", "object")):
        reply = client.call({"op": "enqueue", "queue": "rl", "func": "f", "rate_limit": bad})
        assert reply["ok"] is False and reply["error"]["code"] == "BAD_REQUEST", reply
        assert words in reply["error"]["message"] and "rate_limit" in reply["error"]["message"], reply


def test_release_rule_frees_a_slot_only_when_the_job_leaves_queued_and_started(stack, client, r):
    """RQ's rule: an outcome that sends the job straight back keeps its slot; any other frees it."""
    assert enqueue(client, "rl", "a", retries=1) == "queued"
    assert enqueue(client, "rl", "b") == "rate_limited"
    held = lease(client, "rl")
    client.ok({"op": "release", "id": "a", "lease": held["lease"]})  # no delay: kept
    assert allowed(r) == ["a"] and waiting(r) == ["b"]
    held = lease(client, "rl")
    client.ok({"op": "fail", "id": "a", "lease": held["lease"], "error": "again"})  # immediate retry: kept
    assert status(r, "a") == "queued" and allowed(r) == ["a"] and waiting(r) == ["b"]
    held = lease(client, "rl")
    client.ok({"op": "fail", "id": "a", "lease": held["lease"], "error": "for good", "retry": False})
    assert allowed(r) == ["b"] and waiting(r) == [] and status(r, "b") == "queued"

    assert enqueue(client, "rl", "c") == "rate_limited"
    held = lease(client, "rl")
    client.ok({"op": "release", "id": "b", "lease": held["lease"], "delay": 60})  # delayed: freed
    assert allowed(r) == ["c"] and status(r, "b") == "scheduled"

    # The failed job requeued goes to the back of the line.
    client.ok({"op": "requeue", "id": "a"})
    assert status(r, "a") == "rate_limited" and waiting(r) == ["a"]


def test_expired_lease_frees_the_slot_once_it_ends_the_job(stack, client, r):
    assert enqueue(client, "rl", "a", retries=1) == "queued"
    assert enqueue(client, "rl", "b") == "rate_limited"
    lease(client, "rl", lease_for=1)
    # Expired with a retry left: back on its queue, still holding the slot.
    wait_until(lambda: status(r, "a") == "queued", timeout=10, what="the expired lease to be retried")
    assert allowed(r) == ["a"] and waiting(r) == ["b"]
    lease(client, "rl", lease_for=1)
    wait_until(lambda: status(r, "a") == "failed", timeout=10, what="the expired lease to fail the job")
    assert allowed(r) == ["b"] and status(r, "b") == "queued"


def test_cancel_and_delete_give_the_slot_on(stack, client, r):
    assert enqueue(client, "rl", "a") == "queued"
    assert enqueue(client, "rl", "b") == "rate_limited"
    assert enqueue(client, "rl", "c") == "rate_limited"
    assert client.ok({"op": "cancel", "id": "b"})["state"] == "canceled"
    assert waiting(r) == ["c"] and allowed(r) == ["a"]
    assert client.ok({"op": "cancel", "id": "a"})["state"] == "canceled"
    assert allowed(r) == ["c"] and r.lrange("rq:queue:rl", 0, -1) == [b"c"]
    assert enqueue(client, "rl", "d") == "rate_limited"
    assert client.ok({"op": "delete", "id": "c"})["state"] == "deleted"
    assert allowed(r) == ["d"] and status(r, "d") == "queued"


def test_jobs_entering_later_go_through_the_limiter(stack, client, r):
    """A due delayed job and a released dependent wait in line when the key is full."""
    assert enqueue(client, "rl", "holder") == "queued"
    client.ok({"op": "enqueue", "queue": "rl", "func": "f", "id": "parent"})
    assert enqueue(client, "rl", "later", delay=1) == "scheduled"
    assert enqueue(client, "rl", "child", depends_on="parent") == "deferred"
    assert waiting(r) == [] and allowed(r) == ["holder"]
    wait_until(lambda: status(r, "later") == "rate_limited", timeout=10, what="the delayed job to be promoted")

    parent = client.ok({"op": "lease", "queues": ["rl"], "count": 2})["jobs"]
    assert [j["id"] for j in parent] == ["holder", "parent"]
    ack(client, parent[1])
    assert status(r, "child") == "rate_limited" and set(waiting(r)) == {"later", "child"}
    ack(client, parent[0])
    assert len(allowed(r)) == 1 and len(waiting(r)) == 1


def test_sweep_frees_a_crashed_holders_slot_and_tidies_the_key(stack, client, r):
    """A holder that died between its outcome and the release leaves a finished job in allowed:
    every gateway's sweep frees it (RQ 3.0's maintenance), admits the next, and removes a key
    with no one left."""
    assert enqueue(client, "rl", "a") == "queued"
    assert enqueue(client, "rl", "b") == "rate_limited"
    r.hset("rq:job:a", "status", "finished")
    r.lrem("rq:queue:rl", 0, "a")
    wait_until(lambda: status(r, "b") == "queued", timeout=10, what="the sweep to admit the waiting job")
    assert allowed(r) == ["b"]
    ack(client, lease(client, "rl"))
    wait_until(lambda: not r.exists("rq:rl:api", "rq:rl:api:allowed", "rq:rl:api:rate_limited"), timeout=10,
               what="the sweep to remove the empty key")
    assert r.smembers("rq:rl-keys") == set()


def test_rq_repeat_intervals_follow_rq_3(stack, client, r):
    """RQ 3.0: each repeat waits the first interval left, which is then dropped (the last stays)."""
    client.ok({"op": "enqueue", "queue": "rep", "func": "f", "id": "rep"})
    r.hset("rq:job:rep", mapping={"repeats_left": 2, "repeat_intervals": "[5,60]"})
    before = redis_now(r)
    ack(client, lease(client, "rep"))
    job = r.hgetall("rq:job:rep")
    assert job[b"status"] == b"scheduled" and job[b"repeats_left"] == b"1" and job[b"repeat_intervals"] == b"[60]"
    assert before + 4 <= r.zscore("rq:scheduled:rep", "rep") <= before + 7


def sample_holding(r, ids, concurrency, stop):
    """Samples, until `stop`, how many of `ids` are queued or started; returns the highest seen."""
    count = r.register_script(COUNT_HOLDING)
    highest = 0
    while not stop.is_set():
        highest = max(highest, count(args=ids))
    return highest


def lease_and_ack_until_done(stack, queue, ids, r, work_seconds=0.0):
    def work():
        with stack.client() as c:
            while not all(status(r, i) == "finished" for i in ids):
                job = c.ok({"op": "lease", "queues": [queue], "wait": 0.2})["job"]
                if job:
                    time.sleep(work_seconds)  # the job's work, so RQ's worker gets its share
                    c.ok({"op": "ack", "id": job["id"], "lease": job["lease"], "result": "jobgate"})
    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    return threads


def run_sampled(r, ids, concurrency, body):
    stop = threading.Event()
    result = {}
    sampler = threading.Thread(target=lambda: result.setdefault("highest", sample_holding(r, ids, concurrency, stop)))
    sampler.start()
    try:
        body()
    finally:
        stop.set()
        sampler.join()
    assert 1 <= result["highest"] <= concurrency, f"{result['highest']} jobs held slots of a {concurrency}-slot key"
    assert all(status(r, i) == "finished" for i in ids)


@needs_rq3
def test_rq_producer_with_rate_limit_jobgate_workers(stack, client, r, rqq):
    q = rqq("rl-rq")
    ids = [q.enqueue("rqtasks.add", i, i, job_id=f"rq-{i}", rate_limit=rq.RateLimit("api", 2)).id for i in range(12)]
    assert sum(fetch(r, i).get_status() == "rate_limited" for i in ids) == 10

    def body():
        for t in lease_and_ack_until_done(stack, "rl-rq", ids, r):
            t.join(timeout=60)
    run_sampled(r, ids, 2, body)


@needs_rq3
def test_jobgate_producer_with_rate_limit_rq_worker(stack, client, r, rqcli):
    ids = [f"jg-{i}" for i in range(8)]
    states = [client.ok({"op": "enqueue", "queue": "rl-jg", "func": "rqtasks.sleepy", "args": [0.05, i], "id": i,
                         "rate_limit": {"key": "api", "concurrency": 2}})["state"] for i in ids]
    assert states == ["queued"] * 2 + ["rate_limited"] * 6
    run_sampled(r, ids, 2, lambda: rqcli.worker("rl-jg", timeout=120))


@needs_rq3
def test_mixed_producers_and_workers_share_one_key(stack, client, r, rqq, rqcli):
    q = rqq("rl-mix")
    ids = [q.enqueue("rqtasks.sleepy", 0.05, i, job_id=f"rq-{i}", rate_limit=rq.RateLimit("mix", 3)).id
           for i in range(10)]
    ids += [f"jg-{i}" for i in range(10)]
    for i in ids[10:]:
        client.ok({"op": "enqueue", "queue": "rl-mix", "func": "rqtasks.sleepy", "args": [0.05, i], "id": i,
                   "rate_limit": {"key": "mix", "concurrency": 3}})

    def body():
        worker = rqcli.start_worker("rl-mix", burst=False, name="rq-mix")
        wait_until(lambda: r.sismember("rq:workers", "rq:worker:rq-mix"), timeout=30, what="RQ's worker to start")
        threads = lease_and_ack_until_done(stack, "rl-mix", ids, r, work_seconds=0.05)
        for t in threads:
            t.join(timeout=120)
        rqcli.kill(worker)
    run_sampled(r, ids, 3, body)
    by = {fetch(r, i).return_value() == "jobgate" for i in ids}
    assert by == {True, False}, "both RQ's worker and jobgate's leases should have run some"
