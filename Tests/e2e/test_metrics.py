"""The Prometheus endpoint, scraped over real HTTP."""
import json
import re
import urllib.error
import urllib.request

import pytest

from jobgate_harness import Gateway, RedisServer, Stack, free_tcp_port, tcp_port_open, wait_until


def scrape(url):
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        return r.read().decode()


@pytest.fixture
def scraped():
    port = free_tcp_port()
    s = Stack(gateway_args=["--metrics", f"tcp://127.0.0.1:{port}"])
    yield s, f"http://127.0.0.1:{port}"
    s.close()


def metric(text, name, labels=""):
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" (\S+)"
    m = re.search(r"^" + pattern + r"$", text, re.M)
    assert m, f"{name}{{{labels}}} missing"
    return float(m.group(1))


def test_metrics_reflect_work(scraped):
    stack, url = scraped
    with stack.client() as c:
        for _ in range(3):
            c.ok({"op": "enqueue", "queue": "m", "func": "f"})
        job = c.ok({"op": "lease", "queues": ["m"]})["job"]
        c.ok({"op": "fail", "id": job["id"], "lease": job["lease"], "retry": False})
        c.call({"op": "nope"})
        c.ok({"op": "lease", "queues": ["m"], "wait": 0})
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
        text = r.read().decode()
    assert metric(text, "jobgate_queue_jobs", 'queue="m",state="queued"') == 1
    assert metric(text, "jobgate_queue_jobs", 'queue="m",state="started"') == 1
    assert metric(text, "jobgate_queue_jobs", 'queue="m",state="failed"') == 1
    assert metric(text, "jobgate_requests_total", 'op="enqueue"') == 3
    assert metric(text, "jobgate_requests_total", 'op="unknown"') == 1
    assert metric(text, "jobgate_request_duration_seconds_count", 'op="enqueue"') == 3
    assert metric(text, "jobgate_request_duration_seconds_bucket", 'op="enqueue",le="+Inf"') == 3
    assert metric(text, "jobgate_errors_total") == 1
    assert metric(text, "jobgate_redis_up") == 1
    assert metric(text, "jobgate_connections") >= 0
    wait_until(lambda: metric(scrape(url), "jobgate_redis_roundtrip_seconds") > 0, what="a sweep's round trip")
    assert "# TYPE jobgate_request_duration_seconds histogram" in text


def test_metrics_other_paths_and_redis_down(scraped):
    stack, url = scraped
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url + "/", timeout=10)
    assert e.value.code == 404
    stack.redis.stop()
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    assert "jobgate_queue_jobs" not in text
    assert metric(text, "jobgate_redis_up") == 0


def test_metrics_are_served_while_the_gateway_waits_for_redis(tmp_path):
    """A gateway whose Redis is not up yet serves no requests, but its metrics say so."""
    redis = RedisServer(str(tmp_path), tcp=True)
    port = free_tcp_port()
    gateway = Gateway(str(tmp_path), redis_url=redis.url, extra_args=["--metrics", f"tcp://127.0.0.1:{port}"]).start(wait_ready=False)
    try:
        text = wait_until(lambda: _scrape_or_none(f"http://127.0.0.1:{port}"), what="metrics before Redis")
        assert metric(text, "jobgate_redis_up") == 0
        assert not tcp_port_open(gateway.port), "requests wait for Redis"
        redis.start()
        gateway.wait_ready()
        assert metric(scrape(f"http://127.0.0.1:{port}"), "jobgate_redis_up") == 1
    finally:
        gateway.stop()
        redis.stop()


def _scrape_or_none(url):
    try:
        return scrape(url)
    except OSError:
        return None


def test_ops_read_in_one_turn_share_one_script_call(scraped):
    """Requests read together go to Redis in shared script calls (4 ops each), so
    jobgate_redis_script_calls_total grows by far less than jobgate_redis_script_ops_total, and
    each op still gets its own answer: an error in one leaves its neighbours alone."""
    stack, url = scraped
    with stack.client() as setup:
        known = setup.ok({"op": "enqueue", "queue": "turn", "func": "f"})["id"]
    before = scrape(url)
    requests = []
    for i in range(60):
        if i % 3 == 0:
            requests.append({"op": "enqueue", "queue": "turn", "func": "f", "args": [i]})
        elif i % 3 == 1:
            requests.append({"op": "ack", "id": known, "lease": "0" * 32})
        else:
            requests.append({"op": "job", "id": f"missing-{i}"})
    with stack.client() as c:
        c.send_raw(b"".join(json.dumps(r).encode() + b"\n" for r in requests))
        replies = [c.reply() for _ in requests]
    for request, reply in zip(requests, replies):
        if request["op"] == "enqueue":
            assert reply["ok"] and reply["state"] == "queued", reply
        elif request["op"] == "ack":
            assert not reply["ok"] and reply["error"]["code"] == "LEASE_LOST", reply
        else:
            assert not reply["ok"] and reply["error"]["code"] == "NOT_FOUND", reply
    after = scrape(url)
    ops = metric(after, "jobgate_redis_script_ops_total") - metric(before, "jobgate_redis_script_ops_total")
    calls = metric(after, "jobgate_redis_script_calls_total") - metric(before, "jobgate_redis_script_calls_total")
    assert ops >= len(requests)
    assert calls <= ops / 3, (calls, ops)
    with stack.client() as c:
        assert c.ok({"op": "stats"})["queues"]["turn"]["queued"] == 21
