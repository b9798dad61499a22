"""clients/python/jobgate.py Worker: real leases, heartbeats, acks and signals."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

from jobgate_harness import wait_until
from clients_under_test import jobgate, CLIENTS


def run_in_thread(worker, **kw):
    out = {}
    t = threading.Thread(target=lambda: out.update(n=worker.run(**kw)), daemon=True)
    t.start()
    return t, out


def test_worker_acks_results(jg, addr):
    ids = [jg.enqueue("math", "add", [i, i * 10])["id"] for i in range(3)]
    seen = []

    def handler(job):
        seen.append(job["id"])
        return {"sum": sum(job["args"]), "func": job["func"]}

    w = jobgate.Worker(addr, ["math"], handler, wait=1, worker="py-worker")
    assert w.run(max_jobs=3) == 3
    assert seen == ids
    for i, job_id in enumerate(ids):
        j = jg.job(job_id)
        assert j["state"] == "finished" and j["attempts"] == 1
        assert j["result"] == {"sum": i * 11, "func": "add"}
        assert j["worker"] == "py-worker"


def test_worker_priority_and_none_result(jg):
    jg.enqueue("low", "f", id="l")
    jg.enqueue("high", "f", id="h")
    order = []
    w = jobgate.Worker(jg, ["high", "low"], lambda job: order.append(job["id"]), wait=1)
    w.run(max_jobs=2)
    assert order == ["h", "l"]
    assert jg.job("l")["state"] == "finished" and jg.job("l")["result"] is None


def test_handler_exception_fails_with_traceback(jg, addr):
    jg.enqueue("img", "resize", ["x.png"], id="bad", retries=1)

    def handler(job):
        raise ValueError(f"cannot decode {job['args'][0]}")

    jobgate.Worker(addr, "img", handler, wait=1).run(max_jobs=1)
    j = jg.job("bad")
    assert j["state"] == "queued" and j["retries_left"] == 0  # retried, one retry spent
    assert j["error"].startswith("Traceback")
    assert j["error"].rstrip().endswith("ValueError: cannot decode x.png")

    jobgate.Worker(addr, "img", handler, wait=1).run(max_jobs=1)
    j = jg.job("bad")
    assert j["state"] == "failed" and j["attempts"] == 2


def test_unserialisable_result_fails_the_job(jg, addr):
    jg.enqueue("q", "f", id="obj")
    jobgate.Worker(addr, "q", lambda job: object(), wait=1).run(max_jobs=1)
    j = jg.job("obj")
    assert j["state"] == "failed" and "not JSON serializable" in j["error"]


def test_heartbeats_keep_a_long_job_alive(jg, addr):
    jg.enqueue("slow", "f", id="long", retries=3)

    def handler(job):
        time.sleep(3.5)  # the job itself: three and a half lease lengths
        return "survived"

    jobgate.Worker(addr, "slow", handler, wait=1, lease_for=1).run(max_jobs=1)
    j = jg.job("long")
    assert j["state"] == "finished" and j["result"] == "survived"
    assert j["attempts"] == 1 and j["retries_left"] == 3
    assert jg.stats()["gateway"]["lease_expiries"] == 0


def test_lease_lost_marks_job_and_drops_outcome(jg, addr):
    jg.enqueue("q", "f", id="stolen")
    seen = {}

    def handler(job):
        # Someone else takes the lease away (here: the job is released with its token).
        with jobgate.Client(addr) as other:
            other.release(job)
        seen["lost"] = job.lost.wait(10)  # the heartbeat thread notices LEASE_LOST
        return "too late"

    jobgate.Worker(addr, "q", handler, wait=1, lease_for=1).run(max_jobs=1)
    assert seen["lost"] is True
    j = jg.job("stolen")
    # No ack went out: the job is back in its queue, without a result.
    assert j["state"] == "queued" and j["result"] is None and j["attempts"] == 1


def test_stop_finishes_running_job_and_leases_no_more(jg, addr):
    jg.enqueue("q", "f", id="first")
    jg.enqueue("q", "f", id="second")
    started, proceed = threading.Event(), threading.Event()

    def handler(job):
        started.set()
        proceed.wait(10)
        return job["id"]

    w = jobgate.Worker(addr, "q", handler, wait=1)
    t, out = run_in_thread(w)
    assert started.wait(10)
    w.stop()
    proceed.set()
    t.join(10)
    assert not t.is_alive() and out["n"] == 1
    assert jg.job("first")["state"] == "finished" and jg.job("first")["result"] == "first"
    assert jg.job("second")["state"] == "queued" and jg.job("second")["attempts"] == 0


def test_stop_while_idle_returns(jg, addr):
    w = jobgate.Worker(addr, "empty", lambda job: None, wait=0.5)
    t, out = run_in_thread(w)
    wait_until(lambda: jg.stats()["gateway"]["waiting_leases"] == 1, what="worker to wait")
    w.stop()
    t.join(5)
    assert not t.is_alive() and out["n"] == 0


def test_sigint_finishes_running_job(jg, addr, tmp_path):
    jg.enqueue("q", "f", id="a")
    jg.enqueue("q", "f", id="b")
    marker = tmp_path / "running"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {os.path.join(CLIENTS, "python")!r})
        import jobgate
        def handler(job):
            open({str(marker)!r}, "w").close()
            time.sleep(1.5)
            return "done " + job["id"]
        n = jobgate.Worker({addr!r}, ["q"], handler, wait=1).run()
        print("handled", n)
    """)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        wait_until(marker.exists, what="handler to start")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    assert out.strip() == "handled 1"
    assert jg.job("a")["state"] == "finished" and jg.job("a")["result"] == "done a"
    assert jg.job("b")["state"] == "queued"


def test_job_leased_after_stop_is_released(jg, addr):
    w = jobgate.Worker(addr, "late", lambda job: "ran", wait=5)
    t, out = run_in_thread(w)
    wait_until(lambda: jg.stats()["gateway"]["waiting_leases"] == 1, what="worker to wait")
    w.stop()
    jg.enqueue("late", "f", id="late-1", retries=1)  # answers the lease already in flight
    t.join(10)
    assert not t.is_alive() and out["n"] == 0
    j = jg.job("late-1")
    assert j["state"] == "queued" and j["attempts"] == 1 and j["retries_left"] == 1


def test_second_sigint_releases_the_running_job(jg, addr, tmp_path):
    jg.enqueue("q", "f", id="abandoned", retries=2)
    marker, log = tmp_path / "running", tmp_path / "stderr"
    script = textwrap.dedent(f"""
        import logging, sys, time
        sys.path.insert(0, {os.path.join(CLIENTS, "python")!r})
        import jobgate
        logging.basicConfig(level=logging.INFO)
        def handler(job):
            open({str(marker)!r}, "w").close()
            time.sleep(30)
        jobgate.Worker({addr!r}, ["q"], handler, wait=1).run()
    """)
    with open(log, "w") as err:
        p = subprocess.Popen([sys.executable, "-c", script], stderr=err)
    try:
        wait_until(marker.exists, what="handler to start")
        p.send_signal(signal.SIGINT)
        wait_until(lambda: "stopping" in log.read_text(), what="the first SIGINT to be handled")
        p.send_signal(signal.SIGINT)
        p.wait(timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode != 0 and "KeyboardInterrupt" in log.read_text()
    j = jg.job("abandoned")
    assert j["state"] == "queued" and j["attempts"] == 1 and j["retries_left"] == 2
