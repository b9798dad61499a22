"""clients/python (the jobgate package) Client: every op against a real gateway and Redis."""
import threading
import time

import pytest

from jobgate_harness import wait_until
from clients_under_test import jobgate


def test_address_parsing_and_default(monkeypatch, addr, unix_addr):
    monkeypatch.delenv("JOBGATE_ADDR", raising=False)
    assert jobgate.Client().addr == "tcp://127.0.0.1:7700" == jobgate.DEFAULT_ADDR
    monkeypatch.setenv("JOBGATE_ADDR", unix_addr)
    with jobgate.Client() as c:
        assert c.addr == unix_addr
        assert c.ping()["redis"] == "ready"
    assert jobgate.Client("tcp://[::1]:7700").addr == "tcp://[::1]:7700"
    for bad in ("127.0.0.1:7700", "tcp://host", "tcp://:7700", "http://x:1", "unix:",
                "tcp://h:0", "tcp://h:65536"):
        with pytest.raises(ValueError):
            jobgate.Client(bad)


def test_ping_over_tcp_and_unix(addr, unix_addr):
    for a in (addr, unix_addr):
        with jobgate.Client(a) as c:
            reply = c.ping()
            assert reply["ok"] is True and reply["redis"] == "ready"
            assert reply["limits"]["max_wait"] == 60


def test_enqueue_and_job(jg):
    r = jg.enqueue("emails", "mail.send", ["ada@example.com"], {"subject": "hi"},
                   id="welcome", retries=2, meta={"k": [1]}, description="hello")
    assert r == {"ok": True, "id": "welcome", "state": "queued"}
    job = jg.job("welcome")
    assert job["queue"] == "emails" and job["func"] == "mail.send"
    assert job["args"] == ["ada@example.com"] and job["kwargs"] == {"subject": "hi"}
    assert job["meta"] == {"k": [1]} and job["description"] == "hello"
    assert job["state"] == "queued" and job["retries_left"] == 2

    # A generated id, default args/kwargs, and a tuple for args.
    r = jg.enqueue("emails", "mail.noop", (1, 2))
    assert r["state"] == "queued" and len(r["id"]) == 36
    assert jg.job(r["id"])["args"] == [1, 2]
    assert jg.job(r["id"])["kwargs"] == {}


def test_enqueue_scheduled(jg):
    r = jg.enqueue("later", "f", delay=3600)
    assert r["state"] == "scheduled" and isinstance(r["run_at"], (int, float))
    assert jg.job(r["id"])["state"] == "scheduled"
    r = jg.enqueue("later", "f", at="2999-01-01T00:00:00Z")
    assert r["state"] == "scheduled" and r["run_at"] == 32472144000
    assert jg.enqueue("later", "f", at=time.time() - 10)["state"] == "queued"  # past: now


def test_enqueue_options_are_stored(jg):
    jg.enqueue("opts", "f", id="plain")
    r = jg.enqueue("opts", "f", id="first", at_front=True, timeout=60, retries=3,
                   retry_intervals=[10, 60], result_ttl=-1, failure_ttl=3600, ttl=600)
    assert r["state"] == "queued"
    j = jg.job("first")
    assert j["timeout"] == 60 and j["retries_left"] == 3
    assert j["result_ttl"] == -1 and j["failure_ttl"] == 3600
    job = jg.lease("opts")
    assert job["id"] == "first" and job["lease_seconds"] == 60  # at the head, its timeout


def test_depends_on_defers_until_the_dependency_finishes(jg):
    jg.enqueue("reports", "reports.build", id="build-7")
    r = jg.enqueue("emails", "mail.report", depends_on="build-7", id="mail-7")
    assert r == {"ok": True, "id": "mail-7", "state": "deferred"}
    with pytest.raises(jobgate.JobgateError) as e:
        jg.enqueue("emails", "f", depends_on=["no-such-job"])
    assert e.value.code == "NOT_FOUND"
    jg.ack(jg.lease("reports"))
    assert jg.lease("emails")["id"] == "mail-7"


def test_enqueue_unknown_option_is_refused(jg):
    with pytest.raises(jobgate.JobgateError) as e:
        jg.enqueue("emails", "f", retires=3)  # misspelt on purpose
    assert e.value.code == "BAD_REQUEST" and "retires" in e.value.message
    assert e.value.retryable is False
    # The error did not break the connection.
    assert jg.ping()["ok"] is True


def test_duplicate(jg):
    jg.enqueue("emails", "f", id="only-once")
    with pytest.raises(jobgate.JobgateError) as e:
        jg.enqueue("emails", "f", ["other"], id="only-once")
    assert e.value.code == "DUPLICATE"
    assert e.value.id == "only-once"
    assert e.value.retryable is False
    assert jg.job("only-once")["args"] == []  # nothing changed


def test_enqueue_many(jg):
    items = jg.enqueue_many([{"func": "img.thumb", "args": [1]},
                             {"func": "img.thumb", "args": [2], "id": "thumb-2"},
                             {"func": "img.thumb", "args": [2], "id": "thumb-2"},
                             {"func": "img.other", "queue": "elsewhere"}], queue="thumbs")
    assert [i["ok"] for i in items] == [True, True, False, True]
    assert items[1]["id"] == "thumb-2" and items[2]["error"]["code"] == "DUPLICATE"
    assert jg.job(items[0]["id"])["queue"] == "thumbs"
    assert jg.job(items[3]["id"])["queue"] == "elsewhere"
    # An invalid item refuses the whole batch.
    with pytest.raises(jobgate.JobgateError) as e:
        jg.enqueue_many([{"func": "f", "queue": "ok"}, {"func": "f"}])
    assert e.value.code == "BAD_REQUEST" and "jobs[1]" in e.value.message


def test_lease_single_count_and_empty(jg):
    assert jg.lease("nothing") is None
    t0 = time.monotonic()
    assert jg.lease(["nothing"], wait=0.3) is None
    assert time.monotonic() - t0 >= 0.25
    assert jg.lease(["nothing"], count=3) == []

    jg.enqueue("low", "f", [0], id="low-1")
    jg.enqueue("high", "f", [1], id="high-1")
    jg.enqueue("high", "f", [2], id="high-2")
    job = jg.lease(["high", "low"], lease_for=30, worker="w-1")
    assert job["id"] == "high-1" and job["queue"] == "high"
    assert job["lease_seconds"] == 30 and job["attempt"] == 1 and job["retries_left"] == 0
    assert isinstance(job["lease"], str) and job["expires_at"] > 0
    assert jg.job("high-1")["state"] == "started"
    assert jg.job("high-1")["worker"] == "w-1"

    jobs = jg.lease(["high", "low"], count=5)
    assert [j["id"] for j in jobs] == ["high-2", "low-1"]


def test_lease_wait_is_woken_by_enqueue(jg, addr):
    got = {}
    t = threading.Thread(target=lambda: got.update(job=jobgate.Client(addr).lease("wake", wait=10)))
    t.start()
    wait_until(lambda: jg.stats()["gateway"]["waiting_leases"] == 1, what="lease to wait")
    jg.enqueue("wake", "f", id="wake-1")
    t.join(5)
    assert not t.is_alive() and got["job"]["id"] == "wake-1"


def test_heartbeat_ack_and_lease_lost(jg):
    jg.enqueue("q", "f", id="hb")
    job = jg.lease("q", lease_for=10)
    first = job["expires_at"]
    assert jg.heartbeat(job, extend=300) >= first + 280
    assert jg.heartbeat("hb", job["lease"]) > 0  # id + token form, default extend

    with pytest.raises(jobgate.JobgateError) as e:
        jg.heartbeat("hb", "0" * 32)
    assert e.value.code == "LEASE_LOST"

    assert jg.ack(job, result={"sent": True}) == {"ok": True, "state": "finished"}
    done = jg.job("hb")
    assert done["state"] == "finished" and done["result"] == {"sent": True}

    assert jg.ack(job) == {"ok": True, "state": "finished"}, "an ack sent again answers as the first"
    with pytest.raises(jobgate.JobgateError) as e:
        jg.ack("hb", "0" * 32)
    assert e.value.code == "LEASE_LOST" and e.value.retryable is False


def test_expired_lease_is_lost(jg):
    jg.enqueue("q", "f", id="short", retries=1)
    job = jg.lease("q", lease_for=1)
    # Polling with `job` (not heartbeat, which would extend the lease) until the sweep takes it
    # back: the expiry counts as a failed attempt, so the job is queued for its retry.
    wait_until(lambda: jg.job("short")["state"] == "queued", timeout=5, what="lease to expire")
    with pytest.raises(jobgate.JobgateError) as e:
        jg.heartbeat(job)
    assert e.value.code == "LEASE_LOST"
    assert jg.job("short")["error"] == "lease expired"


def test_fail_retry_and_final(jg):
    jg.enqueue("q", "f", id="flaky", retries=1)
    job = jg.lease("q")
    r = jg.fail(job, error="ValueError: first")
    assert r["state"] == "queued" and r["retries_left"] == 0
    job = jg.lease("q")
    assert job["attempt"] == 2
    r = jg.fail(job["id"], job["lease"], error="ValueError: second")
    assert r == {"ok": True, "state": "failed", "retries_left": 0}
    j = jg.job("flaky")
    assert j["state"] == "failed" and j["error"] == "ValueError: second"

    jg.enqueue("q", "f", id="no-retry", retries=5)
    r = jg.fail(jg.lease("q"), error="fatal", retry=False)
    assert r["state"] == "failed"


def test_release(jg):
    jg.enqueue("q", "f", id="rel", retries=1)
    job = jg.lease("q")
    assert jg.release(job) == {"ok": True, "state": "queued"}
    again = jg.lease("q")
    assert again["id"] == "rel" and again["attempt"] == 2 and again["retries_left"] == 1
    r = jg.release(again, delay=3600)
    assert r["state"] == "scheduled" and r["run_at"] > 0
    with pytest.raises(jobgate.JobgateError) as e:
        jg.release(again)
    assert e.value.code == "LEASE_LOST"


def test_ack_many(jg):
    for i in range(3):
        jg.enqueue("batch", "f", id=f"b{i}")
    jobs = jg.lease("batch", count=3)
    stale = dict(jobs[2], lease="0" * 32)
    answers = jg.ack_many([dict(jobs[0], result={"n": 0}), jobs[1], stale])
    assert [a["ok"] for a in answers] == [True, True, False]
    assert answers[0] == {"ok": True, "id": "b0", "state": "finished"}
    assert answers[2]["id"] == "b2" and answers[2]["error"]["code"] == "LEASE_LOST"
    assert jg.job("b0")["result"] == {"n": 0} and jg.job("b1")["result"] is None
    assert jg.job("b2")["state"] == "started"


def test_result_waits_for_the_job_to_end(jg, addr):
    jg.enqueue("rpc", "f", id="call-1")
    assert jg.result("call-1") == {"ok": True, "done": False, "job": jg.job("call-1")}
    t0 = time.monotonic()
    assert jg.result("call-1", wait=0.3)["done"] is False
    assert time.monotonic() - t0 >= 0.25
    got = {}
    waiter = threading.Thread(target=lambda: got.update(r=jobgate.Client(addr).result("call-1", wait=20)))
    waiter.start()
    wait_until(lambda: jg.stats()["gateway"]["ops"].get("result", 0) >= 3, what="result to wait")
    jg.ack(jg.lease("rpc"), result=42)
    waiter.join(10)
    assert not waiter.is_alive()
    assert got["r"]["done"] is True and got["r"]["job"]["result"] == 42


def test_failed_pages_and_requeue(jg):
    for i in range(3):
        jg.enqueue("thumbs", "img.thumb", [i], id=f"t{i}")
        jg.fail(jg.lease("thumbs"), error=f"ValueError: {i}", retry=False)
    page = jg.failed("thumbs", offset=1, limit=1)
    assert page["total"] == 3 and [j["id"] for j in page["jobs"]] == ["t1"]
    assert page["jobs"][0]["error"] == "ValueError: 1"
    assert [j["id"] for j in jg.failed("thumbs")["jobs"]] == ["t0", "t1", "t2"]

    assert jg.requeue("t0") == {"ok": True, "requeued": 1, "still_failed": 2}
    with pytest.raises(jobgate.JobgateError) as e:
        jg.requeue("t0")
    assert e.value.code == "WRONG_STATE"
    assert jg.requeue(queue="thumbs", limit=1) == {"ok": True, "requeued": 1, "still_failed": 1}
    assert jg.requeue(queue="thumbs") == {"ok": True, "requeued": 1, "still_failed": 0}
    assert jg.stats()["queues"]["thumbs"]["queued"] == 3
    for bad in ({}, {"job_id": "t0", "queue": "thumbs"}, {"job_id": "t0", "limit": 1}):
        with pytest.raises(ValueError):
            jg.requeue(**bad)


def test_cancel_and_delete(jg):
    jg.enqueue("q", "f", id="c1")
    assert jg.cancel("c1") == {"ok": True, "state": "canceled"}
    assert jg.job("c1")["state"] == "canceled"
    with pytest.raises(jobgate.JobgateError) as e:
        jg.cancel("c1")
    assert e.value.code == "WRONG_STATE"
    jg.enqueue("q", "f", id="d1")
    job = jg.lease("q")
    assert jg.delete("d1") == {"ok": True, "state": "deleted"}
    with pytest.raises(jobgate.JobgateError) as e:
        jg.job("d1")
    assert e.value.code == "NOT_FOUND"
    with pytest.raises(jobgate.JobgateError) as e:
        jg.ack(job)
    assert e.value.code == "NOT_FOUND"


def test_pause_and_resume(jg):
    jg.enqueue("thumbs", "f", id="p1")
    assert jg.pause("thumbs") == {"ok": True, "queue": "thumbs", "paused": True, "queued": 1}
    assert jg.lease("thumbs") is None
    assert jg.stats()["queues"]["thumbs"]["paused"] is True
    assert jg.resume("thumbs") == {"ok": True, "queue": "thumbs", "paused": False, "queued": 1}
    assert jg.lease("thumbs")["id"] == "p1"


def test_job_not_found(jg):
    with pytest.raises(jobgate.JobgateError) as e:
        jg.job("no-such-job")
    assert e.value.code == "NOT_FOUND" and "no-such-job" in e.value.message


def test_stats(jg):
    jg.enqueue("s1", "f")
    jg.enqueue("s1", "f")
    jg.ack(jg.lease("s1"))
    s = jg.stats()
    assert s["queues"]["s1"]["queued"] == 1 and s["queues"]["s1"]["finished"] == 1
    assert s["gateway"]["ops"]["enqueue"] >= 2


def test_pipeline_keeps_order_and_returns_errors(jg):
    replies = jg.pipeline([{"op": "enqueue", "queue": "p", "func": "f", "id": f"p{i}"}
                           for i in range(50)] + [{"op": "launch"}, {"op": "ping"}])
    assert [r["id"] for r in replies[:50]] == [f"p{i}" for i in range(50)]
    assert replies[50]["error"]["code"] == "UNKNOWN_OP"
    assert replies[51]["version"]
    assert jg.pipeline([]) == []


def test_unavailable_is_retryable(stack, jg):
    assert jg.ping()["redis"] == "ready"
    stack.redis.stop()

    def unavailable():
        try:
            jg.enqueue("q", "f")
            return False
        except jobgate.JobgateError as e:
            return e
    e = wait_until(unavailable, timeout=20, interval=0.2, what="UNAVAILABLE")
    assert e.code == "UNAVAILABLE" and e.retryable is True


def test_reconnects_after_gateway_restart(stack, jg):
    jg.enqueue("q", "f", id="before")
    stack.gateway.stop()
    with pytest.raises(OSError):
        jg.ping()
    stack.gateway.start()
    # The broken connection was dropped; the next call opens a new one.
    assert jg.job("before")["state"] == "queued"
