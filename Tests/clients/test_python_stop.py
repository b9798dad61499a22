"""clients/python: progress and meta while a job runs, `stop` cancelling a running handler, and
RQ's shutdown command ending a worker, against a real gateway."""
import json
import threading
import time

import pytest

from jobgate_harness import wait_until
from clients_under_test import jobgate
from test_python_worker import run_in_thread


def test_client_heartbeat_reports_and_stop_ends_the_lease(jg):
    jg.enqueue("longq", "f", id="reported")
    job = jg.lease("longq")
    first = jg.heartbeat(job, meta={"step": "resize"})
    assert jg.heartbeat(job, extend=0, progress=40) == first  # a report leaves the expiry alone
    assert jg.job("reported")["meta"] == {"step": "resize", "progress": 40}
    assert jg.stop("reported")["state"] == "stopped"
    with pytest.raises(jobgate.JobgateError) as e:
        jg.heartbeat(job)
    assert e.value.code == "STOPPED"
    assert jg.job("reported")["state"] == "stopped"
    with pytest.raises(jobgate.JobgateError) as e:
        jg.stop("reported")
    assert e.value.code == "WRONG_STATE"


def test_stop_cancels_a_handler_that_would_run_for_minutes(jg, addr, caplog):
    jg.enqueue("longq", "crunch", id="endless")
    jg.enqueue("longq", "crunch", id="after")
    ran = {}

    def handler(job):
        if job["id"] == "after":
            return "next job done"
        job.report({"step": "crunching"})
        job.progress(25)
        deadline = time.monotonic() + 600
        while not job.should_stop() and time.monotonic() < deadline:
            time.sleep(0.05)
        ran["stopped"] = job.stopped.is_set()
        ran["ended"] = time.monotonic()
        return "never acked"

    w = jobgate.Worker(addr, "longq", handler, wait=1, heartbeat_interval=0.5, lease_for=120)
    t, out = run_in_thread(w, max_jobs=2, handle_signals=False)
    wait_until(lambda: (jg.job("endless")["meta"] or {}).get("progress") == 25,
               what="the handler's progress report")
    assert jg.job("endless")["meta"] == {"step": "crunching", "progress": 25}
    assert jg.job("endless")["state"] == "started"
    stopped_at = time.monotonic()
    assert jg.stop("endless")["state"] == "stopped"
    t.join(timeout=30)
    assert not t.is_alive() and out["n"] == 2
    assert ran["stopped"] and ran["ended"] - stopped_at < 3  # heard at the next heartbeat
    endless = jg.job("endless")
    assert endless["state"] == "stopped" and endless["result"] is None
    assert jg.job("after")["result"] == "next job done"  # the worker went on to the next job
    assert "endless was stopped" in caplog.text


def test_current_job_reports_progress_from_a_registered_function(jg, addr):
    jg.enqueue("fnq", "step", id="stepping")

    def step():
        jobgate.current_job().progress(100)
        return "ok"

    jobgate.Worker(addr, "fnq", functions={"step": step}, wait=1).run(max_jobs=1)
    assert jg.job("stepping")["meta"] == {"progress": 100}


def test_bad_progress_is_refused_before_it_is_sent(jg, addr):
    jg.enqueue("fnq", "f", id="bad-progress")
    w = jobgate.Worker(addr, "fnq", lambda job: job.progress(101), wait=1)
    w.run(max_jobs=1)
    assert "progress must be a number from 0 to 100" in jg.job("bad-progress")["error"]
    with pytest.raises(RuntimeError):
        jobgate.Job({"id": "x", "lease": "y"}).report({})


def test_rq_shutdown_command_ends_the_worker_after_its_job(stack, jg, addr):
    jg.enqueue("shutq", "f", id="running")
    jg.enqueue("shutq", "f", id="left-queued")
    release = threading.Event()

    def handler(job):
        assert release.wait(30)
        return "finished first"

    w = jobgate.Worker(addr, "shutq", handler, wait=1, worker="py-shut")
    t, out = run_in_thread(w, handle_signals=False)
    wait_until(lambda: jg.job("running")["state"] == "started", what="the job to start")
    # What RQ's send_shutdown_command does.
    stack.redis.cli("PUBLISH", "rq:pubsub:py-shut", json.dumps({"command": "shutdown"}))
    wait_until(lambda: stack.redis.raw("EXISTS", "jobgate:shutdown:py-shut").strip() == b"1",
               what="the gateway to record the shutdown")
    release.set()
    t.join(timeout=20)
    assert not t.is_alive() and out["n"] == 1
    assert jg.job("running")["result"] == "finished first"
    assert jg.job("left-queued")["state"] == "queued"
