"""Every op end to end, checked on the wire and in the RQ-layout Redis state behind it."""
import base64
import json
import time
import zlib

import pytest

from jobgate_harness import wait_until


def enqueue(c, queue="q", func="app.work", **fields):
    return c.ok({"op": "enqueue", "queue": queue, "func": func, **fields})["id"]


def lease(c, queue="q", **fields):
    return c.ok({"op": "lease", "queues": [queue], **fields})["job"]


def test_enqueue_writes_rq_layout(stack, client):
    jid = enqueue(client, args=[1, "two", {"3": None}], kwargs={"k": [1.5e3]}, description="d",
                  timeout=30, result_ttl=60, failure_ttl=120, meta={"m": 1})
    r = stack.redis
    data = json.loads(zlib.decompress(r.raw("HGET", f"rq:job:{jid}", "data").rstrip(b"\n")))
    assert data == ["app.work", None, [1, "two", {"3": None}], {"k": [1.5e3]}]
    fields = dict(zip(*[iter(r.raw("HGETALL", f"rq:job:{jid}").decode(errors="replace").split("\n"))] * 2))
    assert fields["origin"] == "q" and fields["status"] == "queued"
    assert fields["timeout"] == "30" and fields["result_ttl"] == "60" and fields["failure_ttl"] == "120"
    assert fields["description"] == "d" and json.loads(fields["meta"]) == {"m": 1}
    assert len(fields["created_at"]) == 27 and fields["created_at"].endswith("Z")
    assert r.raw("LRANGE", "rq:queue:q", 0, -1).split() == [jid.encode()]
    assert b"rq:queue:q" in r.raw("SMEMBERS", "rq:queues")


def test_generated_ids_are_uuid4_and_unique(client):
    ids = {enqueue(client) for _ in range(50)}
    assert len(ids) == 50
    for i in ids:
        assert len(i) == 36 and i[14] == "4"


def test_at_front_and_fifo(client):
    a = enqueue(client)
    b = enqueue(client)
    front = enqueue(client, at_front=True)
    assert [lease(client)["id"] for _ in range(3)] == [front, a, b]


def test_lease_priority_order_and_count(client):
    low = enqueue(client, queue="low")
    highs = [enqueue(client, queue="high") for _ in range(2)]
    got = client.ok({"op": "lease", "queues": ["high", "low"], "count": 3})["jobs"]
    assert [j["id"] for j in got] == highs + [low]
    assert client.ok({"op": "lease", "queues": ["high", "low"], "count": 3})["jobs"] == []
    assert client.ok({"op": "lease", "queue": "low"})["job"] is None


def test_lease_reply_fields_and_wip_entry(stack, client):
    jid = enqueue(client, args=[7], kwargs={"a": 1}, meta={"tag": "x"}, timeout=40, retries=2)
    job = lease(client, worker="w-1")
    assert job["id"] == jid and job["args"] == [7] and job["kwargs"] == {"a": 1} and job["meta"] == {"tag": "x"}
    assert job["lease_seconds"] == 40 and job["attempt"] == 1 and job["retries_left"] == 2
    assert len(job["lease"]) == 32
    score = float(stack.redis.raw("ZSCORE", "rq:wip:q", f"{jid}:{job['lease']}"))
    assert abs(score - job["expires_at"]) < 0.01
    assert abs(job["expires_at"] - time.time() - 40) < 5
    assert stack.redis.raw("HGET", f"rq:job:{jid}", "status").strip() == b"started"
    assert stack.redis.raw("HGET", f"rq:job:{jid}", "worker_name").strip() == b"w-1"


def test_lease_for_overrides_timeout(client):
    enqueue(client, timeout=500)
    assert lease(client, lease_for=12)["lease_seconds"] == 12


def test_heartbeat_extends(stack, client):
    jid = enqueue(client)
    job = lease(client, lease_for=5)
    hb = client.ok({"op": "heartbeat", "id": jid, "lease": job["lease"], "extend": 100})
    assert hb["expires_at"] > job["expires_at"] + 90
    score = float(stack.redis.raw("ZSCORE", "rq:wip:q", f"{jid}:{job['lease']}"))
    assert abs(score - hb["expires_at"]) < 0.01
    # Default extend is the lease's own length.
    hb2 = client.ok({"op": "heartbeat", "id": jid, "lease": job["lease"]})
    assert 3 < hb2["expires_at"] - time.time() < 7


def test_ack_stores_result_as_rq_does(stack, client):
    jid = enqueue(client, result_ttl=100)
    job = lease(client)
    assert client.ok({"op": "ack", "id": jid, "lease": job["lease"], "result": {"n": [1, 2]}})["state"] == "finished"
    r = stack.redis
    assert r.raw("HGET", f"rq:job:{jid}", "status").strip() == b"finished"
    entry = r.raw("XREVRANGE", f"rq:results:{jid}", "+", "-", "COUNT", 1).decode().split("\n")
    fields = dict(zip(entry[1::2], entry[2::2]))
    assert fields["type"] == "1"
    assert json.loads(base64.b64decode(fields["return_value"])) == {"n": [1, 2]}
    assert fields["execution_id"] == job["lease"]
    assert r.raw("ZSCORE", "rq:finished:q", jid).strip() != b""
    assert r.raw("ZCARD", "rq:wip:q").strip() == b"0"
    assert 90 <= int(r.raw("TTL", f"rq:job:{jid}")) <= 100
    assert client.ok({"op": "job", "id": jid})["job"]["result"] == {"n": [1, 2]}


def test_ack_with_result_ttl_zero_deletes(stack, client):
    jid = enqueue(client, result_ttl=0)
    job = lease(client)
    assert client.ok({"op": "ack", "id": jid, "lease": job["lease"]})["state"] == "deleted"
    assert client.call({"op": "job", "id": jid})["error"]["code"] == "NOT_FOUND"


def test_result_ttl_forever(stack, client):
    jid = enqueue(client, result_ttl=-1)
    job = lease(client)
    client.ok({"op": "ack", "id": jid, "lease": job["lease"], "result": 1})
    assert int(stack.redis.raw("TTL", f"rq:job:{jid}")) == -1
    assert stack.redis.raw("ZSCORE", "rq:finished:q", jid).strip() == b"inf"


def test_fail_retries_then_fails(stack, client):
    jid = enqueue(client, retries=2)
    for left in (1, 0):
        job = lease(client)
        r = client.ok({"op": "fail", "id": jid, "lease": job["lease"], "error": f"boom {left}"})
        assert r["state"] == "queued" and r["retries_left"] == left
        assert client.ok({"op": "job", "id": jid})["job"]["error"] == f"boom {left}"
    job = lease(client)
    assert job["attempt"] == 3
    r = client.ok({"op": "fail", "id": jid, "lease": job["lease"], "error": "final"})
    assert r == {"ok": True, "state": "failed", "retries_left": 0}
    info = client.ok({"op": "job", "id": jid})["job"]
    assert info["state"] == "failed" and info["error"] == "final" and info["attempts"] == 3
    entry = stack.redis.raw("XREVRANGE", f"rq:results:{jid}", "+", "-", "COUNT", 1).decode().split("\n")
    fields = dict(zip(entry[1::2], entry[2::2]))
    assert fields["type"] == "2"
    assert zlib.decompress(base64.b64decode(fields["exc_string"])) == b"final"
    assert stack.redis.raw("ZSCORE", "rq:failed:q", jid).strip() != b""


def test_fail_without_retry_skips_retries(client):
    jid = enqueue(client, retries=5)
    job = lease(client)
    assert client.ok({"op": "fail", "id": jid, "lease": job["lease"], "retry": False})["state"] == "failed"


def test_retry_intervals_schedule_by_rq_rule(stack, client):
    jid = enqueue(client, retries=3, retry_intervals=[10, 60])
    waits = []
    for _ in range(3):
        job = lease(client)
        now = time.time()
        r = client.ok({"op": "fail", "id": jid, "lease": job["lease"], "error": "x"})
        assert r["state"] == "scheduled"
        waits.append(round(r["retry_at"] - now, -1))
        assert stack.redis.raw("ZSCORE", "rq:scheduled:q", jid).strip() == str(r["retry_at"]).encode()
        # Bring it back now instead of waiting: move its score to the past and let the sweeper promote it.
        stack.redis.raw("ZADD", "rq:scheduled:q", 1, jid)
        wait_until(lambda: client.ok({"op": "job", "id": jid})["job"]["state"] == "queued", what="promotion")
    assert waits == [10, 10, 60]


def test_fail_error_text_keeps_the_tail(client):
    jid = enqueue(client)
    job = lease(client)
    text = "x" * 70000 + "ValueError: the end"
    client.ok({"op": "fail", "id": jid, "lease": job["lease"], "error": text, "retry": False})
    got = client.ok({"op": "job", "id": jid})["job"]["error"]
    assert len(got) == 65536 and got.endswith("ValueError: the end")


def test_release_puts_back_at_front_without_spending_retry(client):
    jid = enqueue(client, retries=1)
    other = enqueue(client)
    job = lease(client)
    assert client.ok({"op": "release", "id": jid, "lease": job["lease"]}) == {"ok": True, "state": "queued"}
    again = lease(client)
    assert again["id"] == jid and again["retries_left"] == 1 and again["attempt"] == 2
    assert lease(client)["id"] == other


def test_release_with_delay_schedules(stack, client):
    jid = enqueue(client)
    job = lease(client)
    r = client.ok({"op": "release", "id": jid, "lease": job["lease"], "delay": 30})
    assert r["state"] == "scheduled" and 29 <= r["run_at"] - time.time() <= 32
    assert client.ok({"op": "job", "id": jid})["job"]["state"] == "scheduled"


def test_stale_lease_is_lost_everywhere(client):
    jid = enqueue(client)
    job = lease(client)
    client.ok({"op": "ack", "id": jid, "lease": job["lease"]})
    for op in ("heartbeat", "fail", "release"):
        r = client.call({"op": op, "id": jid, "lease": job["lease"]})
        assert r["error"]["code"] == "LEASE_LOST", (op, r)
    r = client.call({"op": "ack", "id": jid, "lease": "0" * 32})
    assert r["error"]["code"] == "LEASE_LOST", r


def test_an_ack_sent_again_answers_as_the_first_and_changes_nothing(stack, client):
    jid = enqueue(client, result_ttl=600)
    job = lease(client)
    assert client.ok({"op": "ack", "id": jid, "lease": job["lease"], "result": 1})["state"] == "finished"
    before = stack.redis.raw("HGETALL", f"rq:job:{jid}"), stack.redis.raw("XLEN", f"rq:results:{jid}")
    for again in ({"op": "ack", "id": jid, "lease": job["lease"], "result": 2},
                  {"op": "ack", "jobs": [{"id": jid, "lease": job["lease"]}]}):
        r = client.ok(again)
        assert r.get("state", r.get("jobs", [{}])[0].get("state")) == "finished", r
    assert (stack.redis.raw("HGETALL", f"rq:job:{jid}"), stack.redis.raw("XLEN", f"rq:results:{jid}")) == before
    assert client.ok({"op": "job", "id": jid})["job"]["result"] == 1


def test_lease_is_not_tied_to_connection(stack):
    with stack.client() as a:
        jid = enqueue(a)
        job = lease(a)
    with stack.client(unix=True) as b:
        assert b.ok({"op": "ack", "id": jid, "lease": job["lease"], "result": 5})["state"] == "finished"


def test_not_found(client):
    assert client.call({"op": "job", "id": "missing-job"})["error"]["code"] == "NOT_FOUND"
    for op in ("heartbeat", "ack", "fail", "release"):
        r = client.call({"op": op, "id": "missing-job", "lease": "0" * 32})
        assert r["error"]["code"] == "NOT_FOUND", (op, r)


def test_duplicate_id_changes_nothing(stack, client):
    enqueue(client, id="dup-1", args=[1])
    r = client.call({"op": "enqueue", "queue": "other", "func": "x.y", "args": [2], "id": "dup-1"})
    assert r["ok"] is False and r["error"]["code"] == "DUPLICATE" and r["id"] == "dup-1"
    job = client.ok({"op": "job", "id": "dup-1"})["job"]
    assert job["queue"] == "q" and job["args"] == [1]
    assert stack.redis.raw("LLEN", "rq:queue:other").strip() == b"0"


@pytest.mark.parametrize("request_, message", [
    ({"op": "enqueue", "func": "a.b"}, "missing field 'queue'"),
    ({"op": "enqueue", "queue": "q"}, "missing field 'func'"),
    ({"op": "enqueue", "queue": "q", "func": ""}, "field 'func' must be a non-empty string"),
    ({"op": "enqueue", "queue": "q", "func": 5}, "field 'func' must be a string, not a number"),
    ({"op": "enqueue", "queue": "bad name", "func": "a"}, "field 'queue' must be"),
    ({"op": "enqueue", "queue": "q", "func": "a", "id": "a:b"}, "field 'id' must be"),
    ({"op": "enqueue", "queue": "q", "func": "a", "kwargs": []}, "field 'kwargs' must be an object"),
    ({"op": "enqueue", "queue": "q", "func": "a", "timeout": 0}, "field 'timeout' must be -1"),
    ({"op": "enqueue", "queue": "q", "func": "a", "timeout": 1.5}, "field 'timeout' must be an integer"),
    ({"op": "enqueue", "queue": "q", "func": "a", "retries": -1}, "field 'retries' must be an integer between 0"),
    ({"op": "enqueue", "queue": "q", "func": "a", "retry_intervals": [1, "x"]}, "field 'retry_intervals'"),
    ({"op": "enqueue", "queue": "q", "func": "a", "delay": 1, "at": 5}, "give 'delay' or 'at', not both"),
    ({"op": "enqueue", "queue": "q", "func": "a", "at": "yesterday"}, "field 'at' must be Unix seconds or an RFC 3339"),
    ({"op": "enqueue", "queue": "q", "func": "a", "meta": "x"}, "field 'meta' must be an object"),
    ({"op": "enqueue", "queue": "q", "jobs": []}, "at least one job"),
    ({"op": "enqueue", "queue": "q", "jobs": [{"func": "a"}, {"args": []}]}, "jobs[1]: missing field 'func'"),
    ({"op": "lease"}, "missing field 'queues'"),
    ({"op": "lease", "queues": []}, "field 'queues' must name at least one queue"),
    ({"op": "lease", "queues": ["q"], "wait": 61}, "field 'wait' must be between 0 and 60"),
    ({"op": "lease", "queues": ["q"], "count": 0}, "field 'count' must be an integer between 1 and 1000"),
    ({"op": "lease", "queues": [1]}, "field 'queues' must be a list"),
    ({"op": "heartbeat", "id": "x"}, "missing field 'lease'"),
    ({"op": "ack", "id": "x", "lease": "y", "extra": 1}, "field 'extra' is unknown for op 'ack'"),
    ({"op": "fail", "jobs": [{"id": "x", "lease": "y"}]}, "'fail' takes one job"),
    ({"op": "heartbeat", "jobs": [{"id": "x", "lease": "y"}]}, "'heartbeat' takes one job"),
    ({"op": "release", "jobs": [{"id": "x", "lease": "y"}]}, "'release' takes one job"),
    ({"op": "job", "id": "a:b"}, "field 'id' must be 1-128 characters"),
    ({"op": "ack", "id": "x", "lease": "no:token"}, "field 'lease' must be the lease token"),
    ({"op": 5}, "field 'op' must be a string, not a number"),
    ({}, "missing field 'op'"),
])
def test_bad_requests(client, request_, message):
    r = client.call(request_)
    assert r["ok"] is False and r["error"]["code"] == "BAD_REQUEST", r
    assert message in r["error"]["message"], r


@pytest.mark.parametrize("line, message", [
    (b'{"op":"job","id":"a","id":"b"}', "field 'id' appears more than once"),
    (b'{"op":"enqueue","queue":"q","jobs":[{"func":"a","prio":1}]}', "jobs[0]: field 'prio' is unknown"),
])
def test_bad_request_lines(client, line, message):
    client.send_raw(line + b"\n")
    r = client.reply()
    assert r["ok"] is False and r["error"]["code"] == "BAD_REQUEST", r
    assert r["error"]["message"] == message, r


def test_at_accepts_rfc3339_and_unix_seconds(client):
    r = client.ok({"op": "enqueue", "queue": "q", "func": "a", "at": "2099-01-01T00:00:00Z"})
    assert r["state"] == "scheduled" and r["run_at"] == 4070908800
    r = client.ok({"op": "enqueue", "queue": "q", "func": "a", "at": "2099-01-01T01:00:00.5+01:00"})
    assert r["run_at"] == 4070908801
    r = client.ok({"op": "enqueue", "queue": "q", "func": "a", "at": 1000})
    assert r["state"] == "queued"


def test_batch_enqueue_is_atomic_and_answers_each(stack, client):
    jobs = [{"func": "f.g", "args": [i]} for i in range(1000)] + [{"func": "f.g", "queue": "other", "id": "b-1"}]
    r = client.ok({"op": "enqueue", "queue": "bq", "jobs": jobs})
    assert len(r["jobs"]) == 1001 and all(j["ok"] and j["state"] == "queued" for j in r["jobs"])
    assert stack.redis.raw("LLEN", "rq:queue:bq").strip() == b"1000"
    assert stack.redis.raw("LLEN", "rq:queue:other").strip() == b"1"
    # An invalid item refuses the whole batch.
    bad = client.call({"op": "enqueue", "queue": "bq", "jobs": [{"func": "f"}, {"func": "f", "timeout": "x"}]})
    assert bad["error"]["code"] == "BAD_REQUEST" and bad["error"]["message"].startswith("jobs[1]:")
    assert stack.redis.raw("LLEN", "rq:queue:bq").strip() == b"1000"


def test_stats_counts(client):
    a = enqueue(client, queue="s")
    enqueue(client, queue="s")
    enqueue(client, queue="s", delay=100)
    job = lease(client, queue="s")
    client.ok({"op": "fail", "id": job["id"], "lease": job["lease"], "retry": False})
    job = lease(client, queue="s")
    assert job["id"] != a
    s = client.ok({"op": "stats"})
    assert s["queues"]["s"] == {"queued": 0, "started": 1, "scheduled": 1, "deferred": 0, "failed": 1, "finished": 0,
                                "canceled": 0, "rate_limited": 0, "paused": False, "oldest_queued_seconds": None}
    assert s["gateway"]["ops"]["lease"] == 2 and s["gateway"]["redis"] == "ready"


def test_undecodable_data_is_failed_not_handed_out(stack, client):
    stack.redis.raw("HSET", "rq:job:pickled", "data", "\x80\x04garbage", "origin", "q", "status", "queued")
    stack.redis.raw("RPUSH", "rq:queue:q", "pickled")
    good = enqueue(client)
    assert lease(client)["id"] == good
    job = client.ok({"op": "job", "id": "pickled"})["job"]
    assert job["state"] == "failed" and "pickle" in job["error"] and job["func"] is None


def test_redis_error_is_internal_and_connection_survives(stack, client):
    # A job's results key holding a string: no check expects it (the keys ops write get
    # WRONG_TYPE, test_edges), and reading it fails in Redis.
    enqueue(client, id="broken")
    stack.redis.raw("SET", "rq:results:broken", "not a stream")
    r = client.call({"op": "job", "id": "broken"})
    assert r["error"]["code"] == "INTERNAL" and "WRONGTYPE" in r["error"]["message"]
    assert client.ok({"op": "ping"})["redis"] == "ready"


def test_named_worker_shows_as_rq_worker_and_execution(stack, client):
    r = stack.redis
    jid = enqueue(client, queue="vis")
    job = client.ok({"op": "lease", "queues": ["vis"], "worker": "resizer-1"})["job"]
    assert r.raw("SISMEMBER", "rq:workers", "rq:worker:resizer-1").strip() == b"1"
    assert r.raw("SISMEMBER", "rq:workers:vis", "rq:worker:resizer-1").strip() == b"1"
    assert r.raw("HGET", "rq:worker:resizer-1", "state").strip() == b"busy"
    assert r.raw("HGET", "rq:worker:resizer-1", "current_job").strip() == jid.encode()
    assert r.raw("HGET", f"rq:execution:{jid}:{job['lease']}", "worker_name").strip() == b"resizer-1"
    assert r.raw("ZRANGE", f"rq:executions:{jid}", 0, -1).split() == [job["lease"].encode()]
    client.ok({"op": "heartbeat", "id": jid, "lease": job["lease"], "extend": 600})
    assert int(r.raw("TTL", f"rq:execution:{jid}:{job['lease']}")) > 600
    client.ok({"op": "ack", "id": jid, "lease": job["lease"]})
    assert r.raw("HGET", "rq:worker:resizer-1", "state").strip() == b"idle"
    assert r.raw("HEXISTS", "rq:worker:resizer-1", "current_job").strip() == b"0"
    assert r.raw("EXISTS", f"rq:execution:{jid}:{job['lease']}").strip() == b"0"
    assert r.raw("ZCARD", f"rq:executions:{jid}").strip() == b"0"


def test_anonymous_lease_writes_no_worker_keys(stack, client):
    jid = enqueue(client)
    lease(client)
    assert stack.redis.raw("KEYS", "rq:worker*").split() == []
    assert stack.redis.raw("KEYS", f"rq:execution*{jid}*").split() == []


def test_batch_ack_settles_each_job(stack, client):
    ids = [enqueue(client, queue="ba") for _ in range(50)]
    jobs = client.ok({"op": "lease", "queues": ["ba"], "count": 50})["jobs"]
    items = [{"id": j["id"], "lease": j["lease"], "result": i} for i, j in enumerate(jobs)]
    items.append({"id": jobs[0]["id"], "lease": "f" * 32})
    r = client.ok({"op": "ack", "jobs": items})
    assert [a["ok"] for a in r["jobs"]] == [True] * 50 + [False]
    assert r["jobs"][-1]["error"]["code"] == "LEASE_LOST" and r["jobs"][-1]["id"] == jobs[0]["id"]
    assert {a["id"] for a in r["jobs"][:50]} == set(ids)
    assert client.ok({"op": "job", "id": jobs[7]["id"]})["job"]["result"] == 7
    assert stack.redis.raw("ZCARD", "rq:finished:ba").strip() == b"50"
    bad = client.call({"op": "ack", "jobs": [{"id": ids[0]}]})
    assert bad["error"]["code"] == "BAD_REQUEST" and bad["error"]["message"].startswith("jobs[0]:")


def test_largest_batches_keep_order_across_command_chunks(stack, client):
    """The scripts push, lease and file finished jobs in chunks (Lua's unpack stops near 8,000
    values): a 10,000-job enqueue, a 1,000-job lease and a 1,000-job ack keep queue order and
    miss nothing, and an at_front batch ends up in the order one-at-a-time pushes would give."""
    reply = client.ok({"op": "enqueue", "queue": "big", "jobs": [{"func": "f"}] * 10000})
    ids = [j["id"] for j in reply["jobs"]]
    assert len(ids) == 10000 and all(j["state"] == "queued" for j in reply["jobs"])
    assert stack.redis.raw("LRANGE", "rq:queue:big", 0, -1).split() == [i.encode() for i in ids]
    front = client.ok({"op": "enqueue", "queue": "big", "jobs": [{"func": "f", "at_front": True}] * 1500})
    front_ids = [j["id"] for j in front["jobs"]]
    leased = client.ok({"op": "lease", "queues": ["big"], "count": 1000})["jobs"]
    assert [j["id"] for j in leased] == list(reversed(front_ids))[:1000]
    assert int(stack.redis.raw("ZCARD", "rq:wip:big")) == 1000
    acked = client.ok({"op": "ack", "jobs": [{"id": j["id"], "lease": j["lease"]} for j in leased]})["jobs"]
    assert [a["state"] for a in acked] == ["finished"] * 1000
    assert int(stack.redis.raw("ZCARD", "rq:finished:big")) == 1000
    assert int(stack.redis.raw("ZCARD", "rq:wip:big")) == 0
    assert int(stack.redis.raw("LLEN", "rq:queue:big")) == 10500


def test_a_batch_fills_its_queues_as_one_enqueue_at_a_time_would(stack, client):
    """A batch pushes its ready jobs in runs (one command per run of one queue and end); a
    rate-limited job let in at once, an at_front job and a change of queue must still leave each
    queue as the same enqueues sent one by one would."""
    def jobs(prefix):
        plan = [("a", {}), ("b", {}), ("rl", {"rate_limit": {"key": prefix + "k", "concurrency": 10}}),
                ("c", {}), ("f", {"at_front": True}),
                ("rlf", {"at_front": True, "rate_limit": {"key": prefix + "k", "concurrency": 10}}),
                ("x", {"queue": prefix + "other"}), ("d", {}), ("y", {"queue": prefix + "other", "at_front": True}),
                ("e", {})]
        return [{"func": "f", "queue": prefix + "main", "id": prefix + label, **options} for label, options in plan]

    def order(queue, prefix):
        return [i.decode().removeprefix(prefix) for i in stack.redis.raw("LRANGE", f"rq:queue:{queue}", 0, -1).split()]

    for job in jobs("one-"):
        assert client.ok({"op": "enqueue", **job})["state"] == "queued"
    batch = client.ok({"op": "enqueue", "jobs": jobs("all-")})["jobs"]
    assert [j["state"] for j in batch] == ["queued"] * 10
    assert order("one-main", "one-") == ["rlf", "f", "a", "b", "rl", "c", "d", "e"]
    assert order("all-main", "all-") == order("one-main", "one-")
    assert order("all-other", "all-") == order("one-other", "one-") == ["y", "x"]
