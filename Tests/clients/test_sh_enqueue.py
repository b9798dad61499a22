"""clients/sh/jobgate-enqueue against a real gateway."""
import os
import subprocess

import pytest

from clients_under_test import ENQUEUE
from jobgate_harness import free_tcp_port


def enqueue(*args, env=None):
    return subprocess.run([ENQUEUE, *args], capture_output=True, text=True, timeout=30,
                          env={**os.environ, **(env or {})})


def test_enqueue_prints_id_and_parses_args(jg, addr):
    r = enqueue("--addr", addr, "--queue", "images", "img.resize", "photo.png", "640", "true",
                "null", '{"w":1}', "[1,2]", '"quoted"', "two words", "")
    assert r.returncode == 0, r.stderr
    job_id = r.stdout.strip()
    assert len(job_id) == 36 and "\n" not in job_id
    j = jg.job(job_id)
    assert j["queue"] == "images" and j["func"] == "img.resize" and j["state"] == "queued"
    assert j["args"] == ["photo.png", 640, True, None, {"w": 1}, [1, 2], "quoted", "two words", ""]
    assert j["kwargs"] == {}


def test_options(jg, unix_addr):
    r = enqueue("--addr", unix_addr, "--queue", "reports", "--id", "monthly", "--retries", "3",
                "--kwargs", '{"month": 11}', "reports.build")
    assert r.returncode == 0 and r.stdout == "monthly\n"
    j = jg.job("monthly")
    assert j["retries_left"] == 3 and j["kwargs"] == {"month": 11} and j["args"] == []

    r = enqueue("--addr", unix_addr, "--queue", "reports", "--delay", "3600", "reports.later")
    assert r.returncode == 0
    assert jg.job(r.stdout.strip())["state"] == "scheduled"


def test_address_from_environment(jg, unix_addr):
    r = enqueue("--queue", "q", "f", env={"JOBGATE_ADDR": unix_addr})
    assert r.returncode == 0, r.stderr
    assert jg.job(r.stdout.strip())["queue"] == "q"


def test_duplicate_exits_1_and_still_prints_id(jg, addr):
    assert enqueue("--addr", addr, "--queue", "q", "--id", "once", "f", "1").returncode == 0
    r = enqueue("--addr", addr, "--queue", "q", "--id", "once", "f", "2")
    assert r.returncode == 1 and r.stdout == "once\n"
    assert "DUPLICATE" in r.stderr
    assert jg.job("once")["args"] == [1]


def test_bad_request_exits_2_with_message(addr):
    r = enqueue("--addr", addr, "--queue", "no spaces allowed", "f")
    assert r.returncode == 2 and r.stdout == ""
    assert "BAD_REQUEST" in r.stderr and "queue" in r.stderr


def test_unreachable_exits_4(tmp_path):
    r = enqueue("--addr", f"unix:{tmp_path}/missing.sock", "--queue", "q", "f")
    assert r.returncode == 4 and "no reply" in r.stderr


def test_connection_refused_is_named(addr):
    closed = f"tcp://127.0.0.1:{free_tcp_port()}"
    r = enqueue("--addr", closed, "--queue", "q", "f")
    assert r.returncode == 4
    assert f"connection refused by {closed}" in r.stderr, r.stderr


@pytest.fixture
def token_stack(stack_with):
    return stack_with("--token", "s3cret")


def test_token_is_sent_first_over_tcp(token_stack):
    tcp = f"tcp://127.0.0.1:{token_stack.gateway.port}"
    r = enqueue("--addr", tcp, "--token", "s3cret", "--queue", "q", "--id", "with-token", "f")
    assert r.returncode == 0 and r.stdout == "with-token\n", r.stderr
    r = enqueue("--addr", tcp, "--queue", "q", "--id", "from-env", "f", env={"JOBGATE_TOKEN": "s3cret"})
    assert r.returncode == 0 and r.stdout == "from-env\n", r.stderr
    r = enqueue("--addr", tcp, "--queue", "q", "f", env={"JOBGATE_TOKEN": "wrong-guess"})
    assert r.returncode == 1 and "UNAUTHORIZED" in r.stderr and "wrong-guess" not in r.stderr
    # Unix sockets need no token: none is sent, even when one is set.
    r = enqueue("--addr", f"unix:{token_stack.gateway.unix}", "--queue", "q", "--id", "over-unix", "f",
                env={"JOBGATE_TOKEN": "wrong-guess"})
    assert r.returncode == 0, r.stderr
    with token_stack.client(unix=True) as c:
        assert c.ok({"op": "stats"})["gateway"]["ops"].get("auth", 0) == 3


@pytest.mark.parametrize("args", [
    ["f"],                                        # no --queue
    ["--queue", "q"],                             # no FUNC
    ["--queue", "q", "--delay", "soon", "f"],
    ["--queue", "q", "--retries", "-1", "f"],
    ["--queue", "q", "--kwargs", "[1]", "f"],
    ["--addr", "127.0.0.1:7700", "--queue", "q", "f"],
])
def test_usage_errors_exit_2(args):
    r = enqueue(*args)
    assert r.returncode == 2 and "jobgate-enqueue:" in r.stderr


def test_help():
    r = enqueue("--help")
    assert r.returncode == 0 and "Exit status" in r.stdout
