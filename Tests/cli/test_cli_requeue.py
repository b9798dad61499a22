"""`jobgate requeue`: one job, a whole queue in steps with progress, and `--limit`."""
import os
import pty
import re
import subprocess
import zlib

from cli_helpers import error_line, json_lines
from job_steps import enqueue, fail_next
from jobgate_harness import jobgate_binary

# Writes `count` failed jobs of queue ARGV[1] straight into Redis, as RQ would have left them:
# a job hash and a failed-registry entry each, scored so `bulk-1` is the oldest failure.
# `orphans` registry entries without a job hash (as after the hash expired) come first.
CREATE_FAILED_JOBS = """
local q, count, orphans = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local data = ARGV[4]:gsub('..', function(hex) return string.char(tonumber(hex, 16)) end)
redis.call('SADD', 'rq:queues', 'rq:queue:' .. q)
for i = 1, orphans do
  redis.call('ZADD', 'rq:failed:' .. q, i, 'orphan-' .. i)
end
for i = 1, count do
  local id = 'bulk-' .. i
  redis.call('HSET', 'rq:job:' .. id, 'origin', q, 'status', 'failed', 'data', data,
             'created_at', '2026-01-01T00:00:00.000000Z', 'ended_at', '2026-01-01T00:00:01.000000Z')
  redis.call('ZADD', 'rq:failed:' .. q, orphans + i, id)
end
return count
"""


def create_failed_jobs(stack, queue, count, orphans=0):
    data = zlib.compress(b'["app.bulk", null, [], {}]').hex()
    assert stack.redis.raw("EVAL", CREATE_FAILED_JOBS, 0, queue, count, orphans, data).strip() == str(count).encode()


def redis_int(stack, *command):
    return int(stack.redis.raw(*command).strip())


PROGRESS_LINE = re.compile(r"^requeue (\S+): (\d+)/(\d+) \((\d+)%\)$")


def test_requeue_one_job(client, jobgate):
    enqueue(client, id="bad")
    fail_next(client)
    p = jobgate("requeue", "bad")
    assert p.returncode == 0 and p.stdout == "requeued bad\n"
    assert client.ok({"op": "job", "id": "bad"})["job"]["state"] == "queued"
    p = jobgate("requeue", "bad")
    assert p.returncode == 1
    assert error_line(p) == "jobgate: WRONG_STATE: job bad is not in the failed registry"


def test_requeue_all_of_5000_failed_jobs_with_progress_lines(stack, client, jobgate):
    create_failed_jobs(stack, "bulk", 5000)
    p = jobgate("requeue", "--queue", "bulk", "--all")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "requeued 5000 failed jobs in bulk, 0 still failed\n"
    assert redis_int(stack, "LLEN", "rq:queue:bulk") == 5000
    assert redis_int(stack, "ZCARD", "rq:failed:bulk") == 0
    assert stack.redis.raw("LINDEX", "rq:queue:bulk", 0).strip() == b"bulk-1", "oldest failure first"
    assert client.ok({"op": "job", "id": "bulk-4321"})["job"]["state"] == "queued"

    # stderr is a pipe here, so progress comes as plain lines: the first step, then the end.
    progress = [PROGRESS_LINE.match(line) for line in p.stderr.splitlines()]
    assert progress and all(progress), p.stderr
    done = [int(m.group(2)) for m in progress]
    assert done[0] == 1000 and done[-1] == 5000 and done == sorted(done)
    assert all(m.group(3) == "5000" for m in progress)
    assert progress[-1].group(4) == "100"


def test_requeue_limit_then_all_with_json(stack, jobgate):
    create_failed_jobs(stack, "bulk", 2500)
    p = jobgate("requeue", "-q", "bulk", "--limit", "1500")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "requeued 1500 failed jobs in bulk, 1000 still failed\n"
    assert redis_int(stack, "LLEN", "rq:queue:bulk") == 1500

    p = jobgate("requeue", "-q", "bulk", "--all", "--json")
    assert p.returncode == 0, p.stderr
    replies = json_lines(p.stdout)
    assert replies == [{"ok": True, "requeued": 1000, "still_failed": 0}]
    assert p.stderr == "", "a requeue done in one step shows no progress"
    assert redis_int(stack, "LLEN", "rq:queue:bulk") == 2500


def test_requeue_all_goes_past_registry_entries_whose_job_expired(stack, jobgate):
    # The first 1500 entries have no job hash: the first step moves nothing but shrinks the
    # registry, and stopping there would leave the 700 real jobs failed.
    create_failed_jobs(stack, "bulk", 700, orphans=1500)
    p = jobgate("requeue", "-q", "bulk", "--all", "--json")
    assert p.returncode == 0, p.stderr
    replies = json_lines(p.stdout)
    assert replies[0]["requeued"] == 0 and replies[0]["still_failed"] > 0
    assert sum(r["requeued"] for r in replies) == 700
    assert redis_int(stack, "ZCARD", "rq:failed:bulk") == 0
    assert redis_int(stack, "LLEN", "rq:queue:bulk") == 700


def test_requeue_progress_is_a_bar_on_a_terminal(stack):
    create_failed_jobs(stack, "bulk", 3000)
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [jobgate_binary(), "requeue", "--addr", f"unix:{stack.gateway.unix}", "-q", "bulk", "--all"],
            stdout=subprocess.PIPE, stderr=terminal, text=True)
        os.close(terminal)
        stdout, _ = process.communicate(timeout=60)
        drawn = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(controller)
    assert process.returncode == 0
    assert stdout == "requeued 3000 failed jobs in bulk, 0 still failed\n"
    text = drawn.decode()
    assert "\r\x1b[K" in text, "the bar is redrawn in place"
    assert "requeue bulk [" + "#" * 30 + "] 3000/3000 100%" in text
    assert text.endswith("\n"), "the bar's line is ended"


def test_requeue_usage_errors_exit_2(jobgate):
    for args, message in [
        ([], "give a job ID, or --queue Q with --all or --limit N"),
        (["-q", "bulk"], "with --queue, give --all or --limit N"),
        (["-q", "bulk", "--all", "--limit", "5"], "with --queue, give --all or --limit N"),
        (["some-id", "-q", "bulk", "--all"], "give a job ID or --queue, not both"),
        (["some-id", "--all"], "--all and --limit need --queue"),
        (["-q", "bulk", "--limit", "0"], "--limit must be at least 1"),
    ]:
        # Port 1 has no gateway: usage errors must be found before connecting.
        p = jobgate("requeue", *args, addr="tcp://127.0.0.1:1")
        assert p.returncode == 2, (args, p.stderr)
        assert error_line(p).startswith("jobgate: USAGE: " + message), (args, p.stderr)
