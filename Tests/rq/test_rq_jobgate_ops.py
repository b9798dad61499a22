"""jobgate's registry ops (depends_on, cancel, requeue, delete, failed, result) on jobs that RQ
workers run or that RQ produced, checked through RQ's own API."""
import os
import time

import pytest
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import JobStatus
from rq.registry import DeferredJobRegistry, FinishedJobRegistry

from rqinterop import fetch, side_runs


def test_jobgate_depends_on_released_by_rq_worker(stack, client, r, rqcli):
    """protocol.md: `depends_on` writes RQ's dependency keys, "so RQ workers release it too"."""
    runs = os.path.join(stack.dir, "chain.runs")
    client.ok({"op": "enqueue", "queue": "chain", "func": "rqtasks.counted_add", "args": [runs, 1, 1],
               "id": "chain-parent"})
    client.ok({"op": "enqueue", "queue": "chain", "func": "rqtasks.counted_add", "args": [runs, 2, 2],
               "id": "chain-other"})
    reply = client.ok({"op": "enqueue", "queue": "chain", "func": "rqtasks.counted_add", "args": [runs, 3, 3],
                       "id": "chain-child", "depends_on": ["chain-parent", "chain-other"]})
    assert reply["state"] == "deferred"
    child = fetch(r, "chain-child")
    assert child.get_status() == JobStatus.DEFERRED
    assert sorted(child.dependency_ids) == ["chain-other", "chain-parent"]
    assert DeferredJobRegistry("chain", connection=r).get_job_ids() == ["chain-child"]

    rqcli.worker("chain")
    assert len(side_runs(runs)) == 3
    for job_id, value in (("chain-parent", 2), ("chain-other", 4), ("chain-child", 6)):
        job = fetch(r, job_id)
        assert job.get_status() == JobStatus.FINISHED and job.return_value() == value, job_id
    assert fetch(r, "chain-child").started_at >= fetch(r, "chain-other").ended_at
    assert DeferredJobRegistry("chain", connection=r).get_job_ids() == []
    assert client.ok({"op": "job", "id": "chain-child"})["job"]["state"] == "finished"


def test_jobgate_depends_on_an_rq_job(stack, client, r, rqq, rqcli):
    """A jobgate job waits on a job RQ produced and an RQ worker runs; then jobgate leases it."""
    parent = rqq("mixed").enqueue("rqtasks.add", 20, 22)
    reply = client.ok({"op": "enqueue", "queue": "mixed-next", "func": "rqtasks.add", "args": [1, 1],
                       "id": "after-rq", "depends_on": parent.id})
    assert reply["state"] == "deferred"
    assert client.ok({"op": "lease", "queues": ["mixed-next"]})["job"] is None

    rqcli.worker("mixed")
    assert fetch(r, parent.id).return_value() == 42
    assert fetch(r, "after-rq").get_status() == JobStatus.QUEUED
    leased = client.ok({"op": "lease", "queues": ["mixed-next"], "wait": 2})["job"]
    assert leased is not None and leased["id"] == "after-rq"


def test_jobgate_cancel_is_honoured_by_rq(stack, client, r, rqq, rqcli):
    runs = os.path.join(stack.dir, "cancel.runs")
    q = rqq("gcancel")
    rq_job = q.enqueue("rqtasks.counted_add", runs, 1, 1)
    client.ok({"op": "enqueue", "queue": "gcancel", "func": "rqtasks.counted_add", "args": [runs, 2, 2],
               "id": "gc-queued"})
    client.ok({"op": "enqueue", "queue": "gcancel", "func": "rqtasks.counted_add", "args": [runs, 3, 3],
               "id": "gc-later", "delay": 3600})
    client.ok({"op": "enqueue", "queue": "gcancel", "func": "rqtasks.counted_add", "args": [runs, 4, 4],
               "id": "gc-keep"})
    for job_id in (rq_job.id, "gc-queued", "gc-later"):
        assert client.ok({"op": "cancel", "id": job_id})["state"] == "canceled"

    for job_id in (rq_job.id, "gc-queued", "gc-later"):
        assert fetch(r, job_id).get_status() == JobStatus.CANCELED, job_id
    assert sorted(q.canceled_job_registry.get_job_ids()) == sorted([rq_job.id, "gc-queued", "gc-later"])
    assert q.job_ids == ["gc-keep"]
    assert q.scheduled_job_registry.get_job_ids() == []
    # RQ refuses to cancel what jobgate canceled, as it would its own.
    with pytest.raises(InvalidJobOperation, match="already canceled"):
        fetch(r, "gc-queued").cancel()

    rqcli.worker("gcancel")
    assert len(side_runs(runs)) == 1, "only the job that was not canceled runs"
    assert fetch(r, "gc-keep").get_status() == JobStatus.FINISHED


def test_jobgate_requeue_and_failed_list_rq_worker_failures(stack, client, r, rqq, rqcli):
    runs = os.path.join(stack.dir, "requeue.runs")
    q = rqq("grq")
    rq_job = q.enqueue("rqtasks.fails_until", runs, 2, "first-run-fails-3a7b")
    client.ok({"op": "enqueue", "queue": "grq", "func": "rqtasks.boom", "args": ["always-9d2c"], "id": "grq-boom"})

    rqcli.worker("grq")
    page = client.ok({"op": "failed", "queue": "grq"})
    assert page["total"] == 2
    errors = {j["id"]: j["error"] for j in page["jobs"]}
    assert set(errors) == {rq_job.id, "grq-boom"}
    assert "RuntimeError: first-run-fails-3a7b (run 1)" in errors[rq_job.id]
    assert "ValueError: always-9d2c" in errors["grq-boom"]
    assert all(j["state"] == "failed" for j in page["jobs"])

    reply = client.ok({"op": "requeue", "id": rq_job.id})
    assert reply == {"ok": True, "requeued": 1, "still_failed": 1}
    assert fetch(r, rq_job.id).get_status() == JobStatus.QUEUED
    assert q.failed_job_registry.get_job_ids() == ["grq-boom"]

    rqcli.worker("grq")
    assert len(side_runs(runs)) == 2
    job = fetch(r, rq_job.id)
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == 2
    assert client.ok({"op": "failed", "queue": "grq"})["total"] == 1


def test_jobgate_delete_removes_rq_jobs(stack, client, r, rqq, rqcli):
    q = rqq("gdel")
    queued = q.enqueue("rqtasks.add", 1, 1)
    done = q.enqueue("rqtasks.add", 2, 2)
    rqcli.worker("gdel")
    assert sorted(FinishedJobRegistry("gdel", connection=r).get_job_ids()) == sorted([queued.id, done.id])
    later = q.enqueue("rqtasks.add", 3, 3)

    for job in (queued, done, later):
        assert client.ok({"op": "delete", "id": job.id})["state"] == "deleted"
        with pytest.raises(NoSuchJobError):
            fetch(r, job.id)
        assert not r.exists(f"rq:results:{job.id}")
    assert FinishedJobRegistry("gdel", connection=r).get_job_ids() == []
    assert q.job_ids == []
    assert rqcli.info_queue("gdel") == (0, 0, 0, 0)


def test_jobgate_result_wakes_when_an_rq_worker_finishes(stack, client, r, rqcli):
    """protocol.md: `result` wakes "within about a second when an RQ worker finishes it"."""
    client.ok({"op": "enqueue", "queue": "rpc", "func": "rqtasks.add", "args": [40, 2], "id": "rpc-1"})
    client.ok({"op": "enqueue", "queue": "rpc", "func": "rqtasks.boom", "args": ["rpc-failed-71e0"], "id": "rpc-2"})
    with stack.client() as waiter:
        waiter.send({"op": "result", "id": "rpc-1", "wait": 30})
        waiter.send({"op": "result", "id": "rpc-2", "wait": 30})
        rqcli.worker("rpc")
        finished_at = time.monotonic()
        first, second = waiter.reply(), waiter.reply()
        woke = time.monotonic() - finished_at
    assert first["ok"] and first["done"] is True
    assert first["job"]["state"] == "finished" and first["job"]["result"] == 42
    assert second["ok"] and second["done"] is True
    assert second["job"]["state"] == "failed" and "ValueError: rpc-failed-71e0" in second["job"]["error"]
    assert woke < 2.5, f"woke {woke:.2f}s after the RQ worker exited"
    assert fetch(r, "rpc-1").get_status() == JobStatus.FINISHED
