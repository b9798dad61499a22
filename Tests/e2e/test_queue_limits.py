"""An operator's limits on a queue (`limit`): concurrency and a sliding-window rate, enforced at
`lease` by every gateway, exact under load, with slots coming back from crashed holders."""
import threading
import time

from jobgate_harness import BlockingRequest, Stack, wait_until


def _limit(c, **fields):
    return c.ok({"op": "limit", "queue": "capped", **fields})


def test_limit_sets_reports_and_clears(stack):
    with stack.client(unix=True) as c:
        r = _limit(c, concurrency=3, rate={"max": 10, "per": 60})
        assert (r["concurrency"], r["rate"], r["started"], r["window"]) == (3, {"max": 10, "per": 60}, 0, 0)
        assert _limit(c)["concurrency"] == 3  # no fields: only reports
        r = _limit(c, concurrency=None)
        assert r["concurrency"] is None and r["rate"] == {"max": 10, "per": 60}
        assert _limit(c, rate=None)["rate"] is None
        for bad in ({"concurrency": 0}, {"rate": {"max": 5}}, {"rate": {"max": 1, "per": 1, "burst": 2}}, {"rate": 3}):
            assert c.call({"op": "limit", "queue": "capped", **bad})["error"]["code"] == "BAD_REQUEST"


def test_a_capped_queue_is_skipped_for_the_next_one(stack):
    with stack.client(unix=True) as c:
        _limit(c, concurrency=1)
        for q in ("capped", "capped", "other"):
            c.ok({"op": "enqueue", "queue": q, "func": "f"})
        first = c.ok({"op": "lease", "queues": ["capped", "other"]})["job"]
        second = c.ok({"op": "lease", "queues": ["capped", "other"]})["job"]
        assert (first["queue"], second["queue"]) == ("capped", "other")
        assert c.ok({"op": "lease", "queues": ["capped"]})["job"] is None
        assert _limit(c)["started"] == 1


def test_a_waiting_lease_is_woken_when_a_slot_frees(stack):
    with stack.client(unix=True) as c:
        _limit(c, concurrency=1)
        c.ok({"op": "enqueue", "queue": "capped", "func": "f"})
        c.ok({"op": "enqueue", "queue": "capped", "func": "f"})
        held = c.ok({"op": "lease", "queues": ["capped"]})["job"]
        [waiting] = [BlockingRequest(stack.gateway, {"op": "lease", "queues": ["capped"], "wait": 20})]
        waiting.start()
        wait_until(lambda: c.ok({"op": "stats"})["gateway"]["waiting_leases"] == 1, what="the lease to wait")
        acked_at = time.time()
        c.ok({"op": "ack", "id": held["id"], "lease": held["lease"]})
        reply = waiting.result()
        assert reply["job"] is not None and waiting.replied_at - acked_at < 0.8


def test_a_crashed_holders_slot_returns_when_its_lease_expires(stack):
    with stack.client(unix=True) as c:
        _limit(c, concurrency=1)
        c.ok({"op": "enqueue", "queue": "capped", "func": "f", "retries": 1})
        c.ok({"op": "enqueue", "queue": "capped", "func": "f"})
        c.ok({"op": "lease", "queues": ["capped"], "lease_for": 1})  # never heard from again
        assert c.ok({"op": "lease", "queues": ["capped"]})["job"] is None
        job = c.ok({"op": "lease", "queues": ["capped"], "wait": 10})["job"]
        assert job is not None


def test_rate_is_a_sliding_window(stack):
    with stack.client(unix=True) as c:
        _limit(c, rate={"max": 3, "per": 2})
        for _ in range(6):
            c.ok({"op": "enqueue", "queue": "capped", "func": "f"})
        starts = []
        while len(starts) < 6:
            job = c.ok({"op": "lease", "queues": ["capped"], "wait": 5})["job"]
            assert job is not None
            starts.append(time.time())
            c.ok({"op": "ack", "id": job["id"], "lease": job["lease"]})
        # At most 3 starts in any 2 s: the 4th waited for the 1st to leave the window.
        for i in range(3, 6):
            assert starts[i] - starts[i - 3] >= 1.9, starts


def test_concurrency_is_exact_across_three_gateways_and_twenty_workers():
    stack = Stack()
    try:
        gateways = [stack.gateway, stack.add_gateway(), stack.add_gateway()]
        jobs = 80
        with stack.client(unix=True) as c:
            _limit(c, concurrency=3)
            c.ok({"op": "enqueue", "queue": "capped", "jobs": [{"func": "f"} for _ in range(jobs)]})
        done, most, stop = [], [0], threading.Event()

        def sample():
            while not stop.is_set():
                most[0] = max(most[0], int(stack.redis.cli("ZCARD", "rq:wip:capped").split()[-1]))

        def worker(g):
            with g.client(unix=True) as c:
                while len(done) < jobs:
                    job = c.ok({"op": "lease", "queues": ["capped"], "wait": 1})["job"]
                    if job:
                        time.sleep(0.02)
                        c.ok({"op": "ack", "id": job["id"], "lease": job["lease"]})
                        done.append(job["id"])

        sampler = threading.Thread(target=sample)
        sampler.start()
        threads = [threading.Thread(target=worker, args=(gateways[i % 3],)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        stop.set()
        sampler.join()
        assert len(set(done)) == jobs
        assert 1 <= most[0] <= 3, f"{most[0]} jobs of a queue capped at 3 were started at once"
    finally:
        stack.close()


def test_stats_and_metrics_show_a_queues_caps_and_slots_in_use(tmp_path):
    from jobgate_harness import free_tcp_port
    import urllib.request
    port = free_tcp_port()
    stack = Stack(gateway_args=["--metrics", f"tcp://127.0.0.1:{port}"])
    try:
        with stack.client(unix=True) as c:
            _limit(c, concurrency=2, rate={"max": 5, "per": 60})
            c.ok({"op": "enqueue", "queue": "capped", "func": "f"})
            c.ok({"op": "lease", "queues": ["capped"]})
            queue = c.ok({"op": "stats"})["queues"]["capped"]
            assert queue["limits"] == {"concurrency": 2, "rate": {"max": 5, "per": 60}, "window": 1}
            assert queue["started"] == 1
            c.ok({"op": "enqueue", "queue": "free", "func": "f"})
            assert "limits" not in c.ok({"op": "stats"})["queues"]["free"]
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        assert 'jobgate_queue_limit{queue="capped",kind="concurrency"} 2' in text
        assert 'jobgate_queue_limit{queue="capped",kind="rate"} 5' in text
    finally:
        stack.close()
