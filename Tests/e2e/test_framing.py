"""The line protocol under pipelining, odd framing and hostile lines."""
import json
import signal
import time

import pytest

from jobgate_harness import wait_until


def test_pipelined_replies_come_in_request_order(client):
    n = 2000
    lines = []
    for i in range(n):
        op = [{"op": "ping"}, {"op": "enqueue", "queue": "p", "func": "f"}, {"op": "nope"},
              {"op": "lease", "queues": ["p"]}][i % 4]
        lines.append(json.dumps({**op, "ref": i}))
    client.send_raw(("\n".join(lines) + "\n").encode())
    refs = [client.reply()["ref"] for _ in range(n)]
    assert refs == list(range(n))


def test_byte_by_byte_crlf_and_blank_lines(client):
    for b in b'\n\n  \n{"op":"ping","ref":1}\r\n':
        client.send_raw(bytes([b]))
    first = client.reply()
    assert first["ok"] is True and first["ref"] == 1, "blank lines get no reply; the \r is ignored"
    client.send_raw(b'{"op":"ping","ref":2}\r\n')
    assert client.reply()["ref"] == 2


def test_too_large_line_is_skipped_and_next_line_works(client):
    big = b'{"op":"ping","pad":"' + b"x" * (1 << 20) + b'"}\n'
    client.send_raw(big[:300000])
    client.send_raw(big[300000:] + b'{"op":"ping","ref":"after"}\n')
    r = client.reply()
    assert r["error"]["code"] == "TOO_LARGE"
    assert client.reply()["ref"] == "after"


def test_line_exactly_at_limit_is_read(stack):
    with stack.client() as c:
        prefix = b'{"op":"ping","ref":"'
        suffix = b'"}'
        line = prefix + b"y" * ((1 << 20) - len(prefix) - len(suffix)) + suffix
        assert len(line) == 1 << 20
        c.send_raw(line + b"\n")
        assert c.reply()["ok"] is True


def test_invalid_utf8_nul_and_deep_nesting_are_bad_requests(client):
    for raw in (b'{"op":"ping","ref":"\xff"}', b'{"op":"ping","ref":"a\x00b"}',
                b'{"op":"ping","ref":' + b"[" * 65 + b"]" * 65 + b"}", b"\x00\x01\x02", b"[1,2]", b'"str"'):
        client.send_raw(raw + b"\n")
        r = client.reply()
        assert r["error"]["code"] == "BAD_REQUEST", (raw[:40], r)
    client.send_raw(b'{"op":"ping","ref":' + b"[" * 63 + b"]" * 63 + b"}\n")
    assert client.reply()["ok"] is True


def test_ref_is_echoed_on_errors_and_any_json(client):
    for ref in (1, "s", None, [1, {"a": 2}], {"k": True}):
        r = client.call({"op": "nope", "ref": ref})
        assert r["ref"] == ref and r["error"]["code"] == "UNKNOWN_OP"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(l for l in f if l.startswith("VmRSS:")).split()[1])


def test_client_that_never_reads_is_bounded(stack):
    # 10,000 pipelined requests (3 MB of enqueues) from a client that does not read: the gateway
    # holds at most 1024 unanswered requests and 4 MiB of replies for it before it stops reading
    # (the kernel's socket buffers hold the rest), so its memory stays bounded; it stays
    # responsive to others, and answers everything once the client reads.
    c = stack.client()
    line = json.dumps({"op": "enqueue", "queue": "flood", "func": "f", "args": ["x" * 250]}) + "\n"
    payload = line.encode() * 10000
    before = rss_kib(stack.gateway.proc.pid)
    c.sock.setblocking(False)
    sent = 0
    try:
        while sent < len(payload):
            sent += c.sock.send(payload[sent:sent + 65536])
    except BlockingIOError:
        pass
    c.sock.setblocking(True)
    with stack.client() as other:
        wait_until(lambda: other.ok({"op": "ping"})["ok"] and rss_kib(stack.gateway.proc.pid) > 0, what="other client")
    grown = rss_kib(stack.gateway.proc.pid) - before
    assert grown < 16 * 1024, f"the gateway grew {grown} KiB for one client that does not read"
    c.sock.sendall(payload[sent:])
    count = 0
    while count < 10000:
        assert c.reply()["ok"] is True
        count += 1
    c.close()
    assert int(stack.redis.raw("LLEN", "rq:queue:flood")) == 10000


def _finished_with_big_result(stack, jid, queue="big"):
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": queue, "func": "f", "id": jid})
        lease = c.ok({"op": "lease", "queues": [queue]})["job"]["lease"]
        c.ok({"op": "ack", "id": jid, "lease": lease, "result": "r" * 700_000})


@pytest.mark.parametrize("op", ["job", "result"])
def test_pipelined_lookups_of_big_results_never_read_are_bounded(stack, op):
    # 300 lookups of a job with a 700 KB result, pipelined by a client that does not read: each
    # reply is about 1 MB. The gateway runs at most 8 such bulky requests at once and none while
    # 4 MiB of replies wait for the client, so it neither asks Redis for 300 MB nor holds it.
    jid = "big-result"
    _finished_with_big_result(stack, jid)
    reader = stack.client()
    reader.send_raw((json.dumps({"op": op, "id": jid}) + "\n").encode() * 300)
    pid = stack.gateway.proc.pid
    before = rss_kib(pid)
    with stack.client(unix=True) as other:
        def looked_up():
            return other.ok({"op": "stats"})["gateway"]["ops"].get(op, 0)
        wait_until(lambda: looked_up() >= 4, what="the first lookups to run")
        # For a second, while the client reads nothing, the lookups stay held back.
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            assert looked_up() <= 40, "lookups ran while their replies could not be written"
            assert rss_kib(pid) - before < 64 * 1024, "the gateway held replies the client does not read"
    for _ in range(300):
        job = reader.reply()["job"]
        assert job["id"] == jid and len(job["result"]) == 700_000
    reader.close()


def test_an_ack_behind_a_waiting_lease_and_big_lookups_runs_at_once(stack):
    # A worker's connection: a lease waiting on an empty queue, 6 lookups of 1 MB replies that
    # must wait for it (in order), then an ack. The ack must not wait for the lease too.
    _finished_with_big_result(stack, "big-result")
    with stack.client(unix=True) as c:
        c.ok({"op": "enqueue", "queue": "work", "func": "f", "id": "work-1"})
        held = c.ok({"op": "lease", "queues": ["work"], "lease_for": 30})["job"]
    worker = stack.client()
    worker.send_raw((json.dumps({"op": "lease", "queues": ["idle"], "wait": 20}) + "\n").encode()
                    + (json.dumps({"op": "job", "id": "big-result"}) + "\n").encode() * 6)
    with stack.client(unix=True) as other:
        wait_until(lambda: other.ok({"op": "stats"})["gateway"]["ops"].get("job", 0) == 6, what="the lookups to run")
        worker.send({"op": "ack", "id": "work-1", "lease": held["lease"]})
        wait_until(lambda: other.ok({"op": "job", "id": "work-1"})["job"]["state"] == "finished", timeout=3,
                   what="the ack to run while the lease still waits")
        other.ok({"op": "enqueue", "queue": "idle", "func": "f", "id": "wakes"})
    assert worker.reply()["job"]["id"] == "wakes"
    assert all(worker.reply()["job"]["id"] == "big-result" for _ in range(6))
    assert worker.reply() == {"ok": True, "state": "finished"}
    worker.close()


def test_lines_held_back_at_shutdown_are_answered_not_dropped(stack):
    # A lease waits; 9 big lookups follow (8 run, the 9th waits its turn) and 5 enqueues behind
    # them. A SIGTERM answers the lease, writes what ran, and answers the held lines UNAVAILABLE
    # without running them: one reply per line.
    _finished_with_big_result(stack, "big-result")
    c = stack.client()
    enqueues = [{"op": "enqueue", "queue": "late", "func": "f", "id": f"late-{i}", "ref": i} for i in range(5)]
    lines = [{"op": "lease", "queues": ["idle"], "wait": 20}] + [{"op": "job", "id": "big-result"}] * 9 + enqueues
    c.send_raw("".join(json.dumps(line) + "\n" for line in lines).encode())
    with stack.client(unix=True) as other:
        wait_until(lambda: other.ok({"op": "stats"})["gateway"]["ops"].get("job", 0) == 8, what="8 lookups to run")
    stack.gateway.proc.send_signal(signal.SIGTERM)
    replies = [c.reply() for _ in lines]
    assert replies[0] == {"ok": True, "job": None}
    assert all(r["job"]["id"] == "big-result" for r in replies[1:9])
    for r in replies[9:]:  # the 9th lookup and the enqueues
        assert r["ok"] is False and r["error"]["code"] == "UNAVAILABLE" and "not run" in r["error"]["message"], r
    assert [r["ref"] for r in replies[10:]] == list(range(5)), "each reply names its request"
    assert c.sock.recv(1) == b""  # then the gateway closes the connection
    assert stack.gateway.proc.wait(timeout=10) == 0
    assert stack.redis.raw("EXISTS", *[f"rq:job:late-{i}" for i in range(5)]).strip() == b"0"
