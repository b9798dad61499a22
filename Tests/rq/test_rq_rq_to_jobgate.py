"""RQ produces, jobgate consumes.

Jobs are enqueued with RQ's own `Queue` (JSON serializer), leased and finished through jobgate's
wire protocol, and then read back through RQ's API and registries.
"""
import os
from datetime import timedelta

from rq import Repeat, Retry
from rq.job import Dependency, JobStatus
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.results import Result

from rqinterop import fetch, redis_now, side_runs, wait_redis_time_past
from jobgate_harness import wait_until

# Values that survive JSON both ways; Python writes non-ASCII and astral characters as \u escapes
# (surrogate pairs), and integers past 64 bits.
AWKWARD_ARGS = [0, -2, 2 ** 63, 2 ** 70, -(2 ** 64), 1.5, 1e-07, 1e300, 0.1, True, False, None,
                "héllo 日本 😀 \"q\" \\ \n\t\u0001", [], {}, {"a": [{"b": None}]}]
AWKWARD_KWARGS = {"ünï": "😀", "": "empty key", "nested": {"deep": [[[1]]]}}


def lease(client, queue, wait=0, **extra):
    return client.ok({"op": "lease", "queues": [queue], "wait": wait, **extra})["job"]


def test_rq_job_leased_and_acked_through_jobgate(stack, client, r, rqq):
    q = rqq("rq-in")
    job = q.enqueue("rqtasks.add", 1, 2, x=3)
    odd = q.enqueue("rqtasks.echo", *AWKWARD_ARGS, **AWKWARD_KWARGS)

    leased = lease(client, "rq-in", worker="gw-worker-1")
    assert leased["id"] == job.id
    assert leased["queue"] == "rq-in"
    assert leased["func"] == "rqtasks.add"
    assert leased["args"] == [1, 2]
    assert leased["kwargs"] == {"x": 3}
    assert leased["attempt"] == 1 and leased["retries_left"] == 0
    assert leased["lease_seconds"] == 180, "RQ's default job_timeout is the lease length"

    # While leased, RQ sees the job as started, in its StartedJobRegistry.
    seen = fetch(r, job.id)
    assert seen.get_status() == JobStatus.STARTED
    assert seen.worker_name == "gw-worker-1"
    assert StartedJobRegistry("rq-in", connection=r).get_job_ids() == [job.id]

    result = {"sum": 6, "parts": [1, 2, 3], "note": "ok ✓"}
    assert client.ok({"op": "ack", "id": job.id, "lease": leased["lease"], "result": result})["state"] == "finished"
    done = fetch(r, job.id)
    assert done.get_status() == JobStatus.FINISHED
    assert done.return_value() == result
    latest = done.latest_result()
    assert latest.type == Result.Type.SUCCESSFUL
    assert latest.return_value == result
    assert done.ended_at is not None and done.started_at is not None and done.ended_at >= done.started_at
    assert FinishedJobRegistry("rq-in", connection=r).get_job_ids() == [job.id]
    assert StartedJobRegistry("rq-in", connection=r).get_job_ids() == []

    leased = lease(client, "rq-in")
    assert leased["id"] == odd.id
    assert leased["func"] == "rqtasks.echo"
    assert leased["args"] == AWKWARD_ARGS
    assert leased["kwargs"] == AWKWARD_KWARGS
    for sent, got in zip(AWKWARD_ARGS, leased["args"]):
        assert type(sent) is type(got), f"{sent!r} came back as {got!r}"
    client.ok({"op": "ack", "id": odd.id, "lease": leased["lease"],
               "result": {"args": AWKWARD_ARGS, "big": 2 ** 80}})
    back = fetch(r, odd.id).return_value()
    assert back == {"args": AWKWARD_ARGS, "big": 2 ** 80}
    assert all(type(a) is type(b) for a, b in zip(AWKWARD_ARGS, back["args"]))

    # A null result is stored as RQ stores a function returning None.
    none_job = q.enqueue("rqtasks.add", 0, 0)
    leased = lease(client, "rq-in")
    client.ok({"op": "ack", "id": none_job.id, "lease": leased["lease"]})
    none_job = fetch(r, none_job.id)
    assert none_job.get_status() == JobStatus.FINISHED
    assert none_job.return_value() is None
    assert none_job.latest_result().type == Result.Type.SUCCESSFUL
    assert lease(client, "rq-in") is None


def test_rq_job_failed_through_jobgate_then_requeued_by_rq(stack, client, r, rqq):
    q = rqq("rq-fail")
    job = q.enqueue("rqtasks.add", 1, 2, x=3)
    leased = lease(client, "rq-fail")
    assert leased["id"] == job.id
    error = "Traceback (most recent call last):\n  ...\nValueError: bad input 4c1e"
    reply = client.ok({"op": "fail", "id": job.id, "lease": leased["lease"], "error": error})
    assert reply["state"] == "failed"

    failed = fetch(r, job.id)
    assert failed.get_status() == JobStatus.FAILED
    assert q.failed_job_registry.get_job_ids() == [job.id]
    assert FailedJobRegistry("rq-fail", connection=r).count == 1
    latest = failed.latest_result()
    assert latest.type == Result.Type.FAILED
    assert "ValueError: bad input 4c1e" in latest.exc_string
    assert failed.return_value() is None
    assert StartedJobRegistry("rq-fail", connection=r).get_job_ids() == []
    assert lease(client, "rq-fail") is None

    # RQ's own requeue puts it back; jobgate leases it again (found without a wake-up).
    q.failed_job_registry.requeue(job.id)
    assert fetch(r, job.id).get_status() == JobStatus.QUEUED
    again = lease(client, "rq-fail", wait=5)
    assert again is not None and again["id"] == job.id
    assert again["attempt"] == 2
    assert (again["func"], again["args"], again["kwargs"]) == ("rqtasks.add", [1, 2], {"x": 3})
    assert q.failed_job_registry.get_job_ids() == []
    client.ok({"op": "ack", "id": job.id, "lease": again["lease"], "result": 6})
    done = fetch(r, job.id)
    assert done.get_status() == JobStatus.FINISHED and done.return_value() == 6
    view = client.ok({"op": "job", "id": job.id})["job"]
    assert view["state"] == "finished" and view["result"] == 6 and view["attempts"] == 2


def test_rq_retry_honoured_by_jobgate_fail(stack, client, r, rqq):
    q = rqq("rq-retry")
    job = q.enqueue("rqtasks.boom", "x", retry=Retry(max=2))
    assert fetch(r, job.id).retries_left == 2

    for attempt, left in ((1, 1), (2, 0)):
        leased = lease(client, "rq-retry")
        assert leased["id"] == job.id and leased["attempt"] == attempt and leased["retries_left"] == left + 1
        reply = client.ok({"op": "fail", "id": job.id, "lease": leased["lease"], "error": f"ValueError: try {attempt}"})
        assert reply == {"ok": True, "state": "queued", "retries_left": left}
        seen = fetch(r, job.id)
        assert seen.get_status() == JobStatus.QUEUED
        assert seen.retries_left == left
        assert q.job_ids == [job.id]
        assert q.failed_job_registry.count == 0
        assert seen.latest_result() is None, "like RQ, a retried attempt writes no result"

    leased = lease(client, "rq-retry")
    assert leased["attempt"] == 3 and leased["retries_left"] == 0
    reply = client.ok({"op": "fail", "id": job.id, "lease": leased["lease"], "error": "ValueError: try 3"})
    assert reply == {"ok": True, "state": "failed", "retries_left": 0}
    seen = fetch(r, job.id)
    assert seen.get_status() == JobStatus.FAILED
    assert q.failed_job_registry.get_job_ids() == [job.id]
    assert "ValueError: try 3" in seen.latest_result().exc_string
    assert len(seen.results()) == 1
    assert lease(client, "rq-retry") is None


def test_rq_retry_interval_honoured_by_jobgate_fail(stack, client, r, rqq):
    q = rqq("rq-retry-later")
    job = q.enqueue("rqtasks.boom", "x", retry=Retry(max=2, interval=[1, 2]))

    leased = lease(client, "rq-retry-later")
    before = redis_now(r)
    reply = client.ok({"op": "fail", "id": job.id, "lease": leased["lease"], "error": "ValueError: first"})
    assert reply["state"] == "scheduled" and reply["retries_left"] == 1
    # RQ's rule: with 2 retries left of [1, 2], wait intervals[len - left] = 1 s.
    assert before + 1 <= reply["retry_at"] <= before + 2.5
    seen = fetch(r, job.id)
    assert seen.get_status() == JobStatus.SCHEDULED and seen.retries_left == 1
    assert ScheduledJobRegistry("rq-retry-later", connection=r).get_job_ids() == [job.id]

    leased = lease(client, "rq-retry-later", wait=5)
    assert leased is not None and leased["id"] == job.id and leased["attempt"] == 2
    assert redis_now(r) >= reply["retry_at"]
    before = redis_now(r)
    reply = client.ok({"op": "fail", "id": job.id, "lease": leased["lease"], "error": "ValueError: second"})
    assert reply["state"] == "scheduled" and reply["retries_left"] == 0
    assert before + 2 <= reply["retry_at"] <= before + 3.5, "the second retry waits intervals[1] = 2 s"


def test_rq_enqueue_in_promoted_by_jobgate(stack, client, r, rqq):
    q = rqq("rq-later")
    job = q.enqueue_in(timedelta(seconds=1), "rqtasks.add", 5, 6)
    due = ScheduledJobRegistry("rq-later", connection=r).get_scheduled_time(job.id).timestamp()

    leased = lease(client, "rq-later", wait=5)
    assert leased is not None, "jobgate's sweeper did not promote RQ's scheduled job"
    assert leased["id"] == job.id and leased["args"] == [5, 6]
    assert redis_now(r) >= due, "promoted before its scheduled second"
    assert r.zcard("rq:scheduled:rq-later") == 0
    assert client.ok({"op": "stats"})["gateway"]["promoted"] == 1
    # jobgate took RQ's scheduler lock only for the move: it is jobgate's, and short.
    assert r.get("rq:scheduler-lock:rq-later") == b"jobgate"
    assert 0 < r.ttl("rq:scheduler-lock:rq-later") <= 5

    client.ok({"op": "ack", "id": job.id, "lease": leased["lease"], "result": 11})
    assert lease(client, "rq-later", wait=1.5) is None, "ran more than once"
    done = fetch(r, job.id)
    assert done.get_status() == JobStatus.FINISHED and done.return_value() == 11
    assert len(done.results()) == 1
    # Then the lock lapses, so an RQ scheduler started later can take the queue.
    wait_until(lambda: not r.exists("rq:scheduler-lock:rq-later"), timeout=7, interval=0.1,
               what="jobgate's scheduler lock to lapse")


def test_rq_enqueue_in_promoted_by_jobgate_run_by_rq_worker(stack, client, r, rqq, rqcli):
    """No RQ scheduler runs: jobgate's sweeper alone moves RQ's scheduled jobs for RQ workers."""
    runs = os.path.join(stack.dir, "promoted.runs")
    q = rqq("rq-later-w")
    job = q.enqueue_in(timedelta(seconds=1), "rqtasks.counted_add", runs, 1, 1)
    wait_until(lambda: r.llen("rq:queue:rq-later-w") == 1, timeout=5, interval=0.05, what="jobgate to promote")
    assert fetch(r, job.id).get_status() == JobStatus.QUEUED
    rqcli.worker("rq-later-w")
    assert len(side_runs(runs)) == 1
    assert fetch(r, job.id).return_value() == 2


def test_rq_dependents_released_when_jobgate_acks_parent(stack, client, r, rqq):
    """RQ producers chain jobs with `depends_on`. RQ's worker enqueues the dependents when the
    parent finishes; a parent finished through jobgate must release them the same way."""
    q = rqq("rq-deps")
    parent = q.enqueue("rqtasks.add", 1, 2)
    child = q.enqueue("rqtasks.add", 3, 4, depends_on=parent)
    assert fetch(r, child.id).get_status() == JobStatus.DEFERRED

    leased = lease(client, "rq-deps")
    assert leased["id"] == parent.id
    client.ok({"op": "ack", "id": parent.id, "lease": leased["lease"], "result": 3})
    assert fetch(r, parent.id).get_status() == JobStatus.FINISHED

    assert fetch(r, child.id).get_status() == JobStatus.QUEUED, \
        "the dependent of a job acked through jobgate stays deferred forever"
    assert r.zcard("rq:deferred:rq-deps") == 0
    leased = lease(client, "rq-deps", wait=2)
    assert leased is not None and leased["id"] == child.id
    client.ok({"op": "ack", "id": child.id, "lease": leased["lease"], "result": 7})

    # Two parents: the child waits for both.
    p1, p2 = q.enqueue("rqtasks.add", 1, 1), q.enqueue("rqtasks.add", 2, 2)
    both = q.enqueue("rqtasks.add", 3, 3, depends_on=[p1, p2])
    first, second = lease(client, "rq-deps"), lease(client, "rq-deps")
    assert {first["id"], second["id"]} == {p1.id, p2.id}
    client.ok({"op": "ack", "id": first["id"], "lease": first["lease"]})
    assert fetch(r, both.id).get_status() == JobStatus.DEFERRED, "released before its second parent finished"
    assert lease(client, "rq-deps") is None
    client.ok({"op": "ack", "id": second["id"], "lease": second["lease"]})
    assert fetch(r, both.id).get_status() == JobStatus.QUEUED
    assert lease(client, "rq-deps")["id"] == both.id


def test_rq_dependents_allowing_failure_released_when_jobgate_fails_parent(stack, client, r, rqq):
    """`Dependency(allow_failure=True)`: RQ's worker enqueues such dependents when the parent
    fails for good; plain dependents stay deferred."""
    q = rqq("rq-deps-fail")
    parent = q.enqueue("rqtasks.add", 1, 2)
    tolerant = q.enqueue("rqtasks.add", 3, 4, depends_on=Dependency(jobs=[parent], allow_failure=True))
    strict = q.enqueue("rqtasks.add", 5, 6, depends_on=parent)

    leased = lease(client, "rq-deps-fail")
    assert leased["id"] == parent.id
    assert client.ok({"op": "fail", "id": parent.id, "lease": leased["lease"], "error": "ValueError: p"})["state"] == "failed"
    assert fetch(r, parent.id).get_status() == JobStatus.FAILED

    assert fetch(r, strict.id).get_status() == JobStatus.DEFERRED
    assert fetch(r, tolerant.id).get_status() == JobStatus.QUEUED, \
        "a dependent with allow_failure stays deferred after its parent failed through jobgate"
    leased = lease(client, "rq-deps-fail")
    assert leased is not None and leased["id"] == tolerant.id
    assert lease(client, "rq-deps-fail") is None


def test_rq_worker_and_jobgate_share_a_queue(stack, client, r, rqq, rqcli):
    """Both consumers drain one queue at the same time; every job runs exactly once."""
    runs = os.path.join(stack.dir, "shared.runs")
    q = rqq("shared")
    ids = [q.enqueue("rqtasks.counted_add", runs, i, i, job_id=f"rq-{i}").id for i in range(20)]
    reply = client.ok({"op": "enqueue", "queue": "shared",
                       "jobs": [{"func": "rqtasks.counted_add", "args": [runs, i, i], "id": f"jg-{i}"}
                                for i in range(20)]})
    ids += [j["id"] for j in reply["jobs"]]

    worker = rqcli.start_worker("shared", burst=True)
    by_gateway = []
    while True:
        leased = lease(client, "shared")
        if leased is None:
            break
        by_gateway.append(leased["id"])
        client.ok({"op": "ack", "id": leased["id"], "lease": leased["lease"], "result": "by jobgate"})
    rqcli.finish(worker, timeout=60)

    by_rq = [i for i in ids if fetch(r, i).return_value() != "by jobgate"]
    assert len(set(by_gateway)) == len(by_gateway)
    assert sorted(by_gateway + by_rq) == sorted(ids), "a job was run by both, or by neither"
    assert len(side_runs(runs)) == len(by_rq)
    assert all(fetch(r, i).get_status() == JobStatus.FINISHED for i in ids)
    assert FinishedJobRegistry("shared", connection=r).count == 40
    assert r.llen("rq:queue:shared") == 0


def test_rq_repeat_honoured_by_jobgate_ack(stack, client, r, rqq):
    """`Repeat(times=2)`: RQ's worker runs the job 3 times, re-queueing it after each success
    while `repeats_left` > 0 (counting it down). Acks through jobgate must do the same."""
    q = rqq("rq-repeat")
    job = q.enqueue("rqtasks.add", 1, 2, repeat=Repeat(times=2))
    assert fetch(r, job.id).repeats_left == 2

    for run, left_after in ((1, 1), (2, 0)):
        leased = lease(client, "rq-repeat", wait=2)
        assert leased is not None and leased["id"] == job.id, f"run {run}: the repeat was not queued"
        client.ok({"op": "ack", "id": job.id, "lease": leased["lease"], "result": run})
        seen = fetch(r, job.id)
        assert seen.repeats_left == left_after, f"after run {run}"
        assert seen.get_status() == JobStatus.QUEUED, f"after run {run}: not re-queued for its repeat"
        assert seen.latest_result().return_value == run

    leased = lease(client, "rq-repeat", wait=2)
    assert leased is not None and leased["id"] == job.id
    client.ok({"op": "ack", "id": job.id, "lease": leased["lease"], "result": 3})
    done = fetch(r, job.id)
    assert done.get_status() == JobStatus.FINISHED and done.repeats_left == 0
    assert [res.return_value for res in done.results()] == [3, 2, 1]
    assert lease(client, "rq-repeat") is None


def test_rq_cancel_of_a_named_lease_clears_started_registry(stack, client, r, rqq, rqcli):
    """RQ's `job.cancel()` on a running job removes it from StartedJobRegistry at once, through
    the job's `rq:executions:<id>` records, which jobgate writes for leases that name a worker.
    The lease is then lost: jobgate must not finish a job RQ canceled."""
    q = rqq("rq-cancel")
    job = q.enqueue("rqtasks.add", 1, 2)
    leased = lease(client, "rq-cancel", worker="gw-cancel")
    assert leased["id"] == job.id
    assert [e.composite_key for e in fetch(r, job.id).get_executions()] == [f"{job.id}:{leased['lease']}"]
    fetch(r, job.id).cancel()
    assert fetch(r, job.id).get_status() == JobStatus.CANCELED
    assert q.canceled_job_registry.get_job_ids() == [job.id]
    assert StartedJobRegistry("rq-cancel", connection=r).get_job_ids() == []
    assert rqcli.info_queue("rq-cancel") == (0, 0, 0, 0)
    beat = client.call({"op": "heartbeat", "id": job.id, "lease": leased["lease"]})
    assert beat["error"]["code"] == "LEASE_LOST"
    reply = client.call({"op": "ack", "id": job.id, "lease": leased["lease"], "result": 3})
    assert reply["error"]["code"] == "LEASE_LOST"
    assert fetch(r, job.id).get_status() == JobStatus.CANCELED


def test_rq_delete_of_a_named_lease_clears_started_registry(stack, client, r, rqq, rqcli):
    """Same for RQ's `job.delete()` (also the dashboard's delete button)."""
    q = rqq("rq-delete")
    job = q.enqueue("rqtasks.add", 1, 2)
    leased = lease(client, "rq-delete", worker="gw-delete")
    fetch(r, job.id).delete()
    assert not r.exists(f"rq:job:{job.id}")
    assert StartedJobRegistry("rq-delete", connection=r).get_job_ids() == []
    assert rqcli.info_queue("rq-delete") == (0, 0, 0, 0)
    reply = client.call({"op": "ack", "id": job.id, "lease": leased["lease"]})
    assert reply["error"]["code"] == "NOT_FOUND"


def test_rq_cancel_of_an_anonymous_lease_is_not_undone(stack, client, r, rqq):
    """An anonymous lease writes no `rq:executions`, so RQ's cancel cannot take it out of rq:wip
    (documented). When that lease then runs out, jobgate must not treat the canceled job as a
    failed attempt: not retry it (it would run again) and not move it to the failed registry."""
    q = rqq("rq-cancel-anon")
    retried = q.enqueue("rqtasks.add", 1, 2, retry=Retry(max=1))
    plain = q.enqueue("rqtasks.add", 3, 4)
    leases = client.ok({"op": "lease", "queues": ["rq-cancel-anon"], "count": 2, "lease_for": 1})["jobs"]
    assert {j["id"] for j in leases} == {retried.id, plain.id}
    fetch(r, retried.id).cancel()
    fetch(r, plain.id).cancel()
    wait_redis_time_past(r, max(j["expires_at"] for j in leases) + 0.75, what="the leases to run out")

    assert r.zcard("rq:wip:rq-cancel-anon") == 0
    assert fetch(r, retried.id).get_status() == JobStatus.CANCELED, "the canceled job was re-queued"
    assert fetch(r, plain.id).get_status() == JobStatus.CANCELED, "the canceled job was failed"
    assert q.job_ids == []
    assert q.failed_job_registry.get_job_ids() == []
    assert sorted(q.canceled_job_registry.get_job_ids()) == sorted([retried.id, plain.id])
    assert lease(client, "rq-cancel-anon") is None
