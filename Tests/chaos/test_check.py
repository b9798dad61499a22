"""The checker itself, against a real redis-server holding RQ layouts broken on purpose: each
kind of damage must be reported, and a sound layout must pass."""
import os
import shutil
import sys
import tempfile

import pytest
import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check import RedisState, check  # noqa: E402
from jobgate_harness import RedisServer  # noqa: E402

Q = "chaos-urgent"


@pytest.fixture
def redis_server():
    directory = tempfile.mkdtemp(prefix="jobgate-check-")
    server = RedisServer(directory).start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


def connect(server):
    return redis.Redis(unix_socket_path=server.socket, decode_responses=True)


def finished_job(r, job_id, lease):
    r.sadd("rq:queues", f"rq:queue:{Q}")
    r.hset(f"rq:job:{job_id}", mapping={"status": "finished", "origin": Q, "jobgate_attempts": 1})
    r.zadd(f"rq:finished:{Q}", {job_id: 9e9})
    r.xadd(f"rq:results:{job_id}", {"type": "1", "execution_id": lease})


def events_for(job_id, lease, ack="ack_ok"):
    return {job_id: [
        {"t": 0.1, "actor": "p0", "ev": "enqueued", "job": job_id, "state": "queued"},
        {"t": 0.2, "actor": "w0", "ev": "leased", "job": job_id, "lease": lease, "attempt": 1, "retries_left": 0},
        {"t": 0.3, "actor": "w0", "ev": ack, "job": job_id, "lease": lease, "sent_at": 0.25, "state": "finished"},
    ]}


def stats_of(counts):
    return {"queues": {Q: counts}}


SOUND = {"queued": 0, "started": 0, "scheduled": 0, "failed": 0, "finished": 1}


def violations(server, events, stats):
    return [text for _, text in check(RedisState(server.socket), events, stats)]


def test_a_sound_layout_passes(redis_server):
    finished_job(connect(redis_server), "j1", "L1")
    assert violations(redis_server, events_for("j1", "L1"), stats_of(SOUND)) == []


@pytest.mark.parametrize("damage, expected", [
    ("lost", "acknowledged but the job is gone"),
    ("two_places", "found in [('queue', 'chaos-urgent'), ('finished', 'chaos-urgent')]"),
    ("finished_twice", "finished 2 times in rq:results"),
    ("other_lease_finished", "but lease L2 finished it"),
    ("stats_disagree", "stats for chaos-urgent say"),
    ("status_not_final", "status queued after the drain"),
])
def test_damage_is_reported(redis_server, damage, expected):
    r = connect(redis_server)
    finished_job(r, "j1", "L1")
    stats = stats_of(SOUND)
    if damage == "lost":
        r.delete("rq:job:j1", f"rq:finished:{Q}")
        stats = stats_of({**SOUND, "finished": 0})
    elif damage == "two_places":
        r.rpush(f"rq:queue:{Q}", "j1")
        stats = stats_of({**SOUND, "queued": 1})
    elif damage == "finished_twice":
        r.xadd("rq:results:j1", {"type": "1", "execution_id": "L1"})
    elif damage == "other_lease_finished":
        r.delete("rq:results:j1")
        r.xadd("rq:results:j1", {"type": "1", "execution_id": "L2"})
    elif damage == "stats_disagree":
        stats = stats_of({**SOUND, "finished": 2})
    elif damage == "status_not_final":
        r.hset("rq:job:j1", "status", "queued")
        r.zrem(f"rq:finished:{Q}", "j1")
        r.rpush(f"rq:queue:{Q}", "j1")
        stats = stats_of({**SOUND, "finished": 0, "queued": 1})
    found = violations(redis_server, events_for("j1", "L1"), stats)
    assert any(expected in v for v in found), found


def test_a_stale_ack_accepted_after_a_later_lease_is_reported(redis_server):
    finished_job(connect(redis_server), "j1", "L2")
    events = {"j1": [
        {"t": 0.1, "actor": "p0", "ev": "enqueued", "job": "j1", "state": "queued"},
        {"t": 0.2, "actor": "w0", "ev": "leased", "job": "j1", "lease": "L1", "attempt": 1, "retries_left": 1},
        {"t": 0.5, "actor": "w1", "ev": "leased", "job": "j1", "lease": "L2", "attempt": 2, "retries_left": 0},
        {"t": 0.7, "actor": "w0", "ev": "fail_ok", "job": "j1", "lease": "L1", "sent_at": 0.6, "state": "queued"},
        {"t": 0.8, "actor": "w1", "ev": "ack_ok", "job": "j1", "lease": "L2", "sent_at": 0.75, "state": "finished"},
    ]}
    found = violations(redis_server, events, stats_of(SOUND))
    assert any("fail with lease L1 (attempt 1) accepted although it was sent after attempt 2" in v for v in found), found
