"""jobgate schedule, schedules and unschedule against a real gateway."""
import json

from cli_helpers import error_line, json_lines


def test_schedule_list_and_remove(jobgate, client):
    made = jobgate("schedule", "nightly", "--cron", "30 2 * * *", "--tz", "Europe/Berlin", "--queue", "reports",
                   "--retries", "2", "--retry-intervals", "10, 60", "--kwargs", '{"lang": "en"}',
                   "reports.build", "daily", "3")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("nightly: created, next run 20") and made.stdout.strip().endswith("Z")
    again = jobgate("schedule", "nightly", "--cron", "30 2 * * *", "--tz", "Europe/Berlin", "--queue", "reports",
                    "--retries", "2", "--retry-intervals", "10, 60", "--kwargs", '{"lang": "en"}',
                    "reports.build", "daily", "3")
    assert again.stdout.startswith("nightly: unchanged"), again.stdout
    assert jobgate("schedule", "beat", "--every", "60", "-q", "health", "health.ping").returncode == 0

    stored = client.ok({"op": "schedules", "name": "nightly"})["schedules"][0]
    assert stored["job"] == {"queue": "reports", "func": "reports.build", "args": ["daily", 3], "kwargs": {"lang": "en"},
                             "retries": 2, "retry_intervals": [10, 60]}

    listed = jobgate("schedules")
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["NAME", "RULE", "NEXT_RUN", "LAST_JOB", "QUEUE", "FUNC"]
    assert lines[1].split()[:3] == ["beat", "every", "60s"] and lines[1].split()[-2:] == ["health", "health.ping"]
    assert "30 2 * * * (Europe/Berlin)" in lines[2]
    raw = json_lines(jobgate("schedules", "--json").stdout)[0]
    assert [s["name"] for s in raw["schedules"]] == ["beat", "nightly"]

    assert jobgate("unschedule", "nightly").stdout == "nightly: removed\n"
    missing = jobgate("unschedule", "nightly")
    assert missing.returncode == 3 and error_line(missing) == "jobgate: NOT_FOUND: no schedule nightly"


def test_bad_schedules_exit_2_with_the_gateways_reason(jobgate):
    bad = jobgate("schedule", "x", "--cron", "0 25 * * *", "-q", "q", "f")
    assert bad.returncode == 2 and error_line(bad) == "jobgate: BAD_REQUEST: cron: hour: 25 is out of range 0-23"
    both = jobgate("schedule", "x", "--cron", "* * * * *", "--every", "5", "-q", "q", "f")
    assert both.returncode == 2 and "give 'cron' or 'every', not both" in both.stderr
    kwargs = jobgate("schedule", "x", "--every", "5", "--kwargs", "[1]", "-q", "q", "f")
    assert kwargs.returncode == 2 and "--kwargs must be a JSON object" in kwargs.stderr
    assert jobgate("schedules").stdout == "no schedules\n"
