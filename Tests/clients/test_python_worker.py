"""clients/python (the jobgate package) Worker: real leases, heartbeats, acks and signals."""
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from jobgate_harness import wait_until
from clients_under_test import jobgate, CLIENTS


def start_worker_process(tmp_path, addr, worker_options="", sleep=1.5):
    """A worker in a process of its own, logging at INFO to tmp_path/stderr. Its handler
    creates tmp_path/running, then works `sleep` seconds. Returns (process, log file)."""
    marker, log = tmp_path / "running", tmp_path / "stderr"
    script = textwrap.dedent(f"""
        import logging, sys, time
        sys.path.insert(0, {os.path.join(CLIENTS, "python")!r})
        import jobgate
        logging.basicConfig(level=logging.INFO)
        def handler(job):
            open({str(marker)!r}, "w").close()
            time.sleep({sleep})
            return "done " + job["id"]
        n = jobgate.Worker({addr!r}, ["q"], handler, wait=1, {worker_options}).run()
        print("handled", n)
    """)
    with open(log, "w") as err:
        p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=err,
                             text=True)
    wait_until(marker.exists, what="the handler to start")
    return p, log


def finish(p):
    try:
        out, _ = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return out


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


def run_a_job_longer_than_its_lease(client):
    """Runs a job for two and a half lease lengths: only heartbeats keep its lease. Returns
    the job as the gateway then has it."""
    client.enqueue("slow", "f", id="long", retries=2)

    def handler(job):
        time.sleep(2.5)
        return "survived"

    jobgate.Worker(client, "slow", handler, wait=1, lease_for=1).run(max_jobs=1)
    return client.job("long")


def test_heartbeats_keep_a_long_job_alive(jg):
    j = run_a_job_longer_than_its_lease(jg)
    assert j["state"] == "finished" and j["result"] == "survived"
    assert j["attempts"] == 1 and j["retries_left"] == 2
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


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_finishes_the_running_job_then_stops(jg, addr, tmp_path, sig):
    jg.enqueue("q", "f", id="a")
    jg.enqueue("q", "f", id="b")
    p, log = start_worker_process(tmp_path, addr)
    p.send_signal(sig)
    out = finish(p)
    assert p.returncode == 0, log.read_text()
    assert out.strip() == "handled 1"
    assert jg.job("a")["state"] == "finished" and jg.job("a")["result"] == "done a"
    assert jg.job("b")["state"] == "queued"
    text = log.read_text()
    assert "started: queues q on " + addr in text
    assert f"stopping ({sig.name}): the running job, if any, finishes first" in text
    assert "stopped after 1 job(s)" in text


def test_sigterm_with_quick_stop_releases_the_running_job(jg, addr, tmp_path):
    jg.enqueue("q", "f", id="quick", retries=2)
    p, log = start_worker_process(tmp_path, addr, "quick_stop=True", sleep=30)
    p.send_signal(signal.SIGTERM)
    out = finish(p)
    assert p.returncode == 0, log.read_text()
    assert out.strip() == "handled 0"
    j = jg.job("quick")
    assert j["state"] == "queued" and j["attempts"] == 1 and j["retries_left"] == 2
    assert "job quick released: the worker was told to stop quickly" in log.read_text()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_releases_the_running_job(jg, addr, tmp_path, sig):
    jg.enqueue("q", "f", id="twice", retries=1)
    p, log = start_worker_process(tmp_path, addr, sleep=30)
    p.send_signal(sig)
    wait_until(lambda: f"stopping ({sig.name})" in log.read_text(), what="the first signal")
    p.send_signal(sig)
    out = finish(p)
    if sig == signal.SIGINT:  # a second Ctrl-C ends the program, as Python's always does
        assert p.returncode != 0 and "KeyboardInterrupt" in log.read_text()
    else:
        assert p.returncode == 0 and out.strip() == "handled 0", log.read_text()
    j = jg.job("twice")
    assert j["state"] == "queued" and j["attempts"] == 1 and j["retries_left"] == 1
    assert "job twice released: the worker was told to stop quickly" in log.read_text()


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


def test_failures_and_lost_leases_are_logged(jg, addr, caplog):
    caplog.set_level(logging.INFO, logger="jobgate")
    jg.enqueue("q", "img.resize", id="broken", retries=1)

    def broken(job):
        raise ValueError("cannot decode")
    jobgate.Worker(addr, "q", broken, wait=1).run(max_jobs=1)
    assert "job broken (img.resize, attempt 1) failed, now queued: ValueError: cannot decode" \
        in caplog.text

    def stolen(job):
        with jobgate.Client(addr) as other:
            other.release(job)
        job.lost.wait(10)
        return "too late"
    jobgate.Worker(addr, "q", stolen, wait=1, lease_for=1).run(max_jobs=1)
    assert "job broken: heartbeat answered LEASE_LOST; its result will not be acked" in caplog.text
    assert "job broken: the lease was lost while it ran; its outcome is not acked" in caplog.text


def test_registry_dispatch_calls_the_function_with_args(jg, addr):
    jg.enqueue("math", "add", [2, 3], id="sum")
    jg.enqueue("math", "greet", ["ada"], {"punctuation": "!"}, id="hello")
    jg.enqueue("math", "missing", id="nobody")
    seen = []

    def add(a, b):
        seen.append(jobgate.current_job()["id"])
        return a + b

    functions = {"add": add, "greet": lambda name, punctuation: f"hi {name}{punctuation}"}
    jobgate.Worker(addr, "math", functions=functions, wait=1).run(max_jobs=3)
    assert seen == ["sum"] and jobgate.current_job() is None
    assert jg.job("sum")["result"] == 5
    assert jg.job("hello")["result"] == "hi ada!"
    j = jg.job("nobody")
    assert j["state"] == "failed"
    assert "UnknownFunction: no function registered for func 'missing'" in j["error"]


def test_dotted_path_dispatch_imports_the_function(jg, addr, tmp_path, monkeypatch):
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "tasks.py").write_text("def total(prices, tax=0):\n    return sum(prices) + tax\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    jg.enqueue("shop", "shop.tasks.total", [[1, 2]], {"tax": 3}, id="order")
    jg.enqueue("shop", "os.getcwd", id="outside")
    jg.enqueue("shop", "shop.tasks.nothing", id="absent")
    jobgate.Worker(addr, "shop", dotted_paths=["shop"], wait=1).run(max_jobs=3)
    assert jg.job("order")["result"] == 6
    assert "func 'os.getcwd' is outside the modules this worker may import (shop)" \
        in jg.job("outside")["error"]
    assert "module 'shop.tasks' has no function 'nothing'" in jg.job("absent")["error"]

    jg.enqueue("shop", "os.getcwd", id="anything")
    jobgate.Worker(addr, "shop", dotted_paths=True, wait=1).run(max_jobs=1)
    assert jg.job("anything")["result"] == os.getcwd()


def test_worker_needs_exactly_one_way_to_run_jobs(addr):
    with pytest.raises(ValueError):
        jobgate.Worker(addr, "q")
    with pytest.raises(ValueError):
        jobgate.Worker(addr, "q", lambda job: None, functions={"f": print})
    with pytest.raises(TypeError):
        jobgate.Worker(addr, "q", dotted_paths="shop")
