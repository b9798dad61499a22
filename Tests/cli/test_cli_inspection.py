"""`jobgate jobs|empty|forget` and the AGE column of `jobgate stats`, against a real gateway."""
import re
import time

from cli_helpers import error_line, json_lines
from job_steps import enqueue, fail_next


def table_rows(text):
    return [line.split() for line in text.splitlines()]


def test_jobs_lists_a_page_oldest_first_then_newest(client, jobgate):
    client.ok({"op": "enqueue", "queue": "q", "jobs": [{"func": "app.work", "id": f"j{i}"} for i in range(5)]})
    p = jobgate("jobs", "q", "--limit", "2")
    assert p.returncode == 0, p.stderr
    rows = table_rows(p.stdout)
    assert rows[0] == ["ID", "FUNC", "ATTEMPTS", "ENQUEUED_AT", "WORKER"]
    assert [r[0] for r in rows[1:3]] == ["j0", "j1"] and rows[1][1:3] == ["app.work", "0"] and rows[1][4] == "-"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", rows[1][3])
    assert p.stdout.splitlines()[-1] == "1-2 of 5 queued in q, oldest first"
    p = jobgate("jobs", "q", "--limit", "2", "--offset", "1", "--newest")
    assert [r[0] for r in table_rows(p.stdout)[1:3]] == ["j3", "j2"]
    assert p.stdout.splitlines()[-1] == "2-3 of 5 queued in q, newest first"


def test_jobs_says_where_a_page_cut_at_its_size_limit_goes_on(client, jobgate):
    for i in range(25):  # one per line: a line holds at most 1 MB
        client.ok({"op": "enqueue", "queue": "wide", "func": "f", "args": ["x" * 900_000], "id": f"w{i}"})
    p = jobgate("jobs", "wide", "--limit", "50")
    assert p.returncode == 0, p.stderr
    shown = len(table_rows(p.stdout)) - 3  # the header, the range and the hint
    assert 0 < shown < 25
    assert p.stdout.splitlines()[-1] == f"the page ended at its size limit (max_page_bytes); the next one starts at --offset {shown}"
    p = jobgate("jobs", "wide", "--limit", "50", "--offset", str(shown))
    assert [r[0] for r in table_rows(p.stdout)[1:-1]] == [f"w{i}" for i in range(shown, 25)]


def test_jobs_of_failed_and_started_states(client, jobgate):
    enqueue(client, id="bad")
    fail_next(client, error="Traceback (most recent call last):\n  File \"x.py\"\nKeyError: 'k'")
    enqueue(client, id="busy")
    client.ok({"op": "lease", "queues": ["q"], "worker": "w-1"})
    p = jobgate("jobs", "q", "--state", "failed")
    rows = table_rows(p.stdout)
    assert rows[0] == ["ID", "FUNC", "ATTEMPTS", "ENDED_AT", "ERROR"]
    assert rows[1][0] == "bad" and rows[1][4:] == ["KeyError:", "'k'"]
    p = jobgate("jobs", "q", "--state", "started")
    rows = table_rows(p.stdout)
    assert rows[0] == ["ID", "FUNC", "ATTEMPTS", "STARTED_AT", "WORKER"]
    assert rows[1][0] == "busy" and rows[1][4] == "w-1"


def test_jobs_when_nothing_is_there_and_json(client, jobgate):
    enqueue(client, id="one")
    p = jobgate("jobs", "q", "--state", "scheduled")
    assert p.returncode == 0 and p.stdout == "no scheduled jobs in q\n"
    p = jobgate("jobs", "q", "--offset", "5")
    assert p.stdout == "no queued jobs past offset 5 (1 in q)\n"
    p = jobgate("jobs", "q", "--json")
    [reply] = json_lines(p.stdout)
    assert reply["total"] == 1 and reply["jobs"][0]["id"] == "one" and reply["state"] == "queued"


def test_jobs_bad_state_is_the_gateways_bad_request(jobgate):
    p = jobgate("jobs", "q", "--state", "rate_limited")
    assert p.returncode == 2
    assert error_line(p) == ("jobgate: BAD_REQUEST: field 'state' must be one of queued, started, scheduled, "
                             "deferred, finished, failed, canceled (rate-limited jobs wait in line per rate-limit key, "
                             "not per queue)")


def test_empty_deletes_queued_jobs_with_progress_lines(stack, client, jobgate):
    client.ok({"op": "enqueue", "queue": "bulk", "jobs": [{"func": "f"} for _ in range(2201)]})
    fail_next(client, "bulk")  # the head job: failed, so it stays (in the failed registry)
    p = jobgate("empty", "bulk")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "deleted 2200 queued jobs from bulk, 0 queued now\n"
    progress = [re.fullmatch(r"empty bulk: (\d+)/2200 \((\d+)%\)", line) for line in p.stderr.splitlines()]
    assert progress and all(progress), p.stderr
    done = [int(m.group(1)) for m in progress]
    assert done[0] == 500 and done[-1] == 2200 and done == sorted(done)
    queue = client.ok({"op": "stats"})["queues"]["bulk"]
    assert queue["queued"] == 0 and queue["failed"] == 1
    p = jobgate("empty", "bulk")
    assert p.stdout == "deleted 0 queued jobs from bulk, 0 queued now\n" and p.stderr == ""


def test_empty_json_prints_each_steps_reply(client, jobgate):
    client.ok({"op": "enqueue", "queue": "bulk", "jobs": [{"func": "f"} for _ in range(700)]})
    p = jobgate("empty", "bulk", "--json")
    assert p.returncode == 0
    assert json_lines(p.stdout) == [{"ok": True, "deleted": 500, "queued": 200}, {"ok": True, "deleted": 200, "queued": 0}]


def test_forget_an_empty_queue_and_refuse_one_with_jobs(client, jobgate):
    enqueue(client, id="a")
    fail_next(client)
    p = jobgate("forget", "q")
    assert p.returncode == 1
    assert error_line(p) == "jobgate: WRONG_STATE: queue q still has 1 failed"
    client.ok({"op": "delete", "id": "a"})
    p = jobgate("forget", "q")
    assert p.returncode == 0 and p.stdout == "forgot queue q\n"
    assert "q" not in client.ok({"op": "stats"})["queues"]


def test_stats_shows_every_count_and_the_age_of_the_oldest_queued_job(stack, client, jobgate):
    enqueue(client, "emails", id="old")
    seconds = int(stack.redis.raw("TIME").split()[0])
    stack.redis.raw("HSET", "rq:job:old", "enqueued_at", time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(seconds - 7500)))
    enqueue(client, "idle")
    fail_next(client, "idle")
    p = jobgate("stats")
    assert p.returncode == 0, p.stderr
    rows = {r[0]: r for r in table_rows(p.stdout)}
    assert rows["QUEUE"] == ["QUEUE", "QUEUED", "STARTED", "SCHEDULED", "DEFERRED", "FAILED", "FINISHED", "CANCELED", "AGE", "PAUSED"]
    assert rows["emails"] == ["emails", "1", "0", "0", "0", "0", "0", "0", "2h05m", "no"]
    assert rows["idle"] == ["idle", "0", "0", "0", "0", "1", "0", "0", "-", "no"]


def test_stats_shows_rate_limited_jobs_only_where_there_are_some(client, jobgate):
    limit = {"key": "api", "concurrency": 1}
    for i in range(3):
        client.ok({"op": "enqueue", "queue": "calls", "func": "f", "id": f"call-{i}", "rate_limit": limit})
    enqueue(client, "plain")
    rows = {r[0]: r for r in table_rows(jobgate("stats").stdout)}
    assert rows["QUEUE"][1:7] == ["QUEUED", "STARTED", "SCHEDULED", "DEFERRED", "RATE_LIMITED", "FAILED"]
    assert rows["calls"][1:6] == ["1", "0", "0", "0", "2"], "one let in, two waiting for the key's slot"
    assert rows["plain"][1:6] == ["1", "0", "0", "0", "0"]
    client.ok({"op": "delete", "id": "call-1"})
    client.ok({"op": "delete", "id": "call-2"})
    assert "RATE_LIMITED" not in jobgate("stats").stdout


def test_new_commands_document_their_exit_codes(jobgate):
    for command in ("jobs", "empty", "forget"):
        p = jobgate(command, "--help", addr=None)
        assert p.returncode == 0 and "Exit status:" in p.stdout and "1  another gateway error" in p.stdout, command
