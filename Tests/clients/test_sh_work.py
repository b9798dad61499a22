"""clients/sh/jobgate-work: real nc, real jq, real child processes, real gateway."""
import os
import signal
import subprocess

import pytest

from jobgate_harness import free_tcp_port, wait_until
from clients_under_test import WORK


def work(addr, *options, cmd, timeout=60, env=None):
    """Runs jobgate-work to completion (use --once) and returns the CompletedProcess."""
    args = [WORK] + (["--addr", addr] if addr else []) + list(options) + ["--", *cmd]
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def start(addr, *options, cmd, **popen):
    # As a terminal starts it: a shell cannot trap a signal that was ignored when it started, and
    # a runner started in the background (as CI may be) passes SIGINT on ignored.
    return subprocess.Popen([WORK, "--addr", addr, *options, "--", *cmd],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **popen)


def finish(p, timeout=30):
    try:
        return p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def sh(script):
    return ["bash", "-c", script]


def test_success_result_is_json_from_stdout(jg, addr):
    jg.enqueue("math", "add", [2, 3], {"note": "hi"}, id="sum-1")
    r = work(addr, "--queue", "math", "--once", "--wait", "2", "--worker", "sh-1",
             cmd=["jq", "-c", "{sum: (.args | add), note: .kwargs.note, has_lease: (.lease | length > 0),"
                              " env_id: env.JOBGATE_JOB_ID, env_queue: env.JOBGATE_QUEUE,"
                              " env_attempt: env.JOBGATE_ATTEMPT}"])
    assert r.returncode == 0, r.stderr
    j = jg.job("sum-1")
    assert j["state"] == "finished" and j["attempts"] == 1 and j["worker"] == "sh-1"
    assert j["result"] == {"sum": 5, "note": "hi", "has_lease": True, "env_id": "sum-1",
                           "env_queue": "math", "env_attempt": "1"}


def test_non_json_stdout_is_a_string(jg, addr):
    jg.enqueue("txt", "f", id="text")
    jg.enqueue("txt", "f", id="empty")
    jg.enqueue("txt", "f", id="number")
    assert work(addr, "--queue", "txt", "--once", cmd=sh("printf 'hello\\nworld\\n'")).returncode == 0
    assert work(addr, "--queue", "txt", "--once", cmd=["true"]).returncode == 0
    assert work(addr, "--queue", "txt", "--once", cmd=["echo", "42"]).returncode == 0
    assert jg.job("text")["result"] == "hello\nworld"
    assert jg.job("empty")["result"] == "" and jg.job("empty")["state"] == "finished"
    assert jg.job("number")["result"] == 42


def test_failing_command_fails_with_stderr(jg, addr):
    jg.enqueue("img", "resize", id="broken")
    r = work(addr, "--queue", "img", "--once",
             cmd=sh("echo 'processing...'; echo 'resize: bad PNG header' >&2; exit 3"))
    assert r.returncode == 1
    j = jg.job("broken")
    assert j["state"] == "failed" and j["result"] is None
    assert "resize: bad PNG header" in j["error"]
    assert j["error"].endswith("command exited with status 3")
    assert "processing" not in j["error"]  # stdout is not the error


def test_error_text_is_the_tail_of_stderr(jg, addr):
    jg.enqueue("img", "resize", id="noisy")
    r = work(addr, "--queue", "img", "--once",
             cmd=sh("for i in $(seq 1 3000); do echo \"line $i\" >&2; done; exit 1"))
    assert r.returncode == 1
    err = jg.job("noisy")["error"]
    assert "line 3000\n" in err and "line 1\n" not in err
    assert 4000 < len(err) < 4200


def test_child_running_past_its_lease_is_kept_alive(jg, addr):
    jg.enqueue("slow", "f", id="long", retries=2)
    r = work(addr, "--queue", "slow", "--once", "--lease-for", "2",
             cmd=sh("sleep 5; echo finished-late"))
    assert r.returncode == 0, r.stderr
    j = jg.job("long")
    assert j["state"] == "finished" and j["result"] == "finished-late"
    assert j["attempts"] == 1 and j["retries_left"] == 2 and j["error"] is None
    assert j["last_heartbeat"] > j["started_at"]
    assert jg.stats()["gateway"]["lease_expiries"] == 0


def test_crashing_child_is_failed_then_retried(jg, addr):
    jg.enqueue("crash", "f", id="crashy", retries=1)
    r = work(addr, "--queue", "crash", "--once", cmd=sh("echo 'about to die' >&2; kill -KILL $$"))
    assert r.returncode == 1
    j = jg.job("crashy")
    assert j["state"] == "queued" and j["retries_left"] == 0  # one retry spent
    assert "about to die" in j["error"] and "killed by signal KILL" in j["error"]

    r = work(addr, "--queue", "crash", "--once", cmd=sh("kill -SEGV $$"))
    assert r.returncode == 1
    j = jg.job("crashy")
    assert j["state"] == "failed" and j["attempts"] == 2 and "signal SEGV" in j["error"]


def test_unix_address(jg, unix_addr):
    jg.enqueue("u", "f", [1], id="via-unix")
    r = work(unix_addr, "--queue", "u", "--once", cmd=["jq", "-c", ".args"])
    assert r.returncode == 0, r.stderr
    assert jg.job("via-unix")["result"] == [1]


def test_address_from_environment(jg, unix_addr):
    jg.enqueue("e", "f", id="via-env")
    r = work(None, "--queue", "e", "--once", cmd=["echo", '"ok"'], env={"JOBGATE_ADDR": unix_addr})
    assert r.returncode == 0, r.stderr
    assert jg.job("via-env")["result"] == "ok"


def test_queues_in_priority_order(jg, addr):
    jg.enqueue("low", "f", id="l")
    jg.enqueue("high", "f", id="h")
    r = work(addr, "--queue", "high", "--queue", "low", "--once", cmd=["true"])
    assert r.returncode == 0
    assert jg.job("h")["state"] == "finished" and jg.job("l")["state"] == "queued"


def test_once_without_a_job_exits_4(addr):
    r = work(addr, "--queue", "empty", "--once", "--wait", "0.2", cmd=["true"])
    assert r.returncode == 4 and "no job within --wait 0.2" in r.stderr


def test_sigterm_lets_the_running_job_finish(jg, addr, tmp_path):
    jg.enqueue("q", "f", id="a")
    jg.enqueue("q", "f", id="b")
    marker = tmp_path / "started"
    p = start(addr, "--queue", "q", "--wait", "1",
              cmd=sh(f"touch {marker}; sleep 2; echo \"done $JOBGATE_JOB_ID\""))
    wait_until(marker.exists, what="the child to start")
    p.send_signal(signal.SIGTERM)
    out, err = finish(p)
    assert p.returncode == 0, err
    assert jg.job("a")["state"] == "finished" and jg.job("a")["result"] == "done a"
    b = jg.job("b")
    assert b["state"] == "queued" and b["attempts"] == 0  # never leased


def test_ctrl_c_to_the_process_group_spares_the_child(jg, addr, tmp_path):
    # A terminal's Ctrl-C signals the whole foreground process group, the child included.
    jg.enqueue("q", "f", id="a")
    marker = tmp_path / "started"
    p = start(addr, "--queue", "q", "--wait", "1",
              cmd=sh(f"touch {marker}; sleep 2; echo survived"), start_new_session=True)
    wait_until(marker.exists, what="the child to start")
    os.killpg(p.pid, signal.SIGINT)
    out, err = finish(p)
    assert p.returncode == 0, err
    assert jg.job("a")["state"] == "finished" and jg.job("a")["result"] == "survived"


def test_sigterm_while_waiting_for_a_job(jg, addr, tmp_path):
    log = tmp_path / "stderr"
    with open(log, "w") as err:
        p = subprocess.Popen([WORK, "--addr", addr, "--queue", "idle", "--wait", "5", "--", "true"],
                             stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_until(lambda: jg.stats()["gateway"]["waiting_leases"] == 1, what="a waiting lease")
        p.send_signal(signal.SIGTERM)
        wait_until(lambda: "stopping" in log.read_text(), what="the signal to be handled")
        # A job that arrives for the lease still in flight is handed back, not run.
        jg.enqueue("idle", "f", id="late", retries=1)
        assert p.wait(timeout=15) == 0, log.read_text()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    j = jg.job("late")
    assert j["state"] == "queued" and j["attempts"] == 1 and j["retries_left"] == 1


def test_lease_lost_drops_the_outcome(jg, unix_addr, stack):
    jg.enqueue("q", "f", id="stolen")
    # The child gives its own lease away (release with the token from stdin), so the next
    # heartbeat answers LEASE_LOST while the child is still running.
    child = sh(f"jq -c '{{op: \"release\", id, lease}}' | nc -N -U {stack.gateway.unix} >/dev/null;"
               " sleep 2; echo too-late")
    r = work(unix_addr, "--queue", "q", "--once", "--lease-for", "1", cmd=child)
    assert r.returncode == 1
    assert "lease lost" in r.stderr
    j = jg.job("stolen")
    assert j["state"] == "queued" and j["result"] is None and j["attempts"] == 1


def test_result_too_large_fails_the_job(jg, addr):
    jg.enqueue("big", "f", id="huge")
    r = work(addr, "--queue", "big", "--once", cmd=sh("head -c 1100000 /dev/zero | tr '\\0' x"))
    assert r.returncode == 1
    j = jg.job("huge")
    assert j["state"] == "failed" and "ack refused: TOO_LARGE" in j["error"]


def test_command_not_found(jg, addr):
    jg.enqueue("q", "f", id="nocmd")
    r = work(addr, "--queue", "q", "--once", cmd=["/nonexistent/command"])
    assert r.returncode == 1
    assert "status 127" in jg.job("nocmd")["error"]


@pytest.mark.parametrize("args, code", [
    (["--help"], 0),
    (["--once", "--", "true"], 2),                                   # no --queue
    (["--queue", "q"], 2),                                           # no command
    (["--queue", "q", "--wait", "soon", "--", "true"], 2),
    (["--queue", "q", "--addr", "localhost:7700", "--", "true"], 2),
    (["--queue", "q", "--bogus", "--", "true"], 2),
])
def test_usage(args, code):
    r = subprocess.run([WORK, *args], capture_output=True, text=True, timeout=10)
    assert r.returncode == code, r.stderr
    if code == 0:
        assert "Exit status" in r.stdout
    else:
        assert "jobgate-work:" in r.stderr


def test_bad_queue_name_exits_2(addr):
    r = work(addr, "--queue", "no spaces", "--once", cmd=["true"])
    assert r.returncode == 2 and "BAD_REQUEST" in r.stderr


def test_unreachable_gateway_with_once_exits_4(tmp_path):
    r = work(f"unix:{tmp_path}/nothing.sock", "--queue", "q", "--once", cmd=["true"])
    assert r.returncode == 4 and "no reply" in r.stderr


def test_connection_refused_is_named():
    closed = f"tcp://127.0.0.1:{free_tcp_port()}"
    r = work(closed, "--queue", "q", "--once", cmd=["true"])
    assert r.returncode == 4
    assert f"connection refused by {closed}" in r.stderr, r.stderr


def test_a_successful_commands_stderr_is_kept(stack, addr):
    with stack.client() as c:
        c.ok({"op": "enqueue", "queue": "talk", "func": "a.b", "id": "talk-1"})
    r = work(addr, "--queue", "talk", "--once", cmd=sh("echo 'progress: 50%' >&2; echo '{\"ok\": 1}'"))
    assert r.returncode == 0, r.stderr
    assert "progress: 50%\n" in r.stderr
    with stack.client() as c:
        assert c.ok({"op": "job", "id": "talk-1"})["job"]["result"] == {"ok": 1}


@pytest.fixture
def token_stack(stack_with):
    return stack_with("--token", "s3cret")


def test_token_over_tcp_for_lease_heartbeat_and_ack(token_stack, tmp_path):
    tcp = f"tcp://127.0.0.1:{token_stack.gateway.port}"
    with token_stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "auth", "func": "a.b", "id": "auth-1"})
        c.ok({"op": "enqueue", "queue": "auth", "func": "a.b", "id": "auth-2"})
    # Long enough for heartbeats (every lease_seconds/3), which authenticate too.
    seen = tmp_path / "env"
    r = work(tcp, "--token", "s3cret", "--queue", "auth", "--once", "--lease-for", "3",
             cmd=sh(f"env > {seen}; sleep 2.5; echo done"))
    assert r.returncode == 0, r.stderr
    assert "JOBGATE_TOKEN" not in seen.read_text() and "s3cret" not in seen.read_text()
    r = work(tcp, "--queue", "auth", "--once", cmd=["true"], env={"JOBGATE_TOKEN": "s3cret"})
    assert r.returncode == 0, r.stderr
    with token_stack.client(unix=True) as c:
        assert c.ok({"op": "job", "id": "auth-1"})["job"]["state"] == "finished"
        assert c.ok({"op": "job", "id": "auth-2"})["job"]["state"] == "finished"
        assert c.ok({"op": "stats"})["gateway"]["ops"].get("heartbeat", 0) >= 1


def test_wrong_token_exits_1_without_showing_it(token_stack):
    tcp = f"tcp://127.0.0.1:{token_stack.gateway.port}"
    r = work(tcp, "--queue", "auth", "--once", cmd=["true"], env={"JOBGATE_TOKEN": "wrong-guess"})
    assert r.returncode == 1 and "UNAUTHORIZED" in r.stderr
    assert "wrong-guess" not in r.stderr
