"""jobgate produces, real RQ workers consume.

Jobs are enqueued through jobgate's wire protocol, run by `rq worker` (RQ 2.12, JSON serializer)
as a subprocess, and then read back both through RQ's own API and through jobgate's `job` op.
"""
import os

from rq.job import JobStatus
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry
from rq.results import Result

from rqinterop import fetch, side_runs
from jobgate_harness import wait_until


def test_jobgate_job_runs_on_rq_worker(stack, client, r, rqcli):
    client.ok({"op": "enqueue", "queue": "jq", "func": "rqtasks.add", "args": [1, 2], "kwargs": {"x": 3},
               "id": "jg-add"})
    meta = {"owner": "jobgate", "tags": ["a", "b"], "n": 1.5}
    args = [1, "héllo 😀", None, True, [1, {"k": []}], 2 ** 70, 0.1]
    kwargs = {"ünï": {"deep": [[1]]}, "flag": False}
    client.ok({"op": "enqueue", "queue": "jq", "func": "rqtasks.echo", "args": args, "kwargs": kwargs,
               "id": "jg-echo", "meta": meta, "description": "echo from jobgate", "timeout": 30,
               "result_ttl": 1000})
    assert rqcli.info_queue("jq") == (2, 0, 0, 0)

    rqcli.worker("jq", name="rqw-jg-1")

    job = fetch(r, "jg-add")
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == 6
    latest = job.latest_result()
    assert latest.type == Result.Type.SUCCESSFUL
    assert latest.worker_name == "rqw-jg-1"
    assert job.func_name == "rqtasks.add" and job.args == [1, 2] and job.kwargs == {"x": 3}
    assert job.origin == "jq"

    echo = fetch(r, "jg-echo")
    assert echo.get_status() == JobStatus.FINISHED
    assert echo.return_value() == {"args": args, "kwargs": kwargs}
    assert echo.get_meta() == meta
    assert echo.description == "echo from jobgate"
    assert echo.timeout == 30
    assert echo.result_ttl == 1000
    assert 990 < r.ttl("rq:job:jg-echo") <= 1000, "RQ applies the job's own result_ttl"

    assert set(FinishedJobRegistry("jq", connection=r).get_job_ids()) == {"jg-add", "jg-echo"}
    assert r.llen("rq:queue:jq") == 0

    view = client.ok({"op": "job", "id": "jg-add"})["job"]
    assert view["state"] == "finished"
    assert view["result"] == 6
    assert view["error"] is None
    assert view["worker"] == "rqw-jg-1"
    assert view["func"] == "rqtasks.add" and view["args"] == [1, 2] and view["kwargs"] == {"x": 3}
    assert view["started_at"] and view["ended_at"] and view["ended_at"] >= view["started_at"]

    view = client.ok({"op": "job", "id": "jg-echo"})["job"]
    assert view["state"] == "finished"
    assert view["result"] == {"args": args, "kwargs": kwargs}
    assert view["meta"] == meta

    stats = client.ok({"op": "stats"})["queues"]["jq"]
    assert (stats["queued"], stats["started"], stats["finished"], stats["failed"]) == (0, 0, 2, 0)
    assert rqcli.info_queue("jq") == (0, 0, 2, 0)


def test_jobgate_job_failing_on_rq_worker(stack, client, r, rqcli):
    client.ok({"op": "enqueue", "queue": "jf", "func": "rqtasks.boom", "args": ["kaput-7f3a"], "id": "jg-boom"})
    client.ok({"op": "enqueue", "queue": "jf", "func": "rqtasks.no_such_function", "id": "jg-missing"})

    rqcli.worker("jf", name="rqw-jg-2")

    job = fetch(r, "jg-boom")
    assert job.get_status() == JobStatus.FAILED
    latest = job.latest_result()
    assert latest.type == Result.Type.FAILED
    assert "ValueError: kaput-7f3a" in latest.exc_string
    assert job.return_value() is None
    registry = FailedJobRegistry("jf", connection=r)
    assert set(registry.get_job_ids()) == {"jg-boom", "jg-missing"}

    view = client.ok({"op": "job", "id": "jg-boom"})["job"]
    assert view["state"] == "failed"
    assert "ValueError: kaput-7f3a" in view["error"]
    assert view["result"] is None
    assert view["worker"] == "rqw-jg-2"

    view = client.ok({"op": "job", "id": "jg-missing"})["job"]
    assert view["state"] == "failed"
    assert "no_such_function" in view["error"]

    stats = client.ok({"op": "stats"})["queues"]["jf"]
    assert (stats["queued"], stats["started"], stats["failed"], stats["finished"]) == (0, 0, 2, 0)


def test_jobgate_retries_honoured_by_rq_worker(stack, client, r, rqcli):
    always = os.path.join(stack.dir, "always.runs")
    flaky = os.path.join(stack.dir, "flaky.runs")
    client.ok({"op": "enqueue", "queue": "jr", "func": "rqtasks.always_fails", "args": [always, "nope-91c2"],
               "id": "jg-always", "retries": 2, "retry_intervals": [0]})
    client.ok({"op": "enqueue", "queue": "jr", "func": "rqtasks.fails_until", "args": [flaky, 2, "flaky-5d0e"],
               "id": "jg-flaky", "retries": 3, "retry_intervals": 0})

    rqcli.worker("jr")

    assert len(side_runs(always)) == 3, "1 run + 2 retries"
    job = fetch(r, "jg-always")
    assert job.get_status() == JobStatus.FAILED
    assert job.retries_left == 0
    assert "RuntimeError: nope-91c2" in job.latest_result().exc_string
    assert len(job.results()) == 1, "RQ writes a result only for the final failure"
    view = client.ok({"op": "job", "id": "jg-always"})["job"]
    assert view["state"] == "failed" and view["retries_left"] == 0
    assert "RuntimeError: nope-91c2" in view["error"]

    assert len(side_runs(flaky)) == 2, "failed once, then succeeded"
    job = fetch(r, "jg-flaky")
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == 2
    assert job.retries_left == 2
    view = client.ok({"op": "job", "id": "jg-flaky"})["job"]
    assert view["state"] == "finished" and view["result"] == 2 and view["retries_left"] == 2


def test_jobgate_retry_interval_scheduled_by_rq_promoted_by_jobgate(stack, client, r, rqcli):
    """An RQ worker schedules a jobgate job's retry (interval 1 s); with no RQ scheduler running,
    jobgate's sweeper promotes it, and a second RQ worker runs the retry."""
    runs = os.path.join(stack.dir, "retry.runs")
    client.ok({"op": "enqueue", "queue": "jri", "func": "rqtasks.fails_until", "args": [runs, 2, "later-0b4e"],
               "id": "jg-later", "retries": 1, "retry_intervals": [1]})

    rqcli.worker("jri")
    assert len(side_runs(runs)) == 1
    assert fetch(r, "jg-later").retries_left == 0
    # RQ truncates the retry time to a whole second, so it may already be due (and promoted) here.
    wait_until(lambda: r.llen("rq:queue:jri") == 1, timeout=5, interval=0.05, what="jobgate to promote the retry")
    assert fetch(r, "jg-later").get_status() == JobStatus.QUEUED
    assert r.zcard("rq:scheduled:jri") == 0
    assert client.ok({"op": "stats"})["gateway"]["promoted"] == 1, "RQ scheduled the retry, jobgate promoted it"

    rqcli.worker("jri")
    assert len(side_runs(runs)) == 2
    job = fetch(r, "jg-later")
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == 2
    assert client.ok({"op": "job", "id": "jg-later"})["job"]["state"] == "finished"


def test_jobgate_delayed_job_run_by_rq_scheduler(stack, client, r, rqcli):
    """jobgate schedules (`delay: 1`); RQ's own scheduler (worker --with-scheduler) holds the
    queue's scheduler lock, so it, not jobgate, moves the job; the job runs exactly once."""
    runs = os.path.join(stack.dir, "delayed.runs")
    worker = rqcli.start_worker("jd", extra=["--with-scheduler", "--max-jobs", "1"])
    lock = wait_until(lambda: r.get("rq:scheduler-lock:jd"), timeout=30, interval=0.05,
                      what="RQ's scheduler to take the queue's lock")
    assert lock != b"jobgate"

    reply = client.ok({"op": "enqueue", "queue": "jd", "func": "rqtasks.counted_add", "args": [runs, 2, 3],
                       "id": "jg-delayed", "delay": 1})
    assert reply["state"] == "scheduled"
    run_at = reply["run_at"]
    # run_at is a whole second at least 1 s ahead, so nobody can have moved it yet.
    assert fetch(r, "jg-delayed").get_status() == JobStatus.SCHEDULED
    assert ScheduledJobRegistry("jd", connection=r).get_scheduled_time("jg-delayed").timestamp() == run_at

    rqcli.finish(worker, timeout=30)
    ran = side_runs(runs)
    assert len(ran) == 1, f"ran {len(ran)} times"
    assert ran[0] >= run_at, "the job ran before its scheduled second"
    job = fetch(r, "jg-delayed")
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == 5
    assert r.zcard("rq:scheduled:jd") == 0 and r.llen("rq:queue:jd") == 0

    gateway = client.ok({"op": "stats"})["gateway"]
    assert gateway["promoted"] == 0, "jobgate must leave a queue whose lock RQ's scheduler holds to RQ"
    view = client.ok({"op": "job", "id": "jg-delayed"})["job"]
    assert view["state"] == "finished" and view["result"] == 5


def test_jobgate_sees_a_job_while_an_rq_worker_runs_it(stack, client, r, rqcli):
    """protocol.md: `stats` counts as `started` jobs leased by jobgate *or run by an RQ worker*;
    `job` reports RQ's state and worker."""
    client.ok({"op": "enqueue", "queue": "jw", "func": "rqtasks.sleepy", "args": [1.5, "slept"], "id": "jg-slow"})
    worker = rqcli.start_worker("jw", name="rqw-slow", burst=True)

    view = wait_until(lambda: (lambda j: j if j["state"] == "started" else None)(
        client.ok({"op": "job", "id": "jg-slow"})["job"]), timeout=20, interval=0.05, what="the RQ worker to start the job")
    assert view["worker"] == "rqw-slow" and view["started_at"] and view["ended_at"] is None
    stats = client.ok({"op": "stats"})["queues"]["jw"]
    assert (stats["queued"], stats["started"]) == (0, 1)
    assert rqcli.info_queue("jw") == (0, 1, 0, 0)

    rqcli.finish(worker, timeout=30)
    view = client.ok({"op": "job", "id": "jg-slow"})["job"]
    assert view["state"] == "finished" and view["result"] == "slept"
    stats = client.ok({"op": "stats"})["queues"]["jw"]
    assert (stats["started"], stats["finished"]) == (0, 1)
