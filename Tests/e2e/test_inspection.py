"""The inspection ops (issue #17): `jobs` (a page of one queue's jobs in one state), `empty`,
`forget`, the per-queue figures `stats` and the metrics add, and a 100,000-job queue listed and
emptied without a Redis command over 10 ms."""
import socket
import time
import urllib.request

import pytest

from jobgate_harness import BlockingRequest, free_tcp_port, wait_until
from job_steps import enqueue, lease
from test_metrics import scrape, scraped  # noqa: F401 (a fixture)

STATES = ["queued", "started", "scheduled", "deferred", "finished", "failed", "canceled"]


def listed(c, queue="q", **fields):
    return c.ok({"op": "jobs", "queue": queue, **fields})


def ids(reply):
    return [j["id"] for j in reply["jobs"]]


def refused(c, request, code="BAD_REQUEST"):
    r = c.call(request)
    assert r["ok"] is False and r["error"]["code"] == code, r
    return r["error"]["message"]


def redis_time(stack):
    seconds, micros = stack.redis.raw("TIME").split()
    return int(seconds) + int(micros) / 1e6


def one_job_in_each_state(c):
    """Queue `q` with one job in each state, named after it (and `parent`, queued, which
    `deferred` waits on)."""
    for state in ("started", "finished", "failed"):
        enqueue(c, id=state)
    for state in ("started", "finished", "failed"):
        job = lease(c)
        assert job["id"] == state
        if state == "finished":
            c.ok({"op": "ack", "id": job["id"], "lease": job["lease"], "result": {"n": 1}})
        elif state == "failed":
            c.ok({"op": "fail", "id": job["id"], "lease": job["lease"], "error": "Traceback\nValueError: no", "retry": False})
    enqueue(c, id="parent")
    enqueue(c, id="queued")
    enqueue(c, id="scheduled", delay=3600)
    enqueue(c, id="deferred", depends_on=["parent"])
    c.ok({"op": "cancel", "id": enqueue(c, id="canceled")})


def test_each_state_lists_its_jobs_as_the_job_op_shows_them(client):
    one_job_in_each_state(client)
    for state in STATES:
        reply = listed(client, state=state)
        expected = ["parent", "queued"] if state == "queued" else [state]
        assert ids(reply) == expected and reply["total"] == len(expected), (state, reply)
        assert reply["queue"] == "q" and reply["state"] == state
        for job in reply["jobs"]:
            assert job == client.ok({"op": "job", "id": job["id"]})["job"]
    failed = listed(client, state="failed")["jobs"][0]
    assert failed["error"] == "Traceback\nValueError: no" and failed["state"] == "failed"
    assert listed(client, state="finished")["jobs"][0]["result"] == {"n": 1}


def test_started_jobs_are_listed_without_their_lease_token(client):
    enqueue(client, id="busy")
    job = lease(client)
    reply = listed(client, state="started")
    assert ids(reply) == ["busy"]
    assert job["lease"] not in str(reply)


def test_defaults_are_queued_oldest_first_fifty(client):
    client.ok({"op": "enqueue", "queue": "q", "jobs": [{"func": "f", "id": f"j{i:02}"} for i in range(60)]})
    reply = listed(client)
    assert reply["state"] == "queued" and reply["total"] == 60
    assert ids(reply) == [f"j{i:02}" for i in range(50)]


def test_pages_in_either_order(client):
    client.ok({"op": "enqueue", "queue": "q", "jobs": [{"func": "f", "id": f"j{i}"} for i in range(7)]})
    assert ids(listed(client, limit=3)) == ["j0", "j1", "j2"]
    assert ids(listed(client, limit=3, offset=3)) == ["j3", "j4", "j5"]
    assert ids(listed(client, limit=3, offset=6)) == ["j6"]
    assert ids(listed(client, limit=3, order="newest")) == ["j6", "j5", "j4"]
    assert ids(listed(client, limit=3, offset=6, order="newest")) == ["j0"]
    assert ids(listed(client, limit=3, offset=5, order="newest")) == ["j1", "j0"]
    past = listed(client, offset=7)
    assert past["jobs"] == [] and past["total"] == 7
    assert listed(client, offset=100, order="newest")["jobs"] == []
    # A registry pages the same way: finished entries by when they expire, i.e. when they finished.
    for _ in range(4):
        job = lease(client)
        client.ok({"op": "ack", "id": job["id"], "lease": job["lease"]})
    assert ids(listed(client, state="finished", limit=2)) == ["j0", "j1"]
    assert ids(listed(client, state="finished", limit=2, offset=1, order="newest")) == ["j2", "j1"]


def test_an_entry_whose_job_hash_is_gone_is_skipped_but_counted(stack, client):
    for i in range(3):
        enqueue(client, id=f"j{i}")
    stack.redis.raw("DEL", "rq:job:j1")
    reply = listed(client)
    assert ids(reply) == ["j0", "j2"] and reply["total"] == 3


def test_an_unknown_queue_is_an_empty_page(client):
    assert listed(client, queue="nothing-here", state="failed") == {
        "ok": True, "queue": "nothing-here", "state": "failed", "total": 0, "jobs": [], "next_offset": None}


@pytest.mark.parametrize("fields, expected", [
    ({"state": "rate_limited"}, "field 'state' must be one of queued, started, scheduled, deferred, finished, failed, canceled"),
    ({"state": "QUEUED"}, "field 'state' must be one of"),
    ({"state": 3}, "field 'state' must be a string"),
    ({"order": "sideways"}, "field 'order' must be \"oldest\" or \"newest\""),
    ({"limit": 0}, "field 'limit' must be an integer between 1 and 1000"),
    ({"limit": 1001}, "field 'limit' must be an integer between 1 and 1000"),
    ({"offset": -1}, "field 'offset' must be an integer between 0 and 2147483647"),
    ({"offset": 1.5}, "field 'offset' must be an integer"),
    ({"page": 2}, "field 'page' is unknown for op 'jobs'"),
    ({"queue": "no spaces"}, "field 'queue' must be"),
])
def test_jobs_refuses_bad_fields(client, fields, expected):
    assert refused(client, {"op": "jobs", "queue": "q", **fields}).startswith(expected)


def test_jobs_needs_a_queue(client):
    assert "queue" in refused(client, {"op": "jobs", "state": "queued"})


def test_empty_deletes_queued_jobs_and_leaves_the_registries(stack, client):
    one_job_in_each_state(client)
    enqueue(client, queue="other", id="elsewhere")
    reply = client.ok({"op": "empty", "queue": "q"})
    assert reply == {"ok": True, "deleted": 2, "queued": 0}
    for gone in ("parent", "queued"):
        refused(client, {"op": "job", "id": gone}, "NOT_FOUND")
        assert stack.redis.raw("EXISTS", f"rq:job:{gone}", f"rq:results:{gone}").strip() == b"0"
    for state in STATES[1:]:
        assert ids(listed(client, state=state)) == [state], state
    assert client.ok({"op": "job", "id": "elsewhere"})["job"]["state"] == "queued"
    assert client.ok({"op": "empty", "queue": "q"}) == {"ok": True, "deleted": 0, "queued": 0}


def test_empty_in_chunks_and_with_a_limit(stack, client):
    client.ok({"op": "enqueue", "queue": "big", "jobs": [{"func": "f", "id": f"b{i}"} for i in range(2500)]})
    assert client.ok({"op": "empty", "queue": "big", "limit": 300}) == {"ok": True, "deleted": 300, "queued": 2200}
    assert ids(listed(client, queue="big", limit=1)) == ["b300"], "the head goes first"
    assert client.ok({"op": "empty", "queue": "big"}) == {"ok": True, "deleted": 2200, "queued": 0}
    assert stack.redis.raw("EXISTS", "rq:job:b2499", "rq:queue:big").strip() == b"0"
    assert "limit" in refused(client, {"op": "empty", "queue": "big", "limit": 0})
    assert "unknown" in refused(client, {"op": "empty", "queue": "big", "all": True})


def test_a_result_waiting_on_an_emptied_job_ends_at_once(stack, client):
    enqueue(client, id="doomed")
    waiter = BlockingRequest(stack.gateway, {"op": "result", "id": "doomed", "wait": 30})
    waiter.start()
    wait_until(lambda: stack.redis.raw("HGET", "rq:job:doomed", "jobgate_awaited").strip() == b"1", what="the result to wait")
    started = time.monotonic()
    client.ok({"op": "empty", "queue": "q"})
    reply = waiter.result(timeout=10)
    assert time.monotonic() - started < 5
    assert reply["ok"] is False and reply["error"]["code"] == "NOT_FOUND", reply


def test_forget_refuses_a_queue_with_jobs_naming_where(client):
    one_job_in_each_state(client)
    message = refused(client, {"op": "forget", "queue": "q"}, "WRONG_STATE")
    assert message == "queue q still has 2 queued, 1 started, 1 scheduled, 1 deferred, 1 finished, 1 failed, 1 canceled"
    assert "q" in client.ok({"op": "stats"})["queues"]


def test_forget_refuses_a_queue_a_schedule_enqueues_to(client):
    for name, queue in (("nightly", "q"), ("hourly", "q"), ("other", "elsewhere")):
        client.ok({"op": "schedule", "name": name, "every": 3600, "job": {"queue": queue, "func": "f"}})
    message = refused(client, {"op": "forget", "queue": "q"}, "WRONG_STATE")
    assert message == "queue q still has the schedules hourly, nightly (unschedule them first)"
    client.ok({"op": "unschedule", "name": "hourly"})
    message = refused(client, {"op": "forget", "queue": "q"}, "WRONG_STATE")
    assert message == "queue q still has the schedule nightly (unschedule it first)"
    client.ok({"op": "unschedule", "name": "nightly"})
    assert client.ok({"op": "forget", "queue": "q"}) == {"ok": True}


def test_forget_removes_an_empty_queue_and_its_pause_flag(stack, client):
    enqueue(client, id="only")
    client.ok({"op": "pause", "queue": "q"})
    client.ok({"op": "limit", "queue": "q", "concurrency": 1, "rate": {"max": 5, "per": 60}})
    lease(client)  # counts a lease start in the rate window
    client.ok({"op": "delete", "id": "only"})
    # A finished entry past its expiry (its job is gone) does not hold the queue.
    stack.redis.raw("ZADD", "rq:finished:q", 1, "long-gone")
    assert client.ok({"op": "forget", "queue": "q"}) == {"ok": True}
    assert "q" not in client.ok({"op": "stats"})["queues"]
    assert stack.redis.raw("SISMEMBER", "rq:queues", "rq:queue:q").strip() == b"0"
    assert stack.redis.raw("SISMEMBER", "jobgate:paused", "q").strip() == b"0"
    assert stack.redis.raw("SISMEMBER", "jobgate:limited", "q").strip() == b"0"
    assert stack.redis.raw("EXISTS", "rq:finished:q", "jobgate:limit:q", "jobgate:limit:q:starts").strip() == b"0"
    assert client.ok({"op": "forget", "queue": "never-there"}) == {"ok": True}
    enqueue(client, id="back")
    assert client.ok({"op": "stats"})["queues"]["q"]["paused"] is False
    assert client.ok({"op": "limit", "queue": "q"})["concurrency"] is None
    assert lease(client)["id"] == "back", "a forgotten queue comes back unpaused and unlimited"


def test_rate_limited_jobs_hold_a_queue_and_emptying_frees_their_slot(client):
    """RQ 3.0 lines rate-limited jobs up per key, not per queue: `forget` still finds them, and
    a queued job that `empty` deletes gives its slot to the next in line."""
    limit = {"key": "api", "concurrency": 1}
    enqueue(client, queue="other", id="has-slot", rate_limit=limit)
    assert client.ok({"op": "enqueue", "queue": "q", "func": "f", "id": "waits", "rate_limit": limit})["state"] == "rate_limited"
    assert refused(client, {"op": "forget", "queue": "q"}, "WRONG_STATE") == "queue q still has 1 rate_limited"
    assert "per rate-limit key" in refused(client, {"op": "jobs", "queue": "q", "state": "rate_limited"})
    assert client.ok({"op": "empty", "queue": "other"}) == {"ok": True, "deleted": 1, "queued": 0}
    assert client.ok({"op": "job", "id": "waits"})["job"]["state"] == "queued"
    assert ids(listed(client)) == ["waits"]


def test_stats_counts_deferred_and_canceled_and_the_age_of_the_head(stack, client):
    one_job_in_each_state(client)
    queue = client.ok({"op": "stats"})["queues"]["q"]
    assert {k: queue[k] for k in STATES} == {"queued": 2, "started": 1, "scheduled": 1, "deferred": 1,
                                             "finished": 1, "failed": 1, "canceled": 1}
    # The head job was enqueued an hour ago by a producer's clock; Redis's clock measures the age.
    stack.redis.raw("HSET", "rq:job:parent", "enqueued_at",
                    time.strftime("%Y-%m-%dT%H:%M:%S.250000Z", time.gmtime(redis_time(stack) - 3600)))
    age = client.ok({"op": "stats"})["queues"]["q"]["oldest_queued_seconds"]
    assert 3599 <= age <= 3602, age
    client.ok({"op": "empty", "queue": "q"})
    assert client.ok({"op": "stats"})["queues"]["q"]["oldest_queued_seconds"] is None


def test_stats_age_of_a_head_from_a_fast_clock_is_zero_and_of_an_unreadable_one_null(stack, client):
    enqueue(client, id="future")
    stack.redis.raw("HSET", "rq:job:future", "enqueued_at",
                    time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(redis_time(stack) + 60)))
    assert client.ok({"op": "stats"})["queues"]["q"]["oldest_queued_seconds"] == 0
    stack.redis.raw("HSET", "rq:job:future", "enqueued_at", "yesterday")
    assert client.ok({"op": "stats"})["queues"]["q"]["oldest_queued_seconds"] is None


def samples(url):
    """Every sample of a scrape by its name and labels."""
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in scrape(url).splitlines() if line and not line.startswith("#")}


def test_metrics_count_this_gateways_settled_jobs_per_queue(scraped):
    stack, url = scraped
    with stack.client() as c:
        for queue in ("a", "a", "a", "b"):
            enqueue(c, queue=queue)
        enqueue(c, queue="a", retries=1)
        jobs = [lease(c, "a"), lease(c, "a"), lease(c, "b")]
        batch = c.ok({"op": "ack", "jobs": [{"id": j["id"], "lease": j["lease"]} for j in jobs]
                      + [{"id": jobs[0]["id"], "lease": jobs[0]["lease"]}]})
        assert [item["ok"] for item in batch["jobs"]] == [True, True, True, True], "a repeated ack answers as the first"
        job = lease(c, "a")
        c.ok({"op": "fail", "id": job["id"], "lease": job["lease"], "retry": False})
        job = lease(c, "a")
        assert c.ok({"op": "fail", "id": job["id"], "lease": job["lease"]})["state"] == "queued", "a retry is not a failure"
        enqueue(c, queue="a", id="waits", depends_on=[job["id"]])
        c.ok({"op": "cancel", "id": enqueue(c, queue="b")})
    samples_now = samples(url)
    assert samples_now['jobgate_jobs_processed_total{queue="a"}'] == 2
    assert samples_now['jobgate_jobs_processed_total{queue="b"}'] == 1
    assert samples_now['jobgate_jobs_failed_total{queue="a"}'] == 1
    assert 'jobgate_jobs_failed_total{queue="b"}' not in samples_now
    assert samples_now['jobgate_queue_jobs{queue="a",state="deferred"}'] == 1
    assert samples_now['jobgate_queue_jobs{queue="b",state="canceled"}'] == 1
    assert samples_now['jobgate_queue_oldest_queued_seconds{queue="a"}'] >= 0
    assert 'jobgate_queue_oldest_queued_seconds{queue="b"}' not in samples_now, "an empty queue has no age"
    # Counters belong to the gateway that settled the jobs: a second one starts at nothing.
    other_port = free_tcp_port()
    stack.add_gateway(["--metrics", f"tcp://127.0.0.1:{other_port}"])
    assert not any(name.startswith("jobgate_jobs_processed_total") for name in samples(f"http://127.0.0.1:{other_port}"))


BIG = 100_000
BATCH = 10_000
PAGE = 200  # four times the default; the maximum, 1000, costs about 5 ms of Redis time (protocol.md)


def slowlog(stack, count=1000):
    """SLOWLOG GET as (microseconds, command words) pairs, read as RESP off Redis's socket."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(stack.redis.socket)
        s.sendall(f"SLOWLOG GET {count}\r\n".encode())
        data = b""
        while True:
            data += s.recv(1 << 20)
            try:
                entries, _ = parse_resp(data, 0)
                break
            except IndexError:  # not all of it has arrived yet
                continue
    return [(entry[2], [w.decode(errors="replace") for w in entry[3]]) for entry in entries]


def parse_resp(data, i):
    """One RESP value at data[i:], and where it ends; IndexError when it is not complete."""
    if data.find(b"\r\n", i) < 0:
        raise IndexError
    kind, end = data[i:i + 1], data.index(b"\r\n", i)
    head = data[i + 1:end]
    if kind == b"*":
        items, i = [], end + 2
        for _ in range(int(head)):
            item, i = parse_resp(data, i)
            items.append(item)
        return items, i
    if kind == b"$":
        n = int(head)
        if len(data) < end + 2 + n + 2:
            raise IndexError
        return data[end + 2:end + 2 + n], end + 2 + n + 2
    if kind == b":":
        return int(head), end + 2
    return head, end + 2


def test_a_queue_of_100000_jobs_is_listed_and_emptied_without_a_slow_redis_command(stack, client):
    stack.redis.raw("CONFIG", "SET", "slowlog-log-slower-than", "10000")
    stack.redis.raw("CONFIG", "SET", "slowlog-max-len", "1000")
    stack.redis.raw("SLOWLOG", "RESET")
    started = time.monotonic()
    for b in range(0, BIG, BATCH):
        client.ok({"op": "enqueue", "queue": "huge", "jobs": [{"func": "app.work", "args": [i], "id": f"h{i}"} for i in range(b, b + BATCH)]})
    enqueue_seconds = time.monotonic() - started
    enqueue_entries = slowlog(stack)
    stack.redis.raw("SLOWLOG", "RESET")

    for offset in (0, PAGE, BIG // 2, BIG // 2 + PAGE, BIG - PAGE):
        for order in ("oldest", "newest"):
            reply = listed(client, queue="huge", offset=offset, limit=PAGE, order=order)
            assert reply["total"] == BIG and len(reply["jobs"]) == PAGE
            first = offset if order == "oldest" else BIG - 1 - offset
            assert reply["jobs"][0]["id"] == f"h{first}" and reply["jobs"][0]["args"] == [first]
    started = time.monotonic()
    assert client.ok({"op": "empty", "queue": "huge"}) == {"ok": True, "deleted": BIG, "queued": 0}
    empty_seconds = time.monotonic() - started
    assert stack.redis.raw("DBSIZE").strip() != b"0"  # rq:queues and friends remain
    assert stack.redis.raw("EXISTS", "rq:job:h0", "rq:job:h99999").strip() == b"0"

    slow = slowlog(stack)
    print(f"\n100k: enqueue {enqueue_seconds:.2f} s (slowlog entries over 10 ms: "
          f"{[(us, words[:2]) for us, words in enqueue_entries]}), empty {empty_seconds:.2f} s")
    assert slow == [], f"Redis commands over 10 ms while listing and emptying: {slow}"
