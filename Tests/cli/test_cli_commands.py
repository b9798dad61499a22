"""`jobgate stats|enqueue|job|failed|cancel|pause|resume` against a real gateway: human output,
`--json` output and exit codes."""
import json
import zlib

from cli_helpers import error_line, json_lines
from job_steps import enqueue, fail_next, finish_next, lease


def table_rows(text):
    """{first cell: [cells]} for each row of a whitespace-aligned table, header included."""
    return {cells[0]: cells for cells in (line.split() for line in text.splitlines()) if cells}


def fields_of(text):
    """`key: value` lines as a dict (continuation lines of a multi-line value are skipped)."""
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line and not line.startswith(" "))


def make_reports_queue(client):
    """Queue `reports` with 2 queued, 1 started, 1 scheduled, 1 failed, 1 finished jobs, paused."""
    for _ in range(5):
        enqueue(client, "reports")
    enqueue(client, "reports", delay=3600)
    fail_next(client, "reports")
    finish_next(client, "reports")
    lease(client, "reports")
    client.ok({"op": "pause", "queue": "reports"})


def test_stats_table_has_a_row_per_queue_with_its_counts(client, jobgate):
    make_reports_queue(client)
    enqueue(client, "emails")
    p = jobgate("stats")
    assert p.returncode == 0, p.stderr
    rows = table_rows(p.stdout)
    assert rows["QUEUE"] == ["QUEUE", "QUEUED", "STARTED", "SCHEDULED", "DEFERRED", "FAILED", "FINISHED", "CANCELED", "AGE", "PAUSED"]
    assert rows["reports"][:8] + rows["reports"][9:] == ["reports", "2", "1", "1", "0", "1", "1", "0", "yes"]
    assert rows["emails"][:8] + rows["emails"][9:] == ["emails", "1", "0", "0", "0", "0", "0", "0", "no"]
    queue_lines = [line.split()[0] for line in p.stdout.splitlines()[1:] if not line.startswith("gateway:")]
    assert queue_lines == ["emails", "reports"], "queues are listed by name"
    gateway_line = p.stdout.splitlines()[-1]
    assert gateway_line.startswith("gateway: version ") and "redis ready" in gateway_line
    assert "enqueue 7" in gateway_line, gateway_line


def test_stats_json_is_the_gateways_reply(client, jobgate):
    make_reports_queue(client)
    p = jobgate("stats", "--json")
    assert p.returncode == 0, p.stderr
    [reply] = json_lines(p.stdout)
    assert reply["ok"] is True
    reports = reply["queues"]["reports"]
    assert reports.pop("oldest_queued_seconds") >= 0
    assert reports == {"queued": 2, "started": 1, "scheduled": 1, "deferred": 0, "failed": 1, "finished": 1,
                       "canceled": 0, "rate_limited": 0, "paused": True}
    assert reply["gateway"]["redis"] == "ready"


def test_stats_with_no_queues(jobgate):
    p = jobgate("stats")
    assert p.returncode == 0
    assert p.stdout.splitlines()[0] == "no queues yet"


def test_enqueue_prints_the_id_and_sends_json_args_byte_for_byte(stack, client, jobgate):
    p = jobgate("enqueue", "--queue", "emails", "--id", "welcome-ada", "--kwargs", '{"subject": "hi"}',
                "--meta", '{"tag":\n  "pretty"}', "mail.send", "ada@example.com", "3", '{"a": 1.50}', "[1,]", "null")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "welcome-ada\n"
    job = client.ok({"op": "job", "id": "welcome-ada"})["job"]
    # Valid JSON goes as JSON; "[1,]" is not valid JSON, so it goes as a string.
    assert job["args"] == ["ada@example.com", 3, {"a": 1.5}, "[1,]", None]
    assert job["kwargs"] == {"subject": "hi"} and job["meta"] == {"tag": "pretty"}
    stored = zlib.decompress(stack.redis.raw("HGET", "rq:job:welcome-ada", "data").rstrip(b"\n"))
    assert b'{"a": 1.50}' in stored, stored


def test_enqueue_args_after_double_dash_may_start_with_a_dash(client, jobgate):
    p = jobgate("enqueue", "-q", "q", "--id", "dashes", "app.work", "--", "-5", "--verbose")
    assert p.returncode == 0, p.stderr
    assert client.ok({"op": "job", "id": "dashes"})["job"]["args"] == [-5, "--verbose"]


def test_enqueue_generates_an_id(client, jobgate):
    p = jobgate("enqueue", "-q", "emails", "mail.send")
    assert p.returncode == 0, p.stderr
    job_id = p.stdout.strip()
    assert len(job_id) == 36
    assert client.ok({"op": "job", "id": job_id})["job"]["state"] == "queued"


def test_enqueue_scheduling_retry_and_ttl_options(stack, client, jobgate):
    p = jobgate("enqueue", "-q", "reports", "--json", "--delay", "3600", "--retries", "3",
                "--retry-intervals", "5,30", "--timeout", "-1", "--result-ttl", "60", "--failure-ttl", "-1",
                "--description", "nightly", "reports.build")
    assert p.returncode == 0, p.stderr
    [reply] = json_lines(p.stdout)
    assert reply["ok"] is True and reply["state"] == "scheduled" and isinstance(reply["run_at"], int)
    job = client.ok({"op": "job", "id": reply["id"]})["job"]
    assert (job["retries_left"], job["timeout"], job["result_ttl"], job["failure_ttl"], job["description"]) == \
        (3, -1, 60, -1, "nightly")
    assert json.loads(stack.redis.raw("HGET", f"rq:job:{reply['id']}", "retry_intervals")) == [5, 30]


def test_enqueue_at_an_rfc3339_time_and_at_front(client, jobgate):
    p = jobgate("enqueue", "-q", "reports", "--json", "--at", "2099-01-01T00:00:00Z", "reports.build")
    [reply] = json_lines(p.stdout)
    assert reply["state"] == "scheduled" and reply["run_at"] == 4070908800
    first = enqueue(client, "line")
    p = jobgate("enqueue", "-q", "line", "--at-front", "app.urgent")
    assert p.returncode == 0
    assert lease(client, "line")["id"] == p.stdout.strip() != first


def test_enqueue_depends_on(client, jobgate):
    parents = [enqueue(client, "builds"), enqueue(client, "builds")]
    p = jobgate("enqueue", "-q", "mail", "--json", "--depends-on", parents[0], "--depends-on", parents[1], "mail.report")
    [reply] = json_lines(p.stdout)
    assert reply["state"] == "deferred"


def test_enqueue_usage_errors_exit_2_before_connecting(jobgate):
    for args, message in [
        (["--delay", "5", "--at", "9"], "give --delay or --at, not both"),
        (["--meta", "[1]"], "--meta must be a JSON object"),
        (["--kwargs", "{oops"], "--kwargs must be a JSON object"),
        (["--retry-intervals", "5,soon"], "--retry-intervals expects a number"),
    ]:
        # Port 1 has no gateway: a usage error must be reported before any connection attempt.
        p = jobgate("enqueue", "-q", "q", *args, "f", addr="tcp://127.0.0.1:1")
        assert p.returncode == 2, (args, p.stderr)
        assert error_line(p).startswith("jobgate: USAGE: " + message), p.stderr
        assert p.stdout == ""


def test_enqueue_bad_request_exits_2_and_duplicate_exits_1(client, jobgate):
    p = jobgate("enqueue", "-q", "no spaces allowed", "f")
    assert p.returncode == 2
    assert error_line(p).startswith("jobgate: BAD_REQUEST: ")
    enqueue(client, id="taken")
    p = jobgate("enqueue", "-q", "q", "--id", "taken", "f")
    assert p.returncode == 1
    assert error_line(p) == "jobgate: DUPLICATE: a job with this id already exists: taken"


def test_job_shows_fields_and_result(client, jobgate):
    enqueue(client, "emails", func="mail.send", args=["ada@example.com"], id="sent-1")
    finish_next(client, "emails", result={"sent": True}, worker="mailer-1")
    p = jobgate("job", "sent-1")
    assert p.returncode == 0, p.stderr
    fields = fields_of(p.stdout)
    assert p.stdout.splitlines()[0] == "id: sent-1"
    assert fields["state"] == "finished" and fields["queue"] == "emails" and fields["func"] == "mail.send"
    assert fields["args"] == '["ada@example.com"]' and fields["result"] == '{"sent":true}'
    assert fields["worker"] == "mailer-1" and fields["attempts"] == "1"
    assert fields["ended_at"].endswith("Z") and fields["description"] == "-"
    assert p.stdout.splitlines()[-1] == "error: -"


def test_job_shows_a_multiline_error_indented(client, jobgate):
    enqueue(client, id="broken")
    fail_next(client, error="Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad image")
    p = jobgate("job", "broken")
    lines = p.stdout.splitlines()
    assert fields_of(p.stdout)["state"] == "failed"
    at = lines.index("error:")
    assert lines[at + 1:] == ["  Traceback (most recent call last):", "    File \"x.py\", line 1", "  ValueError: bad image"]


def test_job_json_is_the_job_reply(client, jobgate):
    enqueue(client, id="j", meta={"k": [1, 2]})
    p = jobgate("job", "j", "--json")
    assert p.returncode == 0
    [reply] = json_lines(p.stdout)
    assert reply == client.ok({"op": "job", "id": "j"})


def test_unknown_job_exits_3(jobgate):
    for command in (["job", "nope"], ["cancel", "nope"], ["requeue", "nope"]):
        p = jobgate(*command)
        assert p.returncode == 3, (command, p.stderr)
        assert error_line(p) == "jobgate: NOT_FOUND: no job nope"
        assert p.stdout == ""
    p = jobgate("job", "nope", "--json")
    assert p.returncode == 3
    assert json_lines(p.stdout)[0]["error"]["code"] == "NOT_FOUND"


def test_failed_lists_oldest_first_with_the_errors_last_line(client, jobgate):
    ids = []
    for n in range(3):
        enqueue(client, "thumbs", func="img.thumb", args=[n])
        ids.append(fail_next(client, "thumbs", error=f"Traceback (most recent call last):\n  ...\nValueError: bad image {n}\n"))
    p = jobgate("failed", "--queue", "thumbs")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["ID", "FUNC", "ATTEMPTS", "ENDED_AT", "ERROR"]
    rows = [line.split(None, 4) for line in lines[1:4]]
    assert [r[0] for r in rows] == ids
    assert all(r[1] == "img.thumb" and r[2] == "1" and r[3].endswith("Z") for r in rows)
    assert [r[4] for r in rows] == [f"ValueError: bad image {n}" for n in range(3)]
    assert lines[4] == "1-3 of 3 failed in thumbs"

    p = jobgate("failed", "-q", "thumbs", "--offset", "1", "--limit", "1")
    lines = p.stdout.splitlines()
    assert len(lines) == 3 and lines[1].split()[0] == ids[1] and lines[2] == "2-2 of 3 failed in thumbs"

    [reply] = json_lines(jobgate("failed", "-q", "thumbs", "--json").stdout)
    assert reply["total"] == 3 and [j["id"] for j in reply["jobs"]] == ids


def test_failed_on_an_empty_queue_and_a_bad_limit(jobgate):
    p = jobgate("failed", "-q", "nothing")
    assert p.returncode == 0 and p.stdout == "no failed jobs in nothing\n"
    p = jobgate("failed", "-q", "nothing", "--limit", "0")
    assert p.returncode == 2
    assert error_line(p).startswith("jobgate: BAD_REQUEST: ")


def test_cancel(client, jobgate):
    job_id = enqueue(client)
    p = jobgate("cancel", job_id)
    assert p.returncode == 0 and p.stdout == f"{job_id}: canceled\n"
    assert client.ok({"op": "job", "id": job_id})["job"]["state"] == "canceled"
    p = jobgate("cancel", job_id, "--json")
    assert p.returncode == 1
    assert json_lines(p.stdout)[0]["error"]["code"] == "WRONG_STATE"
    assert error_line(p).startswith("jobgate: WRONG_STATE: job " + job_id)
    other = enqueue(client)
    p = jobgate("cancel", other, "--json")
    assert json_lines(p.stdout) == [{"ok": True, "state": "canceled"}]


def test_pause_and_resume(client, jobgate):
    enqueue(client, "thumbs")
    enqueue(client, "thumbs")
    p = jobgate("pause", "thumbs")
    assert p.returncode == 0 and p.stdout == "thumbs: paused, 2 queued\n"
    assert client.ok({"op": "stats"})["queues"]["thumbs"]["paused"] is True
    assert lease(client, "thumbs") is None
    p = jobgate("resume", "thumbs", "--json")
    assert json_lines(p.stdout) == [{"ok": True, "queue": "thumbs", "paused": False, "queued": 2}]
    assert lease(client, "thumbs") is not None
    p = jobgate("resume", "thumbs")
    assert p.stdout == "thumbs: running, 1 queued\n"


def test_every_command_documents_its_exit_codes(jobgate):
    for command in ("stats", "enqueue", "job", "result", "failed", "requeue", "cancel", "delete", "pause", "resume"):
        p = jobgate(command, "--help", addr=None)
        assert p.returncode == 0
        assert "Exit status:" in p.stdout and "3  NOT_FOUND" in p.stdout and "4  UNAVAILABLE" in p.stdout, command
