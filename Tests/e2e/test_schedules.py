"""Schedules (issue #16): the schedule, unschedule and schedules ops, and the gateways firing
them: each run enqueued once across gateways, none lost when a gateway dies, one catch-up after
all of them were down, time zones through the op."""
import datetime
import signal
import time
from zoneinfo import ZoneInfo

import pytest

from jobgate_harness import Stack, wait_until

JOB = {"queue": "ticks", "func": "app.tick", "args": [1], "kwargs": {"k": "v"}}


def redis_now(stack):
    seconds, micros = stack.redis.raw("TIME").split()
    return int(seconds) + int(micros) / 1e6


def queued_ids(stack, queue="ticks"):
    return stack.redis.raw("LRANGE", f"rq:queue:{queue}", "0", "-1").decode().split()


def run_times(ids, name):
    """The run time each job id names (`<name>-<Unix seconds>`), in queue order."""
    assert all(i.startswith(name + "-") for i in ids), ids
    return [int(i[len(name) + 1:]) for i in ids]


def test_schedule_is_stored_listed_replaced_and_removed(client):
    first = client.ok({"op": "schedule", "name": "nightly", "cron": "0 3 * * *", "tz": "Europe/Berlin", "job": JOB})
    assert first["name"] == "nightly" and first["state"] == "created" and first["run_at"] > time.time()
    again = client.ok({"op": "schedule", "name": "nightly", "cron": "0 3 * * *", "tz": "Europe/Berlin", "job": JOB})
    assert again == first | {"state": "unchanged"}
    client.ok({"op": "schedule", "name": "often", "every": 60, "job": {"queue": "q", "func": "f"}})

    listed = client.ok({"op": "schedules"})["schedules"]
    assert [s["name"] for s in listed] == ["often", "nightly"], "soonest next run first"
    assert listed[0] == {"name": "often", "every": 60, "run_at": listed[0]["run_at"], "last_job": None,
                         "job": {"queue": "q", "func": "f"}}
    assert listed[1] == {"name": "nightly", "cron": "0 3 * * *", "tz": "Europe/Berlin", "run_at": first["run_at"],
                         "last_job": None, "job": JOB}

    replaced = client.ok({"op": "schedule", "name": "nightly", "cron": "0 4 * * *", "job": JOB})
    assert replaced["state"] == "replaced" and replaced["run_at"] % 3600 == 0
    assert client.ok({"op": "schedules", "name": "nightly"})["schedules"][0]["tz"] == "UTC"

    assert client.ok({"op": "unschedule", "name": "nightly"}) == {"ok": True}
    gone = client.call({"op": "unschedule", "name": "nightly"})
    assert gone["error"] == {"code": "NOT_FOUND", "message": "no schedule nightly"}
    assert client.call({"op": "schedules", "name": "nightly"})["error"]["code"] == "NOT_FOUND"
    assert [s["name"] for s in client.ok({"op": "schedules"})["schedules"]] == ["often"]


@pytest.mark.parametrize("fields, message", [
    ({"cron": "75 * * * *"}, "cron: minute: 75 is out of range 0-59"),
    ({"cron": "* * * * fri-mon"}, "cron: day-of-week: range fri-mon is backwards"),
    ({"cron": "* * *"}, "cron: expected 5 fields (minute hour day-of-month month day-of-week), got 3"),
    ({"cron": "@fortnightly"}, "cron: unknown alias \"@fortnightly\""),
    ({"cron": "0 0 30 2 *"}, "cron: 0 0 30 2 * never fires"),
    ({"cron": "* * * * *", "tz": "Mars/Olympus"}, "tz: \"Mars/Olympus\" is not a known time zone"),
    ({"cron": "* * * * *", "tz": "../etc/passwd"}, "tz: \"../etc/passwd\" is not a time zone name"),
    ({"every": 60, "tz": "Europe/Berlin"}, "tz: only a cron schedule has a time zone"),
    ({"every": 0}, "field 'every' must be an integer between 1 and 2147483647"),
    ({"every": 1.5}, "field 'every' must be an integer"),
    ({}, "give 'cron' (five fields"),
    ({"cron": "* * * * *", "every": 5}, "give 'cron' or 'every', not both"),
    ({"every": 5, "job": {"queue": "q"}}, "job: missing field 'func'"),
    ({"every": 5, "job": {"queue": "q", "func": "f", "args": {}}}, "job: field 'args' must be an array, not an object"),
    ({"every": 5, "job": {"queue": "q", "func": "f", "retires": 3}}, "job: field 'retires' is unknown"),
    ({"every": 5, "job": {"queue": "q", "func": "f", "id": "mine"}}, "job: field 'id' is not allowed"),
    ({"every": 5, "job": {"queue": "q", "func": "f", "delay": 5}}, "job: field 'delay' is not allowed"),
    ({"every": 5, "job": []}, "field 'job' must be an object, not an array"),
    ({"every": 5, "job": None}, "missing field 'job'"),
    ({"every": 5, "name": "has:colon"}, "field 'name' must be 1-100 characters of A-Z a-z 0-9 _ -"),
    ({"every": 5, "name": "x" * 101}, "field 'name' must be 1-100 characters"),
    ({"every": 5, "priority": 1}, "field 'priority' is unknown for op 'schedule'"),
])
def test_bad_schedules_are_refused_naming_the_field(client, fields, message):
    request = {"op": "schedule", "name": "bad", "job": {"queue": "q", "func": "f"}} | fields
    reply = client.call(request)
    assert reply["ok"] is False and reply["error"]["code"] == "BAD_REQUEST", reply
    assert reply["error"]["message"].startswith(message), reply
    assert client.call({"op": "schedules", "name": "bad"})["error"]["code"] == "NOT_FOUND"


def test_cron_in_a_time_zone_runs_at_that_zones_wall_clock(stack, client):
    zone = ZoneInfo("America/New_York")

    def next_half_past_nine_utc(now):
        local = datetime.datetime.fromtimestamp(int(now), zone)
        candidate = local.replace(hour=9, minute=30, second=0, microsecond=0)
        if candidate.timestamp() <= int(now):
            day = (local + datetime.timedelta(days=1)).date()
            candidate = datetime.datetime(day.year, day.month, day.day, 9, 30, tzinfo=zone)
        return int(candidate.timestamp())

    before = redis_now(stack)
    reply = client.ok({"op": "schedule", "name": "ny", "cron": "30 9 * * *", "tz": "America/New_York", "job": JOB})
    after = redis_now(stack)
    assert reply["run_at"] in {next_half_past_nine_utc(before), next_half_past_nine_utc(after)}
    # The same wall-clock time in UTC is a different instant (4 or 5 hours apart).
    utc = client.ok({"op": "schedule", "name": "utc", "cron": "30 9 * * *", "job": JOB})["run_at"]
    assert (reply["run_at"] - utc) % 86400 in {4 * 3600, 5 * 3600}


def test_a_run_enqueues_the_job_as_given_and_wakes_a_waiting_lease(stack, client):
    job = {"queue": "wake", "func": "app.report", "args": ["daily", 2], "kwargs": {"lang": "en"}, "retries": 2,
           "meta": {"from": "schedule"}}
    created = client.ok({"op": "schedule", "name": "report", "every": 1, "job": job})
    with stack.gateway.client() as waiting:
        leased = waiting.ok({"op": "lease", "queues": ["wake"], "wait": 10})["job"]
    assert leased["id"] == f"report-{created['run_at']}"
    assert (leased["func"], leased["args"], leased["kwargs"], leased["meta"], leased["retries_left"]) == \
        ("app.report", ["daily", 2], {"lang": "en"}, {"from": "schedule"}, 2)
    # Enqueued within about a second of its run time, by Redis's clock.
    enqueued = client.ok({"op": "job", "id": leased["id"]})["job"]["enqueued_at"]
    at = datetime.datetime.fromisoformat(enqueued.replace("Z", "+00:00")).timestamp()
    assert created["run_at"] <= at < created["run_at"] + 2
    listed = wait_until(lambda: client.ok({"op": "schedules", "name": "report"})["schedules"][0], what="listing")
    assert listed["last_job"].startswith("report-") and listed["run_at"] > created["run_at"]


def test_a_run_whose_job_id_exists_is_skipped(stack, client):
    created = client.ok({"op": "schedule", "name": "taken", "every": 2, "job": JOB})
    first = f"taken-{created['run_at']}"
    client.ok({"op": "enqueue", "queue": "elsewhere", "func": "mine", "id": first})
    wait_until(lambda: client.ok({"op": "schedules", "name": "taken"})["schedules"][0]["run_at"] > created["run_at"],
               what="the run to pass")
    assert client.ok({"op": "job", "id": first})["job"]["queue"] == "elsewhere"
    assert client.ok({"op": "schedules", "name": "taken"})["schedules"][0]["last_job"] is None


def test_three_gateways_enqueue_each_run_once_and_lose_none_when_one_is_killed():
    s = Stack()
    try:
        for _ in range(2):
            s.add_gateway()
        with s.gateways[2].client() as c:
            created = c.ok({"op": "schedule", "name": "beat", "every": 1, "job": JOB})
        first = created["run_at"]
        wait_until(lambda: len(queued_ids(s)) >= 3, timeout=10, what="three runs")
        s.gateways[0].stop(signal.SIGKILL)
        wait_until(lambda: len(queued_ids(s)) >= 7, timeout=15, what="seven runs")
        with s.gateways[1].client() as c:
            c.ok({"op": "unschedule", "name": "beat"})
        times = run_times(queued_ids(s), "beat")
        assert times == list(range(first, first + len(times))), "each run once, in order, none missed"
        assert len(times) >= 7
        for run, job_id in zip(times, queued_ids(s)):
            enqueued = s.redis.raw("HGET", f"rq:job:{job_id}", "enqueued_at").decode().strip()
            at = datetime.datetime.fromisoformat(enqueued.replace("Z", "+00:00")).timestamp()
            assert run <= at < run + 2.5, f"{job_id} enqueued at {enqueued}"
    finally:
        s.close()


def test_runs_missed_while_every_gateway_was_down_fire_once():
    s = Stack()
    try:
        with s.client() as c:
            created = c.ok({"op": "schedule", "name": "beat", "every": 2, "job": JOB})
        wait_until(lambda: queued_ids(s), timeout=10, what="the first run")
        s.gateway.stop(signal.SIGKILL)
        fired = run_times(queued_ids(s), "beat")
        assert fired == [created["run_at"]]
        missed = fired[-1] + 2
        # Down for longer than the 5 s grace and several periods.
        wait_until(lambda: redis_now(s) > missed + 9, timeout=20, interval=0.2, what="runs to be missed")
        restarted = redis_now(s)
        s.gateways[0].start()
        wait_until(lambda: len(queued_ids(s)) >= 3, timeout=10, what="the catch-up and a run after it")
        times = run_times(queued_ids(s), "beat")
        assert times[1] == missed, "the first missed run fires once, as the catch-up"
        assert times[2] > restarted and (times[2] - missed) % 2 == 0, "then on from the first run after now, in phase"
        assert "schedule caught up on missed runs" in s.gateways[0].read_log()
    finally:
        s.close()


CONFIG = """
log-level = "info"

[[schedule]]
name = "nightly-report"   # the schedule's own keys: name, cron or every, tz
cron = "30 2 * * *"
tz = "Europe/Berlin"
queue = "reports"         # every other key is a field of the job
func = "reports.build"
args = '["daily", 3]'
retries = 2

[[schedule]]
name = "beat"
every = 1
queue = "ticks"
func = "app.tick"
"""


def test_a_config_file_declares_schedules_stored_once(tmp_path):
    s = Stack()
    try:
        config = tmp_path / "jobgate.toml"
        config.write_text(CONFIG)
        declared = s.add_gateway(["--config", str(config)])
        with declared.client() as c:
            listed = wait_until(lambda: {x["name"]: x for x in c.ok({"op": "schedules"})["schedules"]},
                                what="the declared schedules")
        assert listed["nightly-report"]["job"] == {"args": ["daily", 3], "func": "reports.build", "queue": "reports",
                                                   "retries": 2}
        assert listed["nightly-report"]["tz"] == "Europe/Berlin" and listed["beat"]["every"] == 1
        wait_until(lambda: queued_ids(s), what="beat to run")
        # Started again, the gateway finds them stored as declared and changes nothing.
        declared.stop()
        declared.start()
        wait_until(lambda: declared.read_log().count("state=unchanged") == 2, what="the schedules found unchanged")
        with declared.client() as c:
            again = c.ok({"op": "schedules", "name": "nightly-report"})["schedules"][0]
        assert again["run_at"] == listed["nightly-report"]["run_at"]
    finally:
        s.close()


def test_a_bad_declared_schedule_stops_the_gateway_naming_its_line(tmp_path, stack):
    config = tmp_path / "jobgate.toml"
    config.write_text(CONFIG.replace('cron = "30 2 * * *"', 'cron = "30 26 * * *"'))
    gateway = stack.add_gateway(["--config", str(config)], wait_ready=False)
    assert gateway.proc.wait(timeout=10) != 0
    assert f"{config}:4: cron: hour: 26 is out of range 0-23" in gateway.read_log()
