"""`jobgate result`, `jobgate delete` and `jobgate version` against a real gateway."""
import json
import subprocess
import threading

from cli_helpers import error_line
from job_steps import enqueue, fail_next, finish_next, lease
from jobgate_harness import jobgate_binary, wait_until


def test_version_subcommand_matches_the_flag(jobgate):
    word = subprocess.run([jobgate_binary(), "version"], capture_output=True, text=True)
    flag = subprocess.run([jobgate_binary(), "--version"], capture_output=True, text=True)
    assert word.returncode == 0 and flag.returncode == 0
    assert word.stdout == flag.stdout and word.stdout.strip()


def test_result_of_a_finished_job(client, jobgate):
    enqueue(client, "calc", id="sum-1")
    finish_next(client, "calc", result={"total": 3})
    p = jobgate("result", "sum-1")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"total": 3}
    p = jobgate("result", "sum-1", "--json")
    reply = json.loads(p.stdout)
    assert reply["done"] is True and reply["job"]["result"] == {"total": 3}


def test_result_waits_for_the_job(client, jobgate):
    enqueue(client, "calc", id="slow-1")
    job = lease(client, "calc")
    outcome = {}
    waiter = threading.Thread(target=lambda: outcome.update(p=jobgate("result", "slow-1", "--wait", "20")))
    waiter.start()
    wait_until(lambda: client.ok({"op": "stats"})["gateway"]["ops"].get("result", 0) >= 1, what="the waiting result request")
    client.ok({"op": "ack", "id": job["id"], "lease": job["lease"], "result": "done"})
    waiter.join(30)
    assert outcome["p"].returncode == 0, outcome["p"].stderr
    assert outcome["p"].stdout == "done\n"


def test_result_of_a_failed_job_exits_1(client, jobgate):
    enqueue(client, "calc", id="bad-1")
    fail_next(client, "calc", error="Traceback\nValueError: no")
    p = jobgate("result", "bad-1")
    assert p.returncode == 1
    assert error_line(p) == "jobgate: FAILED: job bad-1 is failed: ValueError: no"


def test_result_not_done_in_time_exits_4(client, jobgate):
    enqueue(client, "calc", id="queued-1")
    p = jobgate("result", "queued-1", "--wait", "0.2")
    assert p.returncode == 4
    assert error_line(p) == "jobgate: TIMEOUT: job queued-1 is still queued after 0.2 s"


def test_result_of_an_unknown_job_exits_3(jobgate):
    p = jobgate("result", "nope")
    assert p.returncode == 3 and "NOT_FOUND" in p.stderr


def test_delete(client, jobgate):
    enqueue(client, "calc", id="gone-1")
    p = jobgate("delete", "gone-1")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "gone-1: deleted\n"
    assert client.call({"op": "job", "id": "gone-1"})["error"]["code"] == "NOT_FOUND"
    p = jobgate("delete", "gone-1")
    assert p.returncode == 3 and error_line(p).startswith("jobgate: NOT_FOUND:")
