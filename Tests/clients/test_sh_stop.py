"""clients/sh/jobgate-work: progress lines on JOBGATE_PROGRESS_FD, `stop` killing the command's
process group, and RQ's shutdown command, with real processes and a real gateway."""
import json
import os
import subprocess
import time

from jobgate_harness import wait_until
from clients_under_test import WORK
from test_sh_work import finish, start


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose: it runs nothing.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def meta(jg, job_id):
    return jg.job(job_id)["meta"] or {}


def test_progress_lines_become_the_jobs_meta(jg, addr):
    jg.enqueue("shq", "f", id="reporting")
    script = ('echo \'{"step":"resize"}\' >&"$JOBGATE_PROGRESS_FD"; '
              'echo "progress 40" >&"$JOBGATE_PROGRESS_FD"; '
              'echo "not a report" >&"$JOBGATE_PROGRESS_FD"; echo done')
    r = subprocess.run([WORK, "--addr", addr, "--queue", "shq", "--once", "--wait", "2", "--",
                        "bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    j = jg.job("reporting")
    assert j["state"] == "finished" and j["result"] == "done"
    assert j["meta"] == {"step": "resize", "progress": 40}
    assert "progress line ignored" in r.stderr and "not a report" in r.stderr


def test_stop_kills_the_commands_process_group_and_the_worker_goes_on(jg, addr, tmp_path):
    jg.enqueue("shq", "f", id="endless")
    pids = tmp_path / "pids"
    # A job that would run ten minutes, with a child of its own: both must go.
    script = ('[ "$JOBGATE_JOB_ID" = after ] && { echo next; exit 0; }; '
              f'sleep 600 & echo $! >>{pids}; echo $$ >>{pids}; '
              'echo "progress 5" >&"$JOBGATE_PROGRESS_FD"; wait')
    p = start(addr, "--queue", "shq", "--wait", "1", "--heartbeat-interval", "0.5",
              "--lease-for", "300", cmd=["bash", "-c", script])
    try:
        wait_until(lambda: meta(jg, "endless").get("progress") == 5, what="the command's report")
        started = [int(x) for x in pids.read_text().split()]
        assert len(started) == 2 and all(alive(pid) for pid in started)
        assert jg.stop("endless")["state"] == "stopped"
        stopped_at = time.monotonic()
        wait_until(lambda: not any(alive(pid) for pid in started), timeout=10,
                   what="the command and its child to be killed")
        assert time.monotonic() - stopped_at < 5
        jg.enqueue("shq", "f", id="after")
        wait_until(lambda: jg.job("after")["state"] == "finished", timeout=20,
                   what="the worker to run the next job")
        assert jg.job("endless")["state"] == "stopped" and jg.job("after")["result"] == "next"
    finally:
        p.terminate()
        _, err = finish(p)
    assert "endless was stopped" in err and "stopped; its outcome is dropped" in err


def test_a_command_that_ignores_sigterm_is_killed_after_the_grace(jg, addr, tmp_path):
    jg.enqueue("shq", "f", id="stubborn")
    marker = tmp_path / "running"
    script = f"trap '' TERM; touch {marker}; while :; do sleep 0.2; done"
    p = start(addr, "--queue", "shq", "--once", "--heartbeat-interval", "0.3",
              "--stop-grace", "1", cmd=["bash", "-c", script])
    wait_until(marker.exists, what="the command to start")
    jg.stop("stubborn")
    _, err = finish(p, timeout=15)
    assert p.returncode == 1
    assert "outlived --stop-grace 1 s; SIGKILL" in err
    assert jg.job("stubborn")["state"] == "stopped"


def test_rq_shutdown_command_makes_it_exit_after_the_job(stack, jg, addr, tmp_path):
    jg.enqueue("shq", "f", id="running")
    jg.enqueue("shq", "f", id="left-queued")
    go = tmp_path / "go"
    script = f"while [ ! -e {go} ]; do sleep 0.1; done; echo finished"
    p = start(addr, "--queue", "shq", "--wait", "1", "--worker", "sh-shut",
              cmd=["bash", "-c", script])
    try:
        wait_until(lambda: jg.job("running")["state"] == "started", what="the job to start")
        stack.redis.cli("PUBLISH", "rq:pubsub:sh-shut", json.dumps({"command": "shutdown"}))
        wait_until(lambda: stack.redis.raw("EXISTS", "jobgate:shutdown:sh-shut").strip() == b"1",
                   what="the gateway to record the shutdown")
        go.touch()
        _, err = finish(p, timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    assert "shutdown command" in err
    assert jg.job("running")["result"] == "finished"
    assert jg.job("left-queued")["state"] == "queued"
