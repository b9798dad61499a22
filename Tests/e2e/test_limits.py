"""Every limit `ping` reports is the one the gateway enforces: at the limit a request passes,
one over it is refused (or, for the limits that only pace a connection, nothing is refused).
A limit added to `ping` without a check here fails `test_every_reported_limit_is_checked`."""
import json
import socket

import pytest



def refused(client, request, code="BAD_REQUEST"):
    r = client.call(request)
    assert r["ok"] is False and r["error"]["code"] == code, (request, r)
    return r["error"]["message"]


def enqueue(**fields):
    return {"op": "enqueue", "queue": "lim", "func": "a.b", **fields}


def check_max_line(client, n):
    def line(size):
        head = b'{"op":"ping","ref":"'
        return head + b"x" * (size - len(head) - 2) + b'"}'
    client.send_raw(line(n) + b"\n" + line(n + 1) + b"\n")
    assert client.reply()["ok"] is True
    r = client.reply()
    assert r["ok"] is False and r["error"]["code"] == "TOO_LARGE", r


def check_max_json_depth(client, n):
    def nested(levels):  # the request object is the first level
        return b'{"op":"ping","ref":' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}\n"
    client.send_raw(nested(n))
    assert client.reply()["ok"] is True
    client.send_raw(nested(n + 1))
    r = client.reply()
    assert r["error"]["code"] == "BAD_REQUEST" and "nesting" in r["error"]["message"], r


def check_max_fields(client, n):
    fields = {f"f{i}": i for i in range(n)}  # plus op: one over
    assert "more than" in refused(client, {"op": "ping", **fields})


def check_max_name_length(client, n):
    client.ok(enqueue(queue="q" * n, id="i" * n))
    refused(client, enqueue(queue="q" * (n + 1)))
    refused(client, enqueue(id="i" * (n + 1)))
    refused(client, {"op": "lease", "queues": ["lim"], "worker": "w" * (n + 1)})


def check_max_batch(client, n):
    message = refused(client, {"op": "enqueue", "queue": "lim", "jobs": [{"func": "a.b"}] * (n + 1)})
    assert f"at most {n}" in message
    acks = [{"id": f"j{i}", "lease": "0" * 32} for i in range(n + 1)]
    assert f"at most {n}" in refused(client, {"op": "ack", "jobs": acks})


def check_max_wait(client, n):
    refused(client, {"op": "lease", "queues": ["lim"], "wait": n + 1})
    refused(client, {"op": "result", "id": "x", "wait": n + 1})


def check_max_lease_count(client, n):
    client.ok({"op": "lease", "queues": ["empty"], "count": n})
    refused(client, {"op": "lease", "queues": ["empty"], "count": n + 1})


def check_max_lease_queues(client, n):
    client.ok({"op": "lease", "queues": [f"q{i}" for i in range(n)]})
    refused(client, {"op": "lease", "queues": [f"q{i}" for i in range(n + 1)]})


def check_max_lease_for(client, n):
    client.ok({"op": "enqueue", "queue": "lf", "func": "a.b"})
    job = client.ok({"op": "lease", "queues": ["lf"], "lease_for": n})["job"]
    assert job["lease_seconds"] == n
    refused(client, {"op": "lease", "queues": ["lf"], "lease_for": n + 1})
    client.ok({"op": "heartbeat", "id": job["id"], "lease": job["lease"], "extend": n})
    refused(client, {"op": "heartbeat", "id": job["id"], "lease": job["lease"], "extend": n + 1})


def check_max_delay(client, n):
    assert client.ok(enqueue(delay=n))["state"] == "scheduled"
    refused(client, enqueue(delay=n + 1))
    refused(client, {"op": "release", "id": "x", "lease": "0" * 32, "delay": n + 1})


def check_max_at(client, n):
    assert client.ok(enqueue(at=n))["state"] == "scheduled"
    refused(client, enqueue(at=n + 1))


def check_max_retries(client, n):
    client.ok(enqueue(retries=n))
    refused(client, enqueue(retries=n + 1))


def check_max_retry_intervals(client, n):
    client.ok(enqueue(retries=1, retry_intervals=[1] * n))
    assert f"at most {n}" in refused(client, enqueue(retries=1, retry_intervals=[1] * (n + 1)))


def check_max_depends_on(client, n):
    client.ok(enqueue(id="parent"))
    assert client.ok(enqueue(depends_on=["parent"] * n))["state"] == "deferred"
    refused(client, enqueue(depends_on=["parent"] * (n + 1)))


def check_max_description(client, n):
    client.ok(enqueue(description="d" * n))
    refused(client, enqueue(description="d" * (n + 1)))


def check_max_rate_limit_key(client, n):
    client.ok(enqueue(rate_limit={"key": "k" * n, "concurrency": 1}))
    refused(client, enqueue(rate_limit={"key": "k" * (n + 1), "concurrency": 1}))


def check_max_integer(client, n):
    for field in ("timeout", "result_ttl", "failure_ttl", "ttl"):
        client.ok(enqueue(**{field: n}))
        refused(client, enqueue(**{field: n + 1}))
    client.ok(enqueue(retries=1, retry_intervals=n))
    refused(client, enqueue(retries=1, retry_intervals=n + 1))
    client.ok({"op": "failed", "queue": "lim", "offset": n})
    refused(client, {"op": "failed", "queue": "lim", "offset": n + 1})
    client.ok({"op": "jobs", "queue": "lim", "offset": n})
    refused(client, {"op": "jobs", "queue": "lim", "offset": n + 1})
    refused(client, {"op": "empty", "queue": "lim", "limit": n + 1})
    refused(client, {"op": "requeue", "queue": "lim", "limit": n + 1})


def check_max_failed_limit(client, n):
    client.ok({"op": "failed", "queue": "lim", "limit": n})
    refused(client, {"op": "failed", "queue": "lim", "limit": n + 1})


def check_max_jobs_limit(client, n):
    client.ok({"op": "jobs", "queue": "lim", "limit": n})
    refused(client, {"op": "jobs", "queue": "lim", "limit": n + 1})


def check_max_error_text(client, n):
    client.ok({"op": "enqueue", "queue": "et", "func": "a.b", "id": "long-error"})
    job = client.ok({"op": "lease", "queues": ["et"]})["job"]
    text = "head " + "x" * n + " tail"
    client.ok({"op": "fail", "id": job["id"], "lease": job["lease"], "error": text, "retry": False})
    kept = client.ok({"op": "job", "id": "long-error"})["job"]["error"]
    assert len(kept.encode()) == n and text.endswith(kept)


def check_max_pipeline(client, n):
    # More requests than that, sent at once, are all answered: reading just pauses meanwhile.
    client.send_raw(b'{"op":"ping"}\n' * (n + 100))
    assert all(client.reply()["ok"] for _ in range(n + 100))


def check_max_pending_output(client, n):
    ref = "r" * 65536
    count = n // len(ref) + 8
    client.send_raw((json.dumps({"op": "ping", "ref": ref}) + "\n").encode() * count)
    assert all(client.reply()["ref"] == ref for _ in range(count))


def check_max_bulky_in_flight(client, n):
    # Lookups past that many wait their turn, in order, behind the earlier ones: none is refused.
    client.ok(enqueue(id="bulky"))
    client.send_raw(b'{"op":"job","id":"bulky"}\n{"op":"ping"}\n' * (n + 20))
    replies = [client.reply() for _ in range(2 * (n + 20))]
    assert all(r["job"]["id"] == "bulky" for r in replies[0::2]) and all("limits" in r for r in replies[1::2])


def check_max_page_bytes(client, n):
    # A page ends once it holds about n bytes of jobs, counted as Redis stores them (results are
    # base64 there) and as the reply writes them (args inflated): next_offset says where the rest
    # starts, and following it reads every job once.
    def all_pages(queue, state):
        seen, offset = [], 0
        while offset is not None:
            page = client.ok({"op": "jobs", "queue": queue, "state": state, "offset": offset, "limit": 1000})
            assert page["jobs"] and (page["next_offset"] is None or page["next_offset"] == offset + len(page["jobs"]))
            seen += [job["id"] for job in page["jobs"]]
            offset = page["next_offset"]
        return seen
    size = 900_000
    count = n // size + 3
    args_ids = [client.ok(enqueue(queue="wide", args=["x" * size]))["id"] for _ in range(count)]
    first = client.ok({"op": "jobs", "queue": "wide", "limit": 1000})
    assert len(first["jobs"]) < count and first["next_offset"] == len(first["jobs"])
    assert all_pages("wide", "queued") == args_ids
    result_ids = []
    for _ in range(count):  # finished jobs whose results are stored larger than they are written
        job_id = client.ok(enqueue(queue="results"))["id"]
        lease = client.ok({"op": "lease", "queues": ["results"]})["job"]["lease"]
        client.ok({"op": "ack", "id": job_id, "lease": lease, "result": "r" * (size * 3 // 4)})
        result_ids.append(job_id)
    assert len(client.ok({"op": "jobs", "queue": "results", "state": "finished", "limit": 1000})["jobs"]) < count
    finished = all_pages("results", "finished")  # ties of the same expiry second go in id order
    assert len(finished) == count and set(finished) == set(result_ids)


CHECKS = {name[len("check_"):]: f for name, f in globals().items() if name.startswith("check_max_")}
# Checked against their own gateway below (a token, and few connections).
SEPARATE = {"max_connections", "max_auth_failures"}


@pytest.fixture
def limited(stack_with):
    """A gateway whose connection and auth limits are small enough to exhaust."""
    return stack_with("--max-connections", "3", "--token", "s3cret")


def test_every_reported_limit_is_checked(client):
    limits = client.ok({"op": "ping"})["limits"]
    assert set(limits) == set(CHECKS) | SEPARATE


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_limit_is_enforced(stack, name):
    with stack.client() as client:
        limit = client.ok({"op": "ping"})["limits"][name]
        CHECKS[name](client, limit)


def test_max_connections_is_enforced(limited):
    with limited.client(unix=True) as c:
        limit = c.ok({"op": "ping"})["limits"]["max_connections"]
    assert limit == 3
    clients = [limited.client(unix=True) for _ in range(limit)]
    try:
        for c in clients:
            c.ok({"op": "ping"})
        with limited.client(unix=True) as extra:
            assert extra.reply()["error"]["code"] == "OVERLOADED"
    finally:
        for c in clients:
            c.close()


def test_max_auth_failures_is_enforced(limited):
    with limited.client(unix=True) as c:
        limit = c.ok({"op": "ping"})["limits"]["max_auth_failures"]
    with limited.client() as c:
        for _ in range(limit):
            assert c.call({"op": "auth", "token": "guess"})["error"]["code"] == "UNAUTHORIZED"
        c.send({"op": "auth", "token": "s3cret"})
        with pytest.raises((ConnectionError, socket.timeout, OSError)):
            c.reply()
