"""clients/python/jobgate.py Client: every op against a real gateway and Redis."""
import os
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
    for bad in ("127.0.0.1:7700", "tcp://host", "tcp://:7700", "http://x:1", "unix:"):
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
    import threading
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

    with pytest.raises(jobgate.JobgateError) as e:
        jg.ack(job)
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
